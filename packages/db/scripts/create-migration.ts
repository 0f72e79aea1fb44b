/**
 * Writes a migration for the difference between the entities and the schema the existing migrations build.
 * It applies them to a scratch database (DATABASE_URL's server, else 127.0.0.1:5432), diffs, and drops it.
 */
import { randomBytes } from 'node:crypto';
import type { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { migrate } from '../src/migrate.ts';
import { createOrm } from '../src/orm.ts';
import { readScriptEnv } from './env.ts';

const { DATABASE_URL: serverUrl } = readScriptEnv();
const name = `migration_scratch_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
const orm = await createOrm({ databaseUrl: url.toString() });
try {
  await migrate(orm);
  const result = await (orm.getMigrator() as Migrator).createMigration(
    undefined,
    false,
    false,
    process.argv[2],
  );
  console.log(result.fileName ? `Wrote ${result.fileName}; add it to src/migrations/index.ts` : 'No changes');
} finally {
  await orm.close(true);
  await admin.query(`drop database ${name}`);
  await admin.end();
}
