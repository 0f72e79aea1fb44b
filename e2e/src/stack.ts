import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createBoss, ensureQueues, type Orm } from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm, SEED_PASSWORD } from '@provisioning/db/testing';
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
  /** The same, for a command that may fail: its exit code and both outputs, without throwing. */
  cliResult(...args: string[]): Promise<CliResult>;
  /**
   * Every log this stack wrote: the API's and the worker's output, and each CLI command with what it
   * printed. Complete once close() has resolved.
   */
  logFiles(): string[];
  /** Signs an account in through the API with the seeded password; resolves with its session cookie. */
  sessionCookie(email: string): Promise<string>;
  /** Stops the API (open live feeds drop), then `start()` brings it back on the same port. */
  stopApi(): Promise<{ start(): Promise<void> }>;
  close(): Promise<void>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface App {
  name: string;
  cwd: string;
  env: Record<string, string>;
  ready: RegExp;
}

const logPath = (label: string, name: string) => join(ARTIFACTS_DIR, 'logs', `${label}-${name}.log`);

/** A log file of the stack's; `closed` resolves once the file holds everything written to it. */
function openLog(path: string) {
  mkdirSync(join(ARTIFACTS_DIR, 'logs'), { recursive: true });
  const log = createWriteStream(path);
  return { log, closed: once(log, 'close').then(() => {}) };
}

interface RunningApp {
  child: ChildProcess;
  /** Resolves once the process has exited and its log file holds all it printed. */
  logged: Promise<void>;
}

/** Starts `node --import tsx src/main.ts` in an app's folder; resolves once it prints its ready line. */
async function startApp(path: string, app: App): Promise<RunningApp> {
  const { log, closed } = openLog(path);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: app.cwd,
    env: { ...INHERITED_ENV, LOG_LEVEL: 'info', ...app.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Both outputs go to one file, which ends once the process and its pipes have closed.
  child.stderr!.pipe(log, { end: false });
  child.once('close', () => log.end());
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${app.name} exited with ${code} before it was ready; see ${log.path}`)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      if (app.ready.test(line)) resolve();
    });
  });
  return { child, logged: closed };
}

async function stopApp(app: RunningApp | undefined) {
  if (!app) return;
  const { child } = app;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await app.logged;
}

export interface StackOptions {
  /** The API's environment besides the database and port (e.g. a short LIVE_ACCESS_CHECK_INTERVAL_MS). */
  apiEnv?: Record<string, string>;
  /** The worker's environment besides the database and secret key (e.g. SLACK_SIGNING_SECRET, SLACK_PORT). */
  workerEnv?: Record<string, string>;
  /** The CLI's environment besides the database, secret key and allow-list (e.g. SLACK_API_URL). */
  cliEnv?: Record<string, string>;
}

/** The tests' sources listen on loopback, which connectors refuse unless allowed. */
const LOOPBACK_ALLOWED = '127.0.0.1/32';

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
  const logFiles = [logPath(label, 'api')];
  let api: RunningApp | undefined = await startApp(logFiles[0]!, apiApp);
  let worker: RunningApp | undefined;
  let closed: Promise<void> | undefined;
  const cliLog = logPath(label, 'cli');
  let cliLogged: ReturnType<typeof openLog> | undefined;
  async function cliResult(...args: string[]): Promise<CliResult> {
    const result = await new Promise<CliResult>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/main.ts', ...args],
        {
          cwd: CLI_DIR,
          env: {
            ...INHERITED_ENV,
            ...options.cliEnv,
            DATABASE_URL: database.url,
            // The worker's key and allow-list: the CLI seals the secrets the worker opens.
            PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
            CONNECTOR_ALLOWED_HOSTS: LOOPBACK_ALLOWED,
          },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      ),
    );
    if (!cliLogged) {
      cliLogged = openLog(cliLog);
      logFiles.push(cliLog);
    }
    cliLogged.log.write(
      `$ provisioning ${args.join(' ')}\n[exit ${result.code}]\n${result.stdout}${result.stderr}\n`,
    );
    return result;
  }
  return {
    database,
    owner,
    boss,
    secretKey,
    baseUrl: `http://127.0.0.1:${port}`,
    async startWorker() {
      if (worker) return;
      const path = logPath(label, 'worker');
      logFiles.push(path);
      worker = await startApp(path, {
        name: 'worker',
        cwd: WORKER_DIR,
        env: {
          ...options.workerEnv,
          DATABASE_URL: database.url,
          PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
          CONNECTOR_ALLOWED_HOSTS: LOOPBACK_ALLOWED,
          // Stacks run side by side: each worker's health endpoints on a port of their own.
          WORKER_HTTP_PORT: '0',
        },
        ready: /"worker ready"/,
      });
    },
    async cli(...args) {
      const result = await cliResult(...args);
      if (result.code !== 0) {
        throw new Error(`provisioning ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
      }
      return result.stdout;
    },
    cliResult,
    logFiles: () => [...logFiles],
    async sessionCookie(email) {
      const response = await fetch(`http://127.0.0.1:${port}/trpc/auth.signIn`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
        body: JSON.stringify({ email, password: SEED_PASSWORD }),
      });
      if (response.status !== 200) throw new Error(`${email} could not sign in: HTTP ${response.status}`);
      return response.headers.get('set-cookie')!.split(';')[0]!;
    },
    async stopApi() {
      await stopApp(api);
      api = undefined;
      return {
        async start() {
          const path = logPath(`${label}-restarted`, 'api');
          logFiles.push(path);
          api = await startApp(path, apiApp);
        },
      };
    },
    close() {
      // A test may close the stack itself, to read its complete logs, before afterAll closes it again.
      closed ??= (async () => {
        await stopApp(worker);
        await stopApp(api);
        cliLogged?.log.end();
        await cliLogged?.closed;
        await boss.stop({ graceful: false, wait: true });
        await database.close();
      })();
      return closed;
    },
  };
}
