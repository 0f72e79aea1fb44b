/**
 * `pnpm start`: the whole product on one machine. Without DATABASE_URL it serves the embedded database
 * from .data/, migrates it, seeds the demo organisation, then starts api, worker and web, each exactly as
 * `pnpm --filter ./apps/<name> start` would, and stops them all on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { migrate, seedDemo } from '@provisioning/db';
import { openDatabase } from './database.ts';
import { seedDemoConfigurations, startDemoSftp } from './demo.ts';
import { readEnv } from './env.ts';

const env = readEnv();
const log = (line: string) => process.stdout.write(`[start] ${line}\n`);

const db = await openDatabase(env, 2);
const applied = await migrate(db.orm);
log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema up to date');
const demo = env.DEMO === '1' || env.DEMO === 'true' || (env.DEMO === undefined && db.embedded);
const seeded = demo ? await seedDemo(db.orm.em.fork()) : null;
const demoSftp = seeded ? await startDemoSftp(env.PROVISIONING_DATA_DIR, env.DEMO_SFTP_PORT) : null;
if (seeded && demoSftp) {
  await seedDemoConfigurations(db.orm, db.url, seeded.organisationId, db.secretKey(), demoSftp);
}
await db.orm.close(true);

const childEnv: Record<string, string> = {
  ...(process.env as Record<string, string>),
  DATABASE_URL: db.url,
  PROVISIONING_SECRET_KEY: db.secretKey().toString('base64'),
};
const apiUrl = `http://127.0.0.1:${env.API_PORT}`;
const webUrl = `http://127.0.0.1:${env.WEB_PORT}`;
const apps = [
  { name: 'api', env: { PORT: String(env.API_PORT) } },
  { name: 'worker', env: {} },
  { name: 'web', env: { PORT: String(env.WEB_PORT), API_URL: apiUrl } },
];

const children = new Map<string, ChildProcess>();
let stopping = false;

function startApp(app: (typeof apps)[number]): ChildProcess {
  const [command, args] = env.npm_execpath
    ? [process.execPath, [env.npm_execpath, '--filter', `./apps/${app.name}`, 'start']]
    : ['pnpm', ['--filter', `./apps/${app.name}`, 'start']];
  const child = spawn(command, args as string[], {
    cwd: env.repoRoot,
    env: { ...childEnv, ...app.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${app.name}] ${line}\n`));
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
  await demoSftp?.stop();
  await db.close();
  process.exit(exitCode);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

for (const app of apps) children.set(app.name, startApp(app));

/** Asks the app's own readiness endpoint until it answers: that is the event "the app is up". */
async function waitUntilReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

const ready = (await waitUntilReady(`${apiUrl}/readyz`, 120_000)) && (await waitUntilReady(webUrl, 120_000));
if (!ready) {
  if (!stopping) {
    log('api or web did not become ready within 2 minutes; stopping');
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
      `  Demo SFTP server sftp://127.0.0.1:${env.DEMO_SFTP_PORT} with 4 configurations syncing every 2 minutes`,
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
