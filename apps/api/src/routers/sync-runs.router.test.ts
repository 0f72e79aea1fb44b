import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { createBoss, createConfiguration, ensureQueues, triggerRun } from '@provisioning/db';
import type { RunChangeEvent, RunStatus } from '@provisioning/shared';
import { type SftpServer, startSftpServer, writeHrCsv } from '@provisioning/testkit';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import type PgBoss from 'pg-boss';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  createApiHarness,
  PASSWORD,
  seedConfiguration,
  seedOrganisation,
  seedRun,
  sseEvents,
  type TestOrganisation,
} from '../api-harness.test-support.ts';
import { createApp } from '../app.ts';
import { RunChangeFeed } from '../run-change-feed.ts';
import type { AppRouter } from '../trpc/router.ts';

const silent = pino({ level: 'silent' });
const secretKey = randomBytes(32);
const workerDirectory = fileURLToPath(new URL('../../../worker', import.meta.url));

let harness: ApiHarness;
let acme: TestOrganisation;
let other: TestOrganisation;
let feed: RunChangeFeed;
let server: ReturnType<typeof serve>;
let baseUrl: string;
let sftp: SftpServer;
let sftpRoot: string;
let boss: PgBoss;
let worker: ChildProcess;

beforeAll(async () => {
  harness = await createApiHarness('api_live');
  acme = await seedOrganisation(harness.owner, { name: 'Acme' });
  other = await seedOrganisation(harness.owner, { name: 'Other' });
  feed = new RunChangeFeed({
    databaseUrl: harness.database.url,
    logger: silent,
    fallbackPollIntervalMs: 500,
  });
  await feed.start();
  const app = createApp({ orm: harness.appOrm, logger: silent, changeFeed: feed });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  sftpRoot = mkdtempSync(join(tmpdir(), 'api-live-sftp-'));
  mkdirSync(join(sftpRoot, 'outbound'));
  await writeHrCsv(join(sftpRoot, 'outbound', 'employees.csv'), { rows: 200 });
  sftp = await startSftpServer({ root: sftpRoot, username: 'acme', password: 'sftp-password' });
  boss = createBoss(harness.database.url, { supervise: false, schedule: false });
  await boss.start();
  await ensureQueues(boss);

  // A real worker process: the changes come from its transactions, as in production.
  worker = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: workerDirectory,
    env: {
      ...process.env,
      DATABASE_URL: harness.database.url,
      PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: worker.stdout! });
  await new Promise<void>((resolve, reject) => {
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.includes('"worker ready"')) resolve();
    });
  });
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await once(worker, 'exit');
  }
  await boss?.stop({ graceful: false, wait: true });
  await sftp?.stop();
  rmSync(sftpRoot, { recursive: true, force: true });
  await feed?.close();
  server?.close();
  await harness.close();
});

async function sessionCookie(email: string): Promise<string> {
  const response = await fetch(`${baseUrl}/trpc/auth.signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}

/** The official tRPC client as the web page sets it up: queries over HTTP, the live feed over SSE. */
function trpcClient(cookie: string) {
  const fetchWithCookie: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('cookie', cookie);
    return fetch(input, { ...init, headers });
  };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${baseUrl}/trpc`,
          EventSource,
          eventSourceOptions: { fetch: fetchWithCookie },
        }),
        false: httpBatchLink({ url: `${baseUrl}/trpc`, fetch: fetchWithCookie }),
      }),
    ],
  });
}

/** Collects a subscription's events; `next(predicate)` resolves with the first event that matches. */
function collect(client: ReturnType<typeof trpcClient>) {
  const events: RunChangeEvent[] = [];
  const waiters: {
    predicate: (event: RunChangeEvent) => boolean;
    resolve: (event: RunChangeEvent) => void;
  }[] = [];
  const subscription = client.runs.changes.subscribe(
    {},
    {
      onData(tracked) {
        const event = tracked.data;
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      },
    },
  );
  return {
    events,
    next(predicate: (event: RunChangeEvent) => boolean): Promise<RunChangeEvent> {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    stop: () => subscription.unsubscribe(),
  };
}

const runStatus = (runId: string, status: RunStatus) => (event: RunChangeEvent) =>
  event.type === 'run' && event.run.id === runId && event.run.status === status;

describe('live run changes', () => {
  it('pushes a run’s changes as a real worker commits them, to its organisation only', async () => {
    const configurationId = (
      await createConfiguration(
        harness.owner.em.fork(),
        acme.id,
        {
          name: 'HR file',
          connector: 'sftp',
          settings: {
            host: sftp.host,
            port: sftp.port,
            username: 'acme',
            password: 'sftp-password',
            hostFingerprint: sftp.hostFingerprint,
            path: '/outbound/employees.csv',
          },
        },
        secretKey,
      )
    ).id;
    const acmeFeed = collect(trpcClient(await sessionCookie(acme.accounts['people-admin'])));
    const otherFeed = collect(trpcClient(await sessionCookie(other.accounts['org-admin'])));
    await acmeFeed.next((event) => event.type === 'live');
    await otherFeed.next((event) => event.type === 'live');

    const { runId } = await triggerRun(harness.owner, boss, configurationId, 'manual');
    const finished = await acmeFeed.next(runStatus(runId, 'success'));
    expect(finished.type === 'run' && finished.run).toMatchObject({
      configurationName: 'HR file',
      connector: 'sftp',
      logKind: 'result',
      progress: { read: 200, planned: 200, applied: 200 },
    });
    // Each event is the run's state when it was read: states a worker passes through between two reads
    // may be skipped, but never reordered, and the last one is the run's final state.
    const lifecycle: RunStatus[] = ['queued', 'in_progress', 'success'];
    const ranks = acmeFeed.events.flatMap((event) =>
      event.type === 'run' && event.run.id === runId ? [lifecycle.indexOf(event.run.status)] : [],
    );
    expect(ranks).not.toContain(-1);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(ranks.at(-1)).toBe(2);

    // The other organisation's feed is alive (it gets its own run next) and never saw Acme's.
    const otherConfiguration = await seedConfiguration(harness.owner, other.id, 'Their HR');
    const otherRun = await seedRun(harness.owner, {
      organisationId: other.id,
      configurationId: otherConfiguration,
      status: 'queued',
      queuedAt: new Date(),
    });
    await otherFeed.next(runStatus(otherRun, 'queued'));
    expect(otherFeed.events.some((event) => event.type === 'run' && event.run.id === runId)).toBe(false);
    expect(
      otherFeed.events
        .filter((event) => event.type === 'run')
        .map((event) => event.type === 'run' && event.run.id),
    ).toEqual([otherRun]);
    acmeFeed.stop();
    otherFeed.stop();
  }, 120_000);

  it('resumes from the last event ID without losing the changes made while disconnected', async () => {
    const cookie = await sessionCookie(acme.accounts['org-admin']);
    const configurationId = await seedConfiguration(harness.owner, acme.id, 'Resume feed');
    const first = await seedRun(harness.owner, {
      organisationId: acme.id,
      configurationId,
      status: 'queued',
      queuedAt: new Date(),
    });

    // A first connection: read until the feed is live, remember the last event ID, then drop it.
    const abort = new AbortController();
    const response = await fetch(`${baseUrl}/trpc/runs.changes?input=%7B%7D`, {
      headers: { cookie },
      signal: abort.signal,
    });
    let lastEventId: string | null = null;
    for await (const event of sseEvents(response)) {
      if (event.id) lastEventId = event.id;
      if (event.data.includes('"type":"live"')) break;
    }
    abort.abort();
    expect(lastEventId).toMatch(/^\d+$/);

    // While nobody listens, the run moves on and another is queued.
    await harness.owner.em.fork().execute(`update sync_run set status = 'in_progress' where id = ?`, [first]);
    const second = await seedRun(harness.owner, {
      organisationId: acme.id,
      configurationId,
      status: 'queued',
      queuedAt: new Date(),
    });

    // Reconnecting with the last event ID (as EventSource does) replays both changes.
    const resumed = await fetch(`${baseUrl}/trpc/runs.changes?input=%7B%7D`, {
      headers: { cookie, 'last-event-id': lastEventId! },
    });
    const replayed = new Map<string, string>();
    for await (const event of sseEvents(resumed)) {
      const parsed = event.data ? (JSON.parse(event.data) as RunChangeEvent) : null;
      if (parsed?.type === 'run') replayed.set(parsed.run.id, parsed.run.status);
      if (parsed?.type === 'live') break;
    }
    expect(replayed.get(first)).toBe('in_progress');
    expect(replayed.get(second)).toBe('queued');
  }, 60_000);

  it('still delivers changes by polling where notifications do not arrive (the embedded database)', async () => {
    // A feed that never listens: views must find changes on their timer.
    const deaf = new RunChangeFeed({ databaseUrl: '', logger: silent, fallbackPollIntervalMs: 200 });
    const app = createApp({ orm: harness.appOrm, logger: silent, changeFeed: deaf });
    const local = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await once(local, 'listening');
    const url = `http://127.0.0.1:${(local.address() as AddressInfo).port}`;
    try {
      const signIn = await fetch(`${url}/trpc/auth.signIn`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: url },
        body: JSON.stringify({ email: acme.accounts['org-admin'], password: PASSWORD }),
      });
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      const response = await fetch(`${url}/trpc/runs.changes?input=%7B%7D`, { headers: { cookie } });
      const configurationId = await seedConfiguration(harness.owner, acme.id, 'Polled feed');
      let runId: string | null = null;
      for await (const event of sseEvents(response)) {
        const parsed = event.data ? (JSON.parse(event.data) as RunChangeEvent) : null;
        if (parsed?.type === 'live') {
          runId = await seedRun(harness.owner, {
            organisationId: acme.id,
            configurationId,
            status: 'queued',
            queuedAt: new Date(),
          });
        }
        if (parsed?.type === 'run' && parsed.run.id === runId) break;
      }
      expect(runId).not.toBeNull();
    } finally {
      local.close();
    }
  }, 30_000);

  it.each([
    ['a malformed', '1; drop table sync_run'],
    ['a 64-bit-overflowing (2^63)', '9223372036854775808'],
    ['a nineteen-nines', '9999999999999999999'],
  ])('refuses %s last event ID with a clear 400', async (_kind, lastEventId) => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    const response = await browser.request('/trpc/runs.changes?input=%7B%7D', {
      headers: { 'last-event-id': lastEventId },
    });
    for await (const event of sseEvents(response)) {
      if (event.event !== 'serialized-error') continue;
      const error = JSON.parse(event.data) as { message: string; data: { httpStatus: number } };
      expect(error.data.httpStatus).toBe(400);
      expect(error.message).toMatch(/last event ID is not valid/);
      break;
    }
  });
});

describe('bad input to the runs procedures', () => {
  it('answers 400 with field errors, never 500', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['people-admin']);
    const cases: [string, unknown, string][] = [
      ['runs.list', { filter: { range: 'yesterday' } }, 'filter.range'],
      ['runs.list', { filter: { range: 'custom', from: '2024-02-30', to: '2024-03-01' } }, 'filter.from'],
      ['runs.list', { filter: { range: 'custom', from: '2024-03-02', to: '2024-03-01' } }, 'filter.to'],
      ['runs.list', { filter: { range: 'last7', from: '2024-03-01' } }, 'filter.from'],
      ['runs.list', { filter: { statuses: ['success', 'exploded'] } }, 'filter.statuses.1'],
      ['runs.list', { filter: { statuses: 'success' } }, 'filter.statuses'],
      ['runs.list', { filter: { configurationId: 'x' } }, 'filter.configurationId'],
      ['runs.list', { filter: { sort: 'random' } }, 'filter.sort'],
      ['runs.list', { filter: { organisationId: acme.id } }, 'filter'],
      ['runs.list', { limit: 1_000_000 }, 'limit'],
      ['runs.list', { limit: 0 }, 'limit'],
      ['runs.list', { limit: 2.5 }, 'limit'],
      ['runs.list', { cursor: 'x'.repeat(5000) }, 'cursor'],
      ['runs.list', { cursor: Buffer.from('["not a time","x"]').toString('base64url') }, 'cursor'],
      ['runs.list', { cursor: '!!!' }, 'cursor'],
      ['runs.list', 'everything', '(root)'],
      ['runs.get', { runId: 'not-a-uuid' }, 'runId'],
      ['runs.get', {}, 'runId'],
      ['runs.get', { runId: `${'a'.repeat(8)}-aaaa-aaaa-aaaa-${'a'.repeat(12)}'; --` }, 'runId'],
    ];
    for (const [path, input, field] of cases) {
      const { status, body } = await browser.query(path, input);
      expect(status, JSON.stringify(input)).toBe(400);
      expect(Object.keys(body.error?.data.fieldErrors ?? {}), JSON.stringify(input)).toContain(field);
    }
    // A query string too long for the server is refused by HTTP itself, not by a crash.
    const huge = await browser.request(`/trpc/runs.list?input=${'%7B'.repeat(30_000)}`);
    expect([400, 414, 431]).toContain(huge.status);
  });
});
