import { join } from 'node:path';
import type { Migrator } from '@mikro-orm/migrations';
import {
  createOrm,
  type EmbeddedDatabase,
  loadOrCreateLocalSecretKey,
  migrate,
  type Orm,
  parseSecretKey,
  sql,
  useEmbeddedDatabase,
} from '@provisioning/db';
import { type AllowList, parseAllowList } from '@provisioning/sync';
import type { Env } from './env.ts';

export interface Database {
  orm: Orm;
  url: string;
  embedded: boolean;
  /** The key sealing configuration secrets; throws a readable error when none is configured. */
  secretKey(): Buffer;
  /** The non-public hosts connectors may reach (CONNECTOR_ALLOWED_HOSTS), for warnings. */
  allowList: AllowList;
  /** SLACK_API_URL. */
  slackApiUrl: string;
  close(): Promise<void>;
}

export class SetupError extends Error {}

/** DATABASE_URL's server, or the embedded database (served by `pnpm start`, else by this process). */
export async function openDatabase(env: Env, poolSize = 4): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let url = env.DATABASE_URL;
  if (!url) {
    embedded = await useEmbeddedDatabase({
      dataDir: join(env.PROVISIONING_DATA_DIR, 'pglite'),
      port: env.EMBEDDED_DB_PORT,
    });
    url = embedded.url;
  }
  let orm: Orm;
  try {
    orm = await createOrm({ databaseUrl: url, poolSize });
    await sql(orm.em, 'select 1');
  } catch (error) {
    await embedded?.stop();
    const where = new URL(url);
    throw new SetupError(
      `Could not connect to the database at ${where.hostname}:${where.port || 5432}${where.pathname}: ${(error as Error).message}`,
    );
  }
  return {
    orm,
    url,
    embedded: embedded !== null,
    allowList: parseAllowList(env.CONNECTOR_ALLOWED_HOSTS),
    slackApiUrl: env.SLACK_API_URL,
    secretKey() {
      if (env.PROVISIONING_SECRET_KEY) return parseSecretKey(env.PROVISIONING_SECRET_KEY);
      if (!env.DATABASE_URL)
        return parseSecretKey(loadOrCreateLocalSecretKey(join(env.PROVISIONING_DATA_DIR, 'secret.key')));
      throw new SetupError(
        'PROVISIONING_SECRET_KEY is not set: it must hold 32 bytes, e.g. from `openssl rand -base64 32`',
      );
    },
    async close() {
      await orm.close(true);
      await embedded?.stop();
    },
  };
}

/** The embedded database is migrated on the spot; a server given by DATABASE_URL is migrated on purpose. */
export async function ensureMigrated(db: Database): Promise<void> {
  if (db.embedded) {
    await migrate(db.orm);
    return;
  }
  const pending = await (db.orm.getMigrator() as Migrator).getPendingMigrations();
  if (pending.length > 0) {
    throw new SetupError(
      `The database has ${pending.length} pending migration(s): run \`pnpm provisioning migrate\` first (the api and worker also apply them at start-up)`,
    );
  }
}
