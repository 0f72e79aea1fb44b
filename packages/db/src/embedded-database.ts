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
 * Tests start the same server, so they see what `pnpm start` serves: without `dataDir` it lives in
 * memory, and port 0 takes any free port (no race between picking a port and listening on it).
 */
export async function startEmbeddedDatabase({
  dataDir,
  port,
  host = '127.0.0.1',
}: {
  dataDir?: string;
  port: number;
  host?: string;
}): Promise<EmbeddedDatabase> {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  const server = new PGLiteSocketServer({ db, port, host, maxConnections: 64 });
  keepExtendedQueriesTogether(server);
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    // The address the server really listens on: with port 0 only the server knows it.
    url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** The parts of pglite-socket's (0.2.x) query queue that keepExtendedQueriesTogether builds on. */
interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(error: unknown): void;
  onData(data: Uint8Array): void;
}
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: PGlite;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/** Frontend messages of the extended query protocol that Sync ends: Parse, Bind, Describe, Execute, Close, Flush. */
const EXTENDED_QUERY_MESSAGES = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((type) => type.charCodeAt(0)));
const SYNC = 'S'.charCodeAt(0);

/**
 * pglite-socket runs every connection's messages, one at a time, on the one PGlite session, and keeps
 * an open transaction's messages together, but not an extended query (Parse, Bind, Execute … Sync)
 * outside one. When a large query arrives in several TCP chunks, another connection's messages can run
 * in between: one client then runs another's statement and gets its rows, or finds its portal gone.
 * This is the library's own queue loop with one more rule: from a connection's first extended-query
 * message that has run until its Sync, only that connection's messages run, as inside a transaction.
 */
function keepExtendedQueriesTogether(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  let midQuery = false;
  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId) => {
    clear(handlerId);
    if (queue.lastHandlerId === handlerId) midQuery = false;
  };
  queue.processQueue = async () => {
    if (queue.processing || queue.queue.length === 0) return;
    queue.processing = true;
    try {
      while (queue.queue.length > 0) {
        let item: QueuedMessage | undefined;
        if ((midQuery || queue.db.isInTransaction()) && queue.lastHandlerId !== null) {
          const index = queue.queue.findIndex((queued) => queued.handlerId === queue.lastHandlerId);
          item = index === -1 ? undefined : queue.queue.splice(index, 1)[0];
        } else {
          item = queue.queue.shift();
        }
        if (!item) break;
        const current = item;
        let bytes = 0;
        try {
          await queue.db.runExclusive(() =>
            queue.db.execProtocolRawStream(current.message, {
              onRawData: (data) => {
                bytes += data.length;
                current.onData(data);
              },
            }),
          );
        } catch (error) {
          current.reject(error);
          continue;
        }
        const type = current.message[0] ?? 0;
        if (EXTENDED_QUERY_MESSAGES.has(type)) midQuery = true;
        else if (type === SYNC) midQuery = false;
        queue.lastHandlerId = current.handlerId;
        current.resolve(bytes);
      }
    } finally {
      queue.processing = false;
    }
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
