import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { DriverException } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Organisation } from './entities/index.ts';
import { migrate } from './migrate.ts';
import { createOrm, databaseErrorMessage, type Orm } from './orm.ts';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from './testing/test-database.ts';

const onServer = (await testDatabaseKind()) === 'server';

describe('databaseErrorMessage', () => {
  let database: TestDatabase;
  let orm: Orm;

  beforeAll(async () => {
    database = await createTestDatabase('orm_errors');
    orm = await createOrm({ databaseUrl: database.url, poolSize: 1 });
    await migrate(orm);
  });

  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
  });

  it("gives a failed statement's code and message without the SQL or the values sent with it", async () => {
    const failure = await orm.em
      .getConnection()
      .execute("select token from no_such_table where token = 'canary-secret-42'")
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(Error);
    // What MikroORM itself says holds the statement and its values...
    expect((failure as Error).message).toContain('canary-secret-42');
    // ...which a person reading a message or a health check must not see.
    expect(databaseErrorMessage(failure)).toBe(
      'database error 42P01: relation "no_such_table" does not exist',
    );
  });

  it("gives the code and message of MikroORM's own exceptions, without the values", async () => {
    const failure = await orm.em
      .fork()
      .insert(Organisation, {
        id: randomUUID(),
        name: 'canary-secret-43',
        logRetentionDays: 1,
        createdAt: new Date(),
        updatedAt: new Date(),
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(DriverException);
    // The statement's values before the server's message, and the failing row after it as detail.
    expect((failure as Error).message).toMatch(
      /canary-secret-43[\s\S]* - new row[\s\S]*\n - detail: .*canary-secret-43/,
    );
    expect(databaseErrorMessage(failure)).toBe(
      'database error 23514: new row for relation "organisation" violates check constraint "organisation_log_retention_days_check"',
    );
  });

  it("keeps any other error's message as it is", () => {
    expect(databaseErrorMessage(new Error('no answer within 5000 ms'))).toBe('no answer within 5000 ms');
    expect(databaseErrorMessage('refused')).toBe('refused');
  });
});

describe('an ORM given a logger', () => {
  let database: TestDatabase;
  const orms: Orm[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('orm_logger');
  });

  afterAll(async () => {
    await Promise.all(orms.map((orm) => orm.close(true)));
    await database?.drop();
  });

  // Dropping a pooled connection from another session needs a server.
  it.runIf(onServer)(
    "logs the driver's warning about a connection the server dropped there, not on stdout, and carries on",
    async () => {
      const warnings: string[] = [];
      const logger = { warn: (message: string) => warnings.push(message), error: () => undefined };
      const orm = await createOrm({ databaseUrl: database.url, poolSize: 1, logger });
      const other = await createOrm({ databaseUrl: database.url, poolSize: 1 });
      orms.push(orm, other);
      await orm.em.getConnection().execute('select 1');
      // The pooled connection, idle now: the server ends it and the pg client reports that as an error.
      const pool = orm.em.getConnection().getKnex().client.pool as {
        free: { resource: NodeJS.EventEmitter }[];
      };
      const pooled = pool.free[0]?.resource;
      expect(pooled).toBeDefined();
      const dropped = once(pooled as NodeJS.EventEmitter, 'error');
      await other.em
        .getConnection()
        .execute(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        );
      await dropped;

      const stdout = vi.spyOn(console, 'log');
      try {
        expect(await orm.em.getConnection().execute('select 1 as one')).toEqual([{ one: 1 }]);
        expect(stdout).not.toHaveBeenCalled();
      } finally {
        stdout.mockRestore();
      }
      expect(warnings).toEqual([
        expect.stringMatching(
          /^database driver: Connection Error: .*terminating connection due to administrator command/,
        ),
      ]);
    },
  );
});
