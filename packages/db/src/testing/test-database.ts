import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { apiLoginUrl, ensureApiLoginRole } from '../api-login.ts';
import { startEmbeddedDatabase } from '../embedded-database.ts';
import { migrate } from '../migrate.ts';
import { createOrm, type Orm, type OrmOptions } from '../orm.ts';
import { TEST_ENV } from './env.ts';

const LOCAL_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  /** 'server': a real PostgreSQL server; 'embedded': an in-memory embedded database of this test file's own. */
  kind: 'server' | 'embedded';
  drop(): Promise<void>;
}

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 5432) });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

let kind: Promise<TestDatabase['kind']> | undefined;

/**
 * Where this run's test databases live. Tests of what only a server can show (two transactions open at
 * once, a connection-wide role) run only there: the embedded database serves one session at a time.
 */
export function testDatabaseKind(): Promise<TestDatabase['kind']> {
  kind ??= (async () => {
    if (TEST_ENV.TEST_DATABASE === 'embedded') return 'embedded';
    if (TEST_ENV.DATABASE_URL !== undefined) return 'server';
    return (await reachable(LOCAL_SERVER_URL)) ? 'server' : 'embedded';
  })();
  return kind;
}

/**
 * A fresh, empty database of its own for one test file; `drop()` removes it. It lives on DATABASE_URL's
 * server, else on the local PostgreSQL (127.0.0.1:5432); on a machine with neither, in an in-memory
 * embedded database on a free loopback port, so the suite also runs where only Node is installed.
 */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const serverUrl = TEST_ENV.DATABASE_URL ?? LOCAL_SERVER_URL;
  if ((await testDatabaseKind()) === 'embedded') return createEmbeddedTestDatabase(label);
  const name = `up_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    kind: 'server',
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The server `pnpm start` runs (with its fixes to pglite-socket), in memory, so tests see what users get. */
async function createEmbeddedTestDatabase(label: string): Promise<TestDatabase> {
  const database = await startEmbeddedDatabase({ port: 0 });
  return { url: database.url, name: label, kind: 'embedded', drop: () => database.stop() };
}

/** A migrated test database (its URL, name and kind) with an owner ORM on it. */
export interface MigratedTestOrm extends Omit<TestDatabase, 'drop'> {
  /** Connected as the database's owner: row-level security does not apply to it. */
  orm: Orm;
  /**
   * Where the API connects: on a server, as the API's own login role (API_LOGIN_ROLE, created here,
   * holding only the API's role), as production does; on the embedded database, which has one session
   * for all, the owner's URL (the API then switches role per transaction).
   */
  apiUrl: string;
  /** Closes the ORM, then drops the database. */
  close(): Promise<void>;
}

/**
 * What most database tests start with: a database of the test file's own, an owner ORM on it, and the
 * migrations applied. `options` are the ORM's (a smaller pool, say).
 */
export async function createMigratedTestOrm(
  label: string,
  options: Omit<OrmOptions, 'databaseUrl'> = {},
): Promise<MigratedTestOrm> {
  const { drop, ...database } = await createTestDatabase(label);
  let orm: Orm | undefined;
  try {
    orm = await createOrm({ ...options, databaseUrl: database.url });
    await migrate(orm);
    if (database.kind === 'server') await ensureApiLoginRole(orm);
  } catch (error) {
    await orm?.close(true);
    await drop();
    throw error;
  }
  const owner = orm;
  return {
    ...database,
    orm: owner,
    apiUrl: database.kind === 'server' ? apiLoginUrl(database.url) : database.url,
    async close() {
      await owner.close(true);
      await drop();
    },
  };
}
