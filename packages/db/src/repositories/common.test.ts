import { DomainError } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_DATABASE_ROLE, createOrm, type Orm } from '../orm.ts';
import * as seed from '../testing/seed.ts';
import { statementsSentBy as sentBy } from '../testing/statements.ts';
import { createMigratedTestOrm, type MigratedTestOrm, testDatabaseKind } from '../testing/test-database.ts';
import { inOrganisation, isoTime, readInOrganisation, sql } from './common.ts';

const onServer = (await testDatabaseKind()) === 'server';

let database: MigratedTestOrm;
let orm: Orm;
/** The API's login with one pooled connection, so each test's next read reuses the same session. */
let appOrm: Orm;

beforeAll(async () => {
  database = await createMigratedTestOrm('common_repository');
  orm = database.orm;
  appOrm = await createOrm({
    databaseUrl: database.apiUrl,
    poolSize: 1,
    ...(onServer ? { role: API_DATABASE_ROLE } : {}),
  });
});

afterAll(async () => {
  await appOrm?.close(true);
  await database?.close();
});

/** Two organisations with one configuration each; returns their IDs. */
async function twoOrganisations(): Promise<{ a: string; b: string; configurationOfA: string }> {
  const a = (await seed.seedOrganisation(orm, { name: 'A', roles: [] })).id;
  const b = (await seed.seedOrganisation(orm, { name: 'B', roles: [] })).id;
  const configurationOfA = await seed.seedConfiguration(orm, a, 'HR file of A');
  await seed.seedConfiguration(orm, b, 'HR file of B');
  return { a, b, configurationOfA };
}

/** The statements the driver is handed while `fn` runs on the API's ORM. */
const statementsSentBy = (fn: () => Promise<unknown>) => sentBy(appOrm, fn);

describe('readInOrganisation', () => {
  it('reads as the API role in the organisation in one message, where a transaction takes four', async () => {
    const { a, configurationOfA } = await twoOrganisations();
    const statement = { sql: 'select id from sync_configuration', params: [] };
    let rows: unknown[] = [];
    const oneMessage = await statementsSentBy(async () => {
      [rows] = await readInOrganisation<[unknown[]]>(appOrm.em.fork(), a, [statement]);
    });
    // No WHERE: row-level security alone keeps B's configuration out.
    expect(rows).toEqual([{ id: configurationOfA }]);
    expect(oneMessage).toHaveLength(1);
    const transaction = await statementsSentBy(() =>
      inOrganisation(appOrm.em.fork(), a, (tx) => sql(tx, statement.sql)),
    );
    expect(transaction.length).toBeGreaterThanOrEqual(4);
  });

  it('returns each statement’s rows in order', async () => {
    const { a } = await twoOrganisations();
    const results = await readInOrganisation<[unknown[], unknown[]]>(appOrm.em.fork(), a, [
      { sql: `select current_setting('app.organisation_id') as organisation`, params: [] },
      { sql: 'select current_user as role, ?::int + 1 as next', params: [41] },
    ]);
    expect(results).toEqual([[{ organisation: a }], [{ role: API_DATABASE_ROLE, next: 42 }]]);
  });

  it('leaves nothing set on the connection for its next user', async () => {
    const { a } = await twoOrganisations();
    await readInOrganisation(appOrm.em.fork(), a, [{ sql: 'select 1', params: [] }]);
    // The pool has one connection: this is the session the read ran on.
    const [after] = await sql<{ organisation: string | null; zone: string | null }>(
      appOrm.em.fork(),
      `select current_setting('app.organisation_id', true) as organisation,
              current_setting('app.time_zone', true) as zone`,
    );
    expect(after!.organisation ?? '').toBe('');
    // On a server the connection is the API's role again, which sees nothing unscoped (the embedded
    // database's one session is the owner's).
    if (onServer) expect(await sql(appOrm.em.fork(), 'select id from sync_configuration')).toEqual([]);
  });

  it('rolls the whole message back when a statement fails, and the connection stays usable', async () => {
    const { a, configurationOfA } = await twoOrganisations();
    await expect(
      readInOrganisation(appOrm.em.fork(), a, [
        { sql: 'select 1', params: [] },
        { sql: 'select 1 / 0', params: [] },
      ]),
    ).rejects.toThrow(/division by zero/);
    const [rows] = await readInOrganisation<[unknown[]]>(appOrm.em.fork(), a, [
      { sql: 'select id from sync_configuration', params: [] },
    ]);
    expect(rows).toEqual([{ id: configurationOfA }]);
  });

  it('writes hostile values as literals that come back unchanged', async () => {
    const { a } = await twoOrganisations();
    const values = [
      `'; drop table sync_run; --`,
      `\\'; select 1; --`,
      '$$ $tag$ ?? ? \\\\',
      'émigré 名前 😀',
      'x'.repeat(100_000),
    ];
    const [rows] = await readInOrganisation<[{ value: string }[]]>(appOrm.em.fork(), a, [
      {
        sql: values.map(() => 'select ?::text as value').join(' union all '),
        params: values,
      },
    ]);
    expect(rows.map((row) => row.value)).toEqual(values);
    const [[typed]] = await readInOrganisation<[Record<string, unknown>[]]>(appOrm.em.fork(), a, [
      {
        sql: 'select ?::bigint as big, ?::boolean as flag, ?::text as nothing, ?::timestamptz = ?::timestamptz as same',
        params: [
          -9_007_199_254_740_991,
          true,
          null,
          new Date('2026-03-29T01:30:00Z'),
          '2026-03-29T03:30:00+02:00',
        ],
      },
    ]);
    expect(typed).toEqual({ big: '-9007199254740991', flag: true, nothing: null, same: true });
  });

  it('refuses a NUL, which a message cannot carry, as bad input without sending anything', async () => {
    const { a } = await twoOrganisations();
    const sent = await statementsSentBy(async () => {
      const error = await readInOrganisation(appOrm.em.fork(), a, [
        { sql: 'select ?::text', params: ['a\0b'] },
      ]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('BAD_INPUT');
    });
    expect(sent).toEqual([]);
  });

  it('refuses placeholders and values that do not pair up, and values with no literal form', async () => {
    const { a } = await twoOrganisations();
    const em = appOrm.em.fork();
    await expect(readInOrganisation(em, a, [{ sql: 'select ?, ?', params: [1] }])).rejects.toThrow(
      /More placeholders than values/,
    );
    await expect(readInOrganisation(em, a, [{ sql: 'select ?', params: [1, 2] }])).rejects.toThrow(
      /More values than placeholders/,
    );
    await expect(readInOrganisation(em, a, [{ sql: 'select ?', params: [Number.NaN] }])).rejects.toThrow(
      /No literal form/,
    );
    await expect(readInOrganisation(em, a, [{ sql: 'select ?', params: [['x']] }])).rejects.toThrow(
      /No literal form/,
    );
  });

  it('answers NOT_FOUND for an organisation ID that is not a UUID', async () => {
    const error = await readInOrganisation(appOrm.em.fork(), `x' or true --`, [
      { sql: 'select 1', params: [] },
    ]).catch((caught: unknown) => caught);
    expect((error as DomainError).code).toBe('NOT_FOUND');
  });

  it('runs inside a caller’s transaction, seeing its uncommitted rows', async () => {
    const { a } = await twoOrganisations();
    const configuration = await seed.seedConfiguration(orm, a, 'Committed');
    const rolledBack = new Error('roll back');
    const seen = await orm.em
      .fork()
      .transactional(async (tx) => {
        await sql(tx, `update sync_configuration set name = 'Renamed, not committed' where id = ?`, [
          configuration,
        ]);
        const [rows] = await readInOrganisation<[{ name: string }[]]>(tx, a, [
          { sql: 'select name from sync_configuration where id = ?', params: [configuration] },
        ]);
        expect(rows).toEqual([{ name: 'Renamed, not committed' }]);
        throw rolledBack;
      })
      .catch((error: unknown) => error);
    expect(seen).toBe(rolledBack);
    expect(
      await sql(orm.em.fork(), 'select name from sync_configuration where id = ?', [configuration]),
    ).toEqual([{ name: 'Committed' }]);
  });
});

describe('isoTime', () => {
  it('writes PostgreSQL’s UTC text exactly as Date.toISOString would, milliseconds truncated', () => {
    for (const text of [
      '2024-05-01 10:00:00+00',
      '2024-05-01 10:00:00.1+00',
      '2024-05-01 10:00:00.12+00',
      '2024-05-01 10:00:00.123+00',
      '2024-05-01 10:00:00.1239+00',
      '2024-12-31 23:59:59.999999+00',
      '2000-02-29 00:00:00.000001+00',
      '1970-01-01 00:00:00+00',
    ]) {
      expect(isoTime(text), text).toBe(new Date(text).toISOString());
    }
  });

  it('takes every other form through Date: offsets, JSON’s ISO text, Date values', () => {
    expect(isoTime('2024-05-01 12:00:00.5+02')).toBe('2024-05-01T10:00:00.500Z');
    expect(isoTime('2024-05-01 15:30:00+05:30')).toBe('2024-05-01T10:00:00.000Z');
    expect(isoTime('2024-05-01T10:00:00.123456+00:00')).toBe('2024-05-01T10:00:00.123Z');
    expect(isoTime(new Date('2024-05-01T10:00:00.123Z'))).toBe('2024-05-01T10:00:00.123Z');
    expect(() => isoTime('not a time')).toThrow(RangeError);
  });

  it('agrees with Date for what PostgreSQL itself writes, microseconds included', async () => {
    const [row] = await sql<{ times: string[] }>(
      orm.em.fork(),
      `select array_agg(t::timestamptz::text) as times from (values
        ('2024-03-31 01:59:59.999999+00'), ('2024-10-27 00:30:00.5+00'), ('1999-12-31 23:59:59.0005+00')) v(t)`,
    );
    const times = await sql<{ t: string }>(
      orm.em.fork(),
      `select (now() at time zone 'UTC')::text || '+00' as t`,
    );
    for (const text of [...row!.times, times[0]!.t]) {
      expect(isoTime(text), text).toBe(new Date(text).toISOString());
    }
  });
});
