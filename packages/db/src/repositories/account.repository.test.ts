import { DomainError } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Account } from '../entities/index.ts';
import { createOrm, type Orm } from '../orm.ts';
import { verifyPassword } from '../password.ts';
import { createMigratedTestOrm, type MigratedTestOrm, testDatabaseKind } from '../testing/test-database.ts';
import { createAccount } from './account.repository.ts';
import { createOrganisation } from './organisation.repository.ts';

const onServer = (await testDatabaseKind()) === 'server';
let database: MigratedTestOrm;
let orm: Orm;
let organisationId: string;

beforeAll(async () => {
  database = await createMigratedTestOrm('account_repository');
  orm = database.orm;
  organisationId = (
    await createOrganisation(orm.em.fork(), {
      name: 'Acme',
      timeZone: 'UTC',
      provisioningEnabled: true,
      syncService: 'user-sync',
    })
  ).id;
});

afterAll(async () => {
  await database.close();
});

const input = (email: string) => ({
  organisationId,
  email,
  name: 'Ada Admin',
  password: 'correct horse battery',
  roles: ['org-admin' as const],
});

describe('createAccount', () => {
  it('stores a salted scrypt hash that verifies the password', async () => {
    const account = await createAccount(orm.em.fork(), input('ada@acme.example'));
    const stored = await orm.em.fork().findOneOrFail(Account, { id: account.id });
    expect(stored.passwordHash).toMatch(/^scrypt\$/);
    expect(stored.passwordHash).not.toContain('correct horse battery');
    expect(await verifyPassword('correct horse battery', stored.passwordHash)).toBe(true);
  });

  it('answers CONFLICT, not a raw database error, when two creations of one email race', async () => {
    const results = await Promise.allSettled([
      createAccount(orm.em.fork(), input('race@acme.example')),
      createAccount(orm.em.fork(), input('RACE@acme.example')),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const [failure] = results.filter((result) => result.status === 'rejected');
    expect(failure?.reason).toBeInstanceOf(DomainError);
    expect(failure).toMatchObject({ reason: { code: 'CONFLICT' } });
    expect(await orm.em.fork().count(Account, { email: { $ilike: 'race@acme.example' } })).toBe(1);
  });
});

describe('createOrm', () => {
  // The embedded database serves one database under any name, so only a server can refuse one.
  it.runIf(onServer)('refuses a database that does not exist instead of creating it', async () => {
    const url = new URL(database.url);
    url.pathname = '/no_such_database_for_provisioning';
    await expect(
      createOrm({ databaseUrl: url.toString() }).then((o) => o.em.getConnection().execute('select 1')),
    ).rejects.toThrow(/does not exist/);
  });
});
