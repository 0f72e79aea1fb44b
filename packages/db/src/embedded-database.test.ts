import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@provisioning/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './embedded-database.ts';
import { migrate } from './migrate.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { createOrm, type Orm } from './orm.ts';

const dataDir = join(mkdtempSync(join(tmpdir(), 'embedded-database-')), 'data');
const running: { database?: EmbeddedDatabase; orm?: Orm } = {};

async function start(): Promise<{ database: EmbeddedDatabase; orm: Orm }> {
  running.database = await startEmbeddedDatabase({ dataDir, port: await freePort() });
  running.orm = await createOrm({ databaseUrl: running.database.url, poolSize: 2 });
  return { database: running.database, orm: running.orm };
}

async function stop(): Promise<void> {
  await running.orm?.close(true);
  await running.database?.stop();
  running.orm = undefined;
  running.database = undefined;
}

afterAll(async () => {
  await stop();
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

describe('the embedded database', () => {
  it('keeps migrated data across a stop and a restart on the same directory', {
    timeout: 120_000,
  }, async () => {
    const organisationId = randomUUID();

    const first = await start();
    expect(first.database.url).toMatch(/^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(await migrate(first.orm)).toEqual(MIGRATIONS.map((migration) => migration.name));
    await first.orm.em
      .getConnection()
      .execute(
        `insert into organisation (id, name, time_zone, created_at, updated_at) values (?, 'Acme', 'Europe/London', now(), now())`,
        [organisationId],
      );
    await stop();

    const second = await start();
    expect(await migrate(second.orm)).toEqual([]);
    const rows = await second.orm.em
      .getConnection()
      .execute<{ id: string; name: string; time_zone: string; sync_service: string }[]>(
        'select id, name, time_zone, sync_service from organisation',
      );
    expect(rows).toEqual([
      { id: organisationId, name: 'Acme', time_zone: 'Europe/London', sync_service: 'user-sync' },
    ]);
  });

  it('gives each of several connections its own results when their parameterised queries overlap', {
    timeout: 120_000,
  }, async () => {
    const { database } = await start();
    // Parameters make node-postgres use the extended protocol: Parse, Bind, Execute, Sync per query.
    const clients = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        return client;
      }),
    );
    try {
      const answers = await Promise.all(
        clients.map(async (client, c) => {
          const wrong: string[] = [];
          for (let i = 0; i < 150; i++) {
            // The client's number is in the statement's text: running another client's statement shows.
            // A large parameter makes the query arrive in several TCP chunks, as big statements do.
            const mine = `${c}:${i}`;
            const { rows } = await client.query<{ value: string }>(
              `select '${c}:' || left($1::text, ${String(i).length}) as value`,
              [String(i).padEnd(300_000, ' ')],
            );
            if (rows[0]?.value !== mine) wrong.push(`${mine} got ${rows[0]?.value}`);
          }
          return wrong;
        }),
      );
      expect(answers.flat()).toEqual([]);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
      await stop();
    }
  });
});
