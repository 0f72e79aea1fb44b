import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { RunChangeEvent } from '@provisioning/shared';
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
import type { SessionInfo } from '../http/app-env.ts';
import { loadSession } from '../http/session.ts';
import { LoginRateLimiter } from '../login-rate-limit.ts';
import { RunChangeFeed } from '../run-change-feed.ts';
import type { Context } from '../trpc/context.ts';
import { appRouter } from '../trpc/router.ts';
import { createCallerFactory } from '../trpc/trpc.ts';

const silent = pino({ level: 'silent' });

let harness: ApiHarness;
let acme: TestOrganisation;
let other: TestOrganisation;
let feed: RunChangeFeed;
let server: ReturnType<typeof serve>;
let baseUrl: string;

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
}, 120_000);

afterAll(async () => {
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

const createCaller = createCallerFactory(appRouter);

/** The context a request would get, without HTTP: tRPC's inner context for `createCaller`. */
function innerContext(session: SessionInfo | null, onSession: (token: string) => void = () => {}): Context {
  return {
    orm: harness.appOrm,
    loginLimiter: new LoginRateLimiter({ maxFailuresPerAccount: 1000, maxFailuresPerAddress: 1000 }),
    changeFeed: feed,
    em: harness.appOrm.em.fork(),
    logger: silent,
    requestId: 'test',
    session,
    clientAddress: '127.0.0.1',
    userAgent: null,
    cookies: { setSession: onSession, clearSession: () => {} },
  };
}

/** A caller signed in as `email`, through the sign-in procedure itself. */
async function callerAs(email: string, signal: AbortSignal) {
  let token: string | undefined;
  await createCaller(innerContext(null, (given) => (token = given))).auth.signIn({
    email,
    password: PASSWORD,
  });
  const session = await loadSession(harness.appOrm.em.fork(), token);
  return createCaller(innerContext(session), { signal });
}

/** Reads a `runs.changes` subscription in the background; `next(predicate)` waits for a matching event. */
function collectEvents(subscription: AsyncIterable<unknown>) {
  const events: RunChangeEvent[] = [];
  const waiters: { predicate: (event: RunChangeEvent) => boolean; resolve: () => void }[] = [];
  const done = (async () => {
    // Each event comes as tRPC's tracked envelope: [event ID, event].
    for await (const [, event] of subscription as AsyncIterable<[string, RunChangeEvent]>) {
      events.push(event);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(event)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    }
  })();
  return {
    events,
    done,
    next(predicate: (event: RunChangeEvent) => boolean): Promise<void> {
      if (events.some(predicate)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

const isRun = (runId: string) => (event: RunChangeEvent) => event.type === 'run' && event.run.id === runId;

describe('live run changes', () => {
  it('pushes each run’s changes to its own organisation’s subscribers only', async () => {
    const abort = new AbortController();
    try {
      const acmeFeed = collectEvents(
        await (await callerAs(acme.accounts['people-admin'], abort.signal)).runs.changes({}),
      );
      const otherFeed = collectEvents(
        await (await callerAs(other.accounts['org-admin'], abort.signal)).runs.changes({}),
      );
      await acmeFeed.next((event) => event.type === 'live');
      await otherFeed.next((event) => event.type === 'live');

      const acmeRun = await seedRun(harness.owner, {
        organisationId: acme.id,
        configurationId: await seedConfiguration(harness.owner, acme.id, 'Caller feed'),
        status: 'queued',
        queuedAt: new Date(),
      });
      const otherRun = await seedRun(harness.owner, {
        organisationId: other.id,
        configurationId: await seedConfiguration(harness.owner, other.id, 'Their caller feed'),
        status: 'queued',
        queuedAt: new Date(),
      });
      await acmeFeed.next(isRun(acmeRun));
      await otherFeed.next(isRun(otherRun));
      expect(acmeFeed.events.some(isRun(otherRun))).toBe(false);
      expect(otherFeed.events.some(isRun(acmeRun))).toBe(false);
      abort.abort();
      // Aborting the call (a browser going away) ends the subscription instead of leaving it polling.
      await acmeFeed.done;
      await otherFeed.done;
    } finally {
      abort.abort();
    }
  }, 60_000);

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
