import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createBoss, ensureQueues, type Orm } from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import { freePort } from '@provisioning/testkit';
import type PgBoss from 'pg-boss';
import { INHERITED_ENV } from './env.ts';
import { API_DIR, ARTIFACTS_DIR, CLI_DIR, WORKER_DIR } from './paths.ts';

/**
 * The product as it runs in production, for one test file: a database of its own (migrated, for seeding
 * through the owner ORM), the API process serving the built page from its own origin (NODE_ENV=production),
 * pg-boss for triggering runs, and, on demand, a worker process.
 */
export interface Stack {
  database: MigratedTestOrm;
  owner: Orm;
  boss: PgBoss;
  secretKey: Buffer;
  baseUrl: string;
  startWorker(): Promise<void>;
  /** Runs the support CLI (`pnpm provisioning ...`) on this database; resolves with what it printed. */
  cli(...args: string[]): Promise<string>;
  /** Stops the API (open live feeds drop), then `start()` brings it back on the same port. */
  stopApi(): Promise<{ start(): Promise<void> }>;
  close(): Promise<void>;
}

interface App {
  name: string;
  cwd: string;
  env: Record<string, string>;
  ready: RegExp;
}

/** Starts `node --import tsx src/main.ts` in an app's folder; resolves once it prints its ready line. */
async function startApp(label: string, app: App): Promise<ChildProcess> {
  mkdirSync(join(ARTIFACTS_DIR, 'logs'), { recursive: true });
  const log = createWriteStream(join(ARTIFACTS_DIR, 'logs', `${label}-${app.name}.log`));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: app.cwd,
    env: { ...INHERITED_ENV, LOG_LEVEL: 'info', ...app.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${app.name} exited with ${code} before it was ready; see ${log.path}`)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      if (app.ready.test(line)) resolve();
    });
  });
  return child;
}

async function stopApp(child: ChildProcess | undefined) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface StackOptions {
  /** The API's environment besides the database and port (e.g. a short LIVE_ACCESS_CHECK_INTERVAL_MS). */
  apiEnv?: Record<string, string>;
}

export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const database = await createMigratedTestOrm(`e2e_${label}`);
  const owner = database.orm;
  const boss = createBoss(database.url, { supervise: false, schedule: false });
  await boss.start();
  await ensureQueues(boss);
  const secretKey = randomBytes(32);
  const port = await freePort();
  const apiApp: App = {
    name: 'api',
    cwd: API_DIR,
    env: {
      ...options.apiEnv,
      DATABASE_URL: database.apiUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
    },
    ready: /API listening on/,
  };
  let api: ChildProcess | undefined = await startApp(label, apiApp);
  let worker: ChildProcess | undefined;
  return {
    database,
    owner,
    boss,
    secretKey,
    baseUrl: `http://127.0.0.1:${port}`,
    async startWorker() {
      worker ??= await startApp(label, {
        name: 'worker',
        cwd: WORKER_DIR,
        env: {
          DATABASE_URL: database.url,
          PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
          // The tests' SFTP servers listen on loopback, which connectors refuse unless allowed.
          CONNECTOR_ALLOWED_HOSTS: '127.0.0.1/32',
          // Stacks run side by side: each worker's health endpoints on a port of their own.
          WORKER_HTTP_PORT: '0',
        },
        ready: /"worker ready"/,
      });
    },
    async cli(...args) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/main.ts', ...args],
        {
          cwd: CLI_DIR,
          env: { ...INHERITED_ENV, DATABASE_URL: database.url },
        },
      );
      return stdout;
    },
    async stopApi() {
      await stopApp(api);
      api = undefined;
      return {
        async start() {
          api = await startApp(`${label}-restarted`, apiApp);
        },
      };
    },
    async close() {
      await stopApp(worker);
      await stopApp(api);
      await boss.stop({ graceful: false, wait: true });
      await database.close();
    },
  };
}
