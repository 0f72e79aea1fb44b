import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * The default database when no DATABASE_URL is set: PostgreSQL compiled to WASM (PGlite), persisted in
 * `dataDir`, served on a loopback port so api, worker and CLI connect to it like to any PostgreSQL.
 * It runs one statement at a time; a connection in a transaction has it to itself until it ends.
 */
export async function startEmbeddedDatabase({
  dataDir,
  port,
  host = '127.0.0.1',
}: {
  dataDir: string;
  port: number;
  host?: string;
}): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, port, host, maxConnections: 64 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * Connects to the embedded database already served on `port` (by `pnpm start`), or serves it from
 * `dataDir` in this process. The port doubles as the lock: only one process opens the data directory.
 */
export async function useEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
  host?: string;
}): Promise<EmbeddedDatabase & { ownedByThisProcess: boolean }> {
  const host = options.host ?? '127.0.0.1';
  if (await isListening(host, options.port)) {
    return {
      url: `postgres://postgres:postgres@${host}:${options.port}/postgres`,
      stop: async () => {},
      ownedByThisProcess: false,
    };
  }
  return { ...(await startEmbeddedDatabase(options)), ownedByThisProcess: true };
}

function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
