/**
 * `pnpm start`: the whole product on one machine. Without DATABASE_URL it serves the embedded database
 * from .data/, migrates it, seeds the demo organisation, then starts api, worker and web, each running the
 * entry point its `start` script runs, and stops them all on Ctrl-C with exit code 0.
 *
 * The root `start` script and this package's `start-all` run their command with `exec`: pnpm runs scripts
 * through `sh -c`, and Debian's sh (dash) dies at once of the SIGINT a terminal sends to the whole
 * process group, instead of waiting for the launcher that handles it; pnpm then reported
 * `Command failed with signal "SIGINT"` and exited 130 although everything had stopped cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import {
  API_LOGIN_ROLE,
  apiLoginUrl,
  ensureApiLoginRole,
  migrate,
  newApiLoginPassword,
  seedDemo,
} from '@provisioning/db';
import { openDatabase } from './database.ts';
import { seedDemoConfigurations } from './demo/demo-configurations.ts';
import { startDemoGoogle, startDemoWorkday } from './demo/demo-http-sources.ts';
import { startDemoSftp } from './demo/demo-sftp-server.ts';
import { inheritedEnvironment, readEnv } from './env.ts';

const env = readEnv();
const log = (line: string) => process.stdout.write(`[start] ${line}\n`);

const db = await openDatabase(env, 2);
const applied = await migrate(db.orm);
log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema up to date');
const demo = env.DEMO === '1' || env.DEMO === 'true' || (env.DEMO === undefined && db.embedded);
const seeded = demo ? await seedDemo(db.orm.em.fork()) : null;
const demoSources = seeded
  ? {
      sftp: await startDemoSftp(env.PROVISIONING_DATA_DIR, env.DEMO_SFTP_PORT),
      workday: await startDemoWorkday(env.DEMO_WORKDAY_PORT),
      google: await startDemoGoogle(env.PROVISIONING_DATA_DIR, env.DEMO_GOOGLE_PORT),
    }
  : null;
if (seeded && demoSources) {
  await seedDemoConfigurations(db.orm, db.url, seeded.organisationId, db.secretKey(), demoSources);
}
const apiDatabaseUrl = db.embedded ? db.url : await apiLogin();
await db.orm.close(true);

/**
 * The API logs in as a role that holds only provisioning_api (it refuses the owner's login):
 * API_DATABASE_URL's, else API_LOGIN_ROLE, created with a new password now (the owner needs CREATEROLE).
 */
async function apiLogin(): Promise<string> {
  if (env.API_DATABASE_URL) return env.API_DATABASE_URL;
  const password = newApiLoginPassword();
  try {
    await ensureApiLoginRole(db.orm, { password });
  } catch (error) {
    log(
      `could not create the API's database login ${API_LOGIN_ROLE} (${(error as Error).message}): ` +
        'set API_DATABASE_URL to a login that holds only provisioning_api (see "Database roles" in the README)',
    );
    process.exit(1);
  }
  log(`the API logs in as ${API_LOGIN_ROLE} (a new password on each start)`);
  return apiLoginUrl(db.url, password);
}

const childEnv: Record<string, string> = {
  ...inheritedEnvironment(),
  DATABASE_URL: db.url,
  PROVISIONING_SECRET_KEY: db.secretKey().toString('base64'),
};
const apiUrl = `http://127.0.0.1:${env.API_PORT}`;
const webUrl = `http://127.0.0.1:${env.WEB_PORT}`;
/**
 * Each app runs the entry point its `start` script runs, started here without pnpm and its `sh -c` around
 * it: stopping sends SIGTERM to the app's process group, which killed that shell at once (pnpm then
 * printed `Command failed with signal "SIGTERM"` for every app), and the launcher waited for pnpm rather
 * than for the app finishing its own shutdown. Each app says when it is up in a line of its own output:
 * that line is the event waited for.
 */
const TSX_MAIN = ['--import', 'tsx', 'src/main.ts'];
const apps = [
  {
    name: 'api',
    args: TSX_MAIN,
    // The embedded database's connections share one session: a connection-wide `set role` would
    // switch the worker's too. The API then switches role per transaction only.
    env: {
      PORT: String(env.API_PORT),
      DATABASE_URL: apiDatabaseUrl,
      ...(db.embedded ? { DATABASE_SHARED_SESSION: 'true' } : {}),
    },
    ready: /API listening on/,
  },
  {
    name: 'worker',
    args: TSX_MAIN,
    // The demo's SFTP server listens on loopback, which connectors refuse unless allowed.
    env: {
      // Links in Slack messages lead to this web app unless PUBLIC_WEB_URL names the panel's public address.
      ...(childEnv.PUBLIC_WEB_URL ? {} : { PUBLIC_WEB_URL: webUrl }),
      ...(demoSources
        ? {
            CONNECTOR_ALLOWED_HOSTS: [env.CONNECTOR_ALLOWED_HOSTS, '127.0.0.1/32'].filter(Boolean).join(','),
          }
        : {}),
    },
    ready: /worker ready/,
  },
  {
    name: 'web',
    args: ['node_modules/vite/bin/vite.js', '--configLoader', 'runner'],
    env: { PORT: String(env.WEB_PORT), API_URL: apiUrl },
    ready: /Local:\s+http/,
  },
];
const readiness = new Map<string, () => void>();
const allReady = Promise.all(
  apps.map((app) => new Promise<void>((resolve) => readiness.set(app.name, resolve))),
);

const children = new Map<string, ChildProcess>();
let stopping = false;

function startApp(app: (typeof apps)[number]): ChildProcess {
  const child = spawn(process.execPath, app.args, {
    cwd: join(env.repoRoot, 'apps', app.name),
    env: { ...childEnv, ...app.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      process.stdout.write(`[${app.name}] ${line}\n`);
      if (app.ready.test(stripVTControlCharacters(line))) readiness.get(app.name)?.();
    });
  }
  child.on('exit', (code, signal) => {
    children.delete(app.name);
    if (!stopping) {
      log(`${app.name} exited (${signal ?? `code ${code}`}); stopping the others`);
      void stop(1);
    }
  });
  return child;
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const exits = [...children.values()].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        const kill = (signal: NodeJS.Signals) => {
          try {
            if (child.pid) process.kill(-child.pid, signal);
          } catch {
            resolve();
          }
        };
        kill('SIGTERM');
        setTimeout(() => kill('SIGKILL'), 10_000).unref();
      }),
  );
  await Promise.all(exits);
  await demoSources?.sftp.stop();
  await demoSources?.workday.stop();
  await demoSources?.google.stop();
  await db.close();
  log('stopped');
  process.exit(exitCode);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

for (const app of apps) children.set(app.name, startApp(app));

const READY_TIMEOUT_MS = 120_000;
const ready = await Promise.race([
  allReady.then(() => true),
  new Promise<boolean>((resolve) => setTimeout(() => resolve(false), READY_TIMEOUT_MS).unref()),
]);
if (!ready) {
  if (!stopping) {
    log('api, worker or web did not say it was ready within 2 minutes; stopping');
    await stop(1);
  }
} else {
  const lines = [
    '',
    `User Provisioning is running: ${webUrl}`,
    `  API ${apiUrl} · database ${db.embedded ? `embedded, stored in ${join(env.PROVISIONING_DATA_DIR, 'pglite')}` : 'DATABASE_URL'}`,
  ];
  if (seeded) {
    lines.push(
      `  Demo sources syncing every 2 minutes: SFTP sftp://127.0.0.1:${env.DEMO_SFTP_PORT} (4 configurations), ` +
        `Workday http://127.0.0.1:${env.DEMO_WORKDAY_PORT} and Google Workspace http://127.0.0.1:${env.DEMO_GOOGLE_PORT} (1 each)`,
      `  Demo organisation "Demo Company" (${seeded.organisationId}); sign in with any of:`,
    );
    for (const account of seeded.accounts) {
      lines.push(
        `    ${account.roleLabel.padEnd(18)} ${account.email.padEnd(32)} password: ${account.password}`,
      );
    }
  }
  lines.push('  Press Ctrl-C to stop.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}
