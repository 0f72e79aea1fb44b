import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_LOGIN_ROLE,
  apiLoginProblem,
  apiLoginUrl,
  ensureApiLoginRole,
  pendingMigrations,
} from './api-login.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { createOrm, type Orm } from './orm.ts';
import {
  createSession,
  findAccountByCredentials,
  findSession,
  revokeSession,
} from './repositories/session.repository.ts';
import { SEED_PASSWORD, seedOrganisation } from './testing/seed.ts';
import {
  createMigratedTestOrm,
  createTestDatabase,
  type MigratedTestOrm,
  testDatabaseKind,
} from './testing/test-database.ts';

const onServer = (await testDatabaseKind()) === 'server';
let database: MigratedTestOrm;
let owner: Orm;
let acme: { id: string; email: string };
let other: { id: string; email: string };

beforeAll(async () => {
  database = await createMigratedTestOrm('api_login');
  owner = database.orm;
  const seededAcme = await seedOrganisation(owner, { name: 'Acme', roles: ['org-admin'] });
  const seededOther = await seedOrganisation(owner, { name: 'Other', roles: ['org-admin'] });
  acme = { id: seededAcme.id, email: seededAcme.accounts['org-admin'] };
  other = { id: seededOther.id, email: seededOther.accounts['org-admin'] };
});

afterAll(async () => {
  await database?.close();
});

/** A plain connection as the API's login role, running what a slipped-in statement could run. */
async function asApiLogin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database.apiUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function refusal(client: pg.Client, text: string, params: unknown[] = []): Promise<string> {
  try {
    await client.query(text, params);
  } catch (error) {
    return (error as { code: string }).code;
  }
  throw new Error(`expected "${text}" to be refused`);
}

describe.runIf(onServer)("the API's login role", () => {
  it('reads no account or session table, not even after reset role', async () => {
    await asApiLogin(async (client) => {
      await client.query('reset role');
      expect(await refusal(client, 'select "password_hash" from "account"')).toBe('42501');
      expect(await refusal(client, 'select * from "session"')).toBe('42501');
      expect(await refusal(client, 'delete from "session"')).toBe('42501');
      expect(await refusal(client, 'set role postgres')).toBe('42501');
    });
  });

  it("sees only the organisation its transaction names, and no other organisation's runs", async () => {
    await asApiLogin(async (client) => {
      await client.query('begin');
      await client.query(`select set_config('app.organisation_id', $1, true)`, [acme.id]);
      const { rows } = await client.query<{ id: string }>('select "id" from "organisation"');
      expect(rows).toEqual([{ id: acme.id }]);
      await client.query('commit');
      const { rows: unnamed } = await client.query('select "id" from "organisation"');
      expect(unnamed).toEqual([]);
    });
  });

  it('gets the one account an email names, with nothing but its ID and hash, through the sign-in function', async () => {
    await asApiLogin(async (client) => {
      const { rows } = await client.query('select * from api_account_for_sign_in($1)', [
        acme.email.toUpperCase(),
      ]);
      expect(rows).toHaveLength(1);
      expect(Object.keys(rows[0]).sort()).toEqual(['id', 'password_hash']);
      const { rows: none } = await client.query('select * from api_account_for_sign_in($1)', ['%']);
      expect(none).toEqual([]);
    });
  });

  it('signs in, reads and ends a session through the functions alone', async () => {
    const apiOrm = await createOrm({ databaseUrl: database.apiUrl, poolSize: 1 });
    try {
      const em = apiOrm.em.fork();
      expect(await findAccountByCredentials(em, acme.email, 'wrong password')).toBeNull();
      const account = await findAccountByCredentials(em, acme.email, SEED_PASSWORD);
      expect(account).not.toBeNull();
      const { token } = await createSession(em, account!);
      expect(await findSession(em, token)).toMatchObject({
        account: { id: account!.id, email: acme.email },
        roles: ['org-admin'],
        organisation: { id: acme.id, name: 'Acme', timeZone: 'UTC', provisioningEnabled: true },
      });
      expect(await findSession(em, `${token}x`)).toBeNull();
      await revokeSession(em, token);
      expect(await findSession(em, token)).toBeNull();
    } finally {
      await apiOrm.close(true);
    }
  });

  it('finds a session only by its exact token hash: no prefix, no pattern', async () => {
    const account = await findAccountByCredentials(owner.em.fork(), other.email, SEED_PASSWORD);
    const { token } = await createSession(owner.em.fork(), account!);
    const hash = createHash('sha256').update(token).digest('hex');
    await asApiLogin(async (client) => {
      const find = async (value: string) =>
        (
          await client.query('select "account_id" from api_session($1, now(), 1000, 1000, 1000, false)', [
            value,
          ])
        ).rows;
      expect(await find(hash)).toEqual([{ account_id: account!.id }]);
      for (const guess of [hash.slice(0, 10), `${hash.slice(0, 10)}%`, '%', ''])
        expect(await find(guess)).toEqual([]);
    });
  });

  it('is accepted to serve the API, and the owner is not', async () => {
    const apiOrm = await createOrm({ databaseUrl: database.apiUrl, poolSize: 1 });
    try {
      expect(await apiLoginProblem(apiOrm)).toBeNull();
    } finally {
      await apiOrm.close(true);
    }
    expect(await apiLoginProblem(owner)).toMatch(/^it logs in as "postgres", a superuser$/);
  });

  it('is refused when it may act as another role too, or lacks the API role', async () => {
    const name = `${API_LOGIN_ROLE}_reader`;
    await ensureApiLoginRole(owner, { name });
    await owner.em.getConnection().execute(`grant pg_read_all_data to "${name}"`);
    const broad = await createOrm({ databaseUrl: apiLoginUrl(database.url, undefined, name), poolSize: 1 });
    try {
      expect(await apiLoginProblem(broad)).toBe(
        `it logs in as "${name}", which may also act as "pg_read_all_data"`,
      );
      await owner.em.getConnection().execute(`revoke pg_read_all_data, provisioning_api from "${name}"`);
      expect(await apiLoginProblem(broad)).toBe(
        `it logs in as "${name}", which does not hold the role provisioning_api`,
      );
    } finally {
      await broad.close(true);
      await owner.em.getConnection().execute(`drop role if exists "${name}"`);
    }
  });

  it('refuses a password that would need quoting in SQL', async () => {
    await expect(
      ensureApiLoginRole(owner, { password: "x'; drop table account; --xxxxxxx" }),
    ).rejects.toThrow(/must be 16 to 200 letters, digits, _ or -/);
  });
});

describe('pendingMigrations', () => {
  it('is empty once migrated', async () => {
    expect(await pendingMigrations(owner)).toEqual([]);
  });

  it('lists every migration of a database never migrated', async () => {
    const { url, drop } = await createTestDatabase('api_login_empty');
    const empty = await createOrm({ databaseUrl: url, poolSize: 1 });
    try {
      expect(await pendingMigrations(empty)).toEqual(MIGRATIONS.map((migration) => migration.name));
    } finally {
      await empty.close(true);
      await drop();
    }
  });
});
