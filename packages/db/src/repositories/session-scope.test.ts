import type { Role } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_DATABASE_ROLE, createOrm, type Orm } from '../orm.ts';
import * as seed from '../testing/seed.ts';
import { statementsSentBy as sentBy } from '../testing/statements.ts';
import { createMigratedTestOrm, type MigratedTestOrm, testDatabaseKind } from '../testing/test-database.ts';
import { readInOrganisation, sql } from './common.ts';
import { getRunDetails, listRuns } from './run-list.repository.ts';
import {
  createSession,
  findAccountByCredentials,
  type LiveSession,
  revokeSession,
  SESSION_IDLE_TIMEOUT_MS,
  sessionScope,
} from './session.repository.ts';

/**
 * `sessionScope`: the API's hot reads check the session in their own message. What they may read must
 * be exactly what a session read first and then an organisation-scoped read would give.
 */
const onServer = (await testDatabaseKind()) === 'server';

let database: MigratedTestOrm;
let owner: Orm;
/** The API's login with one pooled connection, so each read reuses the same database session. */
let appOrm: Orm;

interface Organisation {
  id: string;
  runs: string[];
  token(role: Role): Promise<string>;
}

async function organisation(name: string, timeZone = 'UTC'): Promise<Organisation> {
  const seeded = await seed.seedOrganisation(owner, { name, timeZone });
  const configuration = await seed.seedConfiguration(owner, seeded.id, `${name} HR`);
  const runs: string[] = [];
  for (const day of [1, 2, 3]) {
    runs.push(
      await seed.seedRun(owner, {
        organisationId: seeded.id,
        configurationId: configuration,
        status: 'success',
        queuedAt: `2024-05-0${day}T10:00:00Z`,
      }),
    );
  }
  return {
    id: seeded.id,
    runs,
    async token(role) {
      const em = appOrm.em.fork();
      const account = await findAccountByCredentials(em, seeded.accounts[role], seed.SEED_PASSWORD);
      return (await createSession(em, account!)).token;
    },
  };
}

let acme: Organisation;
let other: Organisation;

beforeAll(async () => {
  database = await createMigratedTestOrm('session_scope');
  owner = database.orm;
  appOrm = await createOrm({
    databaseUrl: database.apiUrl,
    poolSize: 1,
    ...(onServer ? { role: API_DATABASE_ROLE } : {}),
  });
  acme = await organisation('Acme', 'Europe/Paris');
  other = await organisation('Other');
});

afterAll(async () => {
  await appOrm?.close(true);
  await database?.close();
});

const VIEW_ROLES: readonly Role[] = ['org-admin', 'people-admin'];

/** A scope that records what its check found and admits whatever it found. */
function recordingScope(token: string, roles = VIEW_ROLES, now?: Date) {
  const found: (LiveSession | null)[] = [];
  return { found, scope: sessionScope(token, roles, (session) => found.push(session), now) };
}

/** The statements the driver is handed while `fn` runs on the API's ORM. */
const statementsSentBy = (fn: () => Promise<unknown>) => sentBy(appOrm, fn);

describe('sessionScope', () => {
  it('reads the session’s organisation with the session check in the same single message', async () => {
    const token = await acme.token('people-admin');
    const { found, scope } = recordingScope(token);
    let rows: unknown[] = [];
    const sent = await statementsSentBy(async () => {
      [rows] = await readInOrganisation<[unknown[]]>(appOrm.em.fork(), scope, [
        { sql: 'select id from sync_run order by queued_at', params: [] },
      ]);
    });
    expect(sent).toHaveLength(1);
    // No WHERE: row-level security alone keeps Other's runs out.
    expect(rows).toEqual(acme.runs.map((id) => ({ id })));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      roles: ['people-admin'],
      organisation: { id: acme.id, name: 'Acme', timeZone: 'Europe/Paris' },
    });
  });

  it('lists and details runs exactly as a read scoped by the organisation’s ID does', async () => {
    const token = await acme.token('org-admin');
    const input = { filter: { range: 'custom' as const, from: '2024-05-02', to: '2024-05-03' }, limit: 1 };
    const byId = await listRuns(appOrm.em.fork(), acme.id, input);
    const bySession = await listRuns(appOrm.em.fork(), recordingScope(token).scope, input);
    expect(bySession).toEqual(byId);
    expect(bySession.runs.map((run) => run.id)).toEqual([acme.runs[2]]);
    const next = { ...input, cursor: byId.nextCursor };
    expect(await listRuns(appOrm.em.fork(), recordingScope(token).scope, next)).toEqual(
      await listRuns(appOrm.em.fork(), acme.id, next),
    );
    expect(await getRunDetails(appOrm.em.fork(), recordingScope(token).scope, acme.runs[0]!)).toEqual(
      await getRunDetails(appOrm.em.fork(), acme.id, acme.runs[0]!),
    );
  });

  it('names no organisation for a role that is not allowed: the read sees nothing, admit sees the session', async () => {
    const token = await acme.token('group-admin');
    const { found, scope } = recordingScope(token);
    const [rows] = await readInOrganisation<[unknown[]]>(appOrm.em.fork(), scope, [
      { sql: 'select id from sync_run', params: [] },
    ]);
    expect(rows).toEqual([]);
    expect(found[0]).toMatchObject({ roles: ['group-admin'], organisation: { id: acme.id } });
    // A run of its own organisation is not found either.
    const error = await getRunDetails(appOrm.em.fork(), recordingScope(token).scope, acme.runs[0]!).catch(
      (caught: unknown) => caught,
    );
    expect((error as { code?: string }).code).toBe('NOT_FOUND');
  });

  it('tells admit null, and reads nothing, for a revoked, unknown, empty or oversized token', async () => {
    const revoked = await acme.token('org-admin');
    await revokeSession(appOrm.em.fork(), revoked);
    for (const token of [revoked, `${await acme.token('org-admin')}x`, '', 'x'.repeat(201), "' or true --"]) {
      const { found, scope } = recordingScope(token);
      const [rows] = await readInOrganisation<[unknown[]]>(appOrm.em.fork(), scope, [
        { sql: 'select id from sync_run', params: [] },
      ]);
      expect(rows).toEqual([]);
      expect(found).toEqual([null]);
    }
  });

  it('returns nothing read when admit refuses, and the connection is left clean', async () => {
    const token = await acme.token('org-admin');
    const refusal = new Error('refused by the caller');
    const scope = sessionScope(token, VIEW_ROLES, () => {
      throw refusal;
    });
    await expect(
      readInOrganisation(appOrm.em.fork(), scope, [{ sql: 'select id from sync_run', params: [] }]),
    ).rejects.toBe(refusal);
    const [after] = await sql<{ organisation: string | null }>(
      appOrm.em.fork(),
      `select current_setting('app.organisation_id', true) as organisation`,
    );
    expect(after!.organisation ?? '').toBe('');
  });

  it('gives each session its own organisation on one connection, read after read', async () => {
    const mine = await acme.token('org-admin');
    const theirs = await other.token('org-admin');
    for (const [token, expected] of [
      [mine, acme],
      [theirs, other],
      [mine, acme],
    ] as const) {
      const [rows] = await readInOrganisation<[{ id: string }[]]>(
        appOrm.em.fork(),
        recordingScope(token).scope,
        [{ sql: 'select id from sync_run order by queued_at', params: [] }],
      );
      expect(rows.map((row) => row.id)).toEqual(expected.runs);
    }
    // Another organisation's run by its ID is NOT_FOUND.
    const error = await getRunDetails(appOrm.em.fork(), recordingScope(theirs).scope, acme.runs[0]!).catch(
      (caught: unknown) => caught,
    );
    expect((error as { code?: string }).code).toBe('NOT_FOUND');
  });

  it('extends the idle expiry as a session read does, and finds no session past it', async () => {
    const token = await acme.token('org-admin');
    const later = new Date(Date.now() + SESSION_IDLE_TIMEOUT_MS - 60_000);
    const first = recordingScope(token, VIEW_ROLES, later);
    await readInOrganisation(appOrm.em.fork(), first.scope, [{ sql: 'select 1', params: [] }]);
    expect(first.found[0]).not.toBeNull();
    // Without the extension the session would have ended an idle timeout after sign-in.
    const pastFirstExpiry = new Date(Date.now() + SESSION_IDLE_TIMEOUT_MS + 60_000);
    const second = recordingScope(token, VIEW_ROLES, pastFirstExpiry);
    await readInOrganisation(appOrm.em.fork(), second.scope, [{ sql: 'select 1', params: [] }]);
    expect(second.found[0]).not.toBeNull();
    const pastExtended = new Date(pastFirstExpiry.getTime() + SESSION_IDLE_TIMEOUT_MS + 60_000);
    const third = recordingScope(token, VIEW_ROLES, pastExtended);
    await readInOrganisation(appOrm.em.fork(), third.scope, [{ sql: 'select 1', params: [] }]);
    expect(third.found).toEqual([null]);
  });

  it('refuses to run inside a caller’s transaction', async () => {
    const token = await acme.token('org-admin');
    await expect(
      appOrm.em
        .fork()
        .transactional((tx) =>
          readInOrganisation(tx, recordingScope(token).scope, [{ sql: 'select 1', params: [] }]),
        ),
    ).rejects.toThrow(/cannot run inside a transaction/);
  });
});
