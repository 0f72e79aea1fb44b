import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  finishApplied,
  finishUnapplied,
  getAccountByEmail,
  revokeSessionsOf,
  updateOrganisation,
} from '@provisioning/db';
import {
  RUN_COUNT_KEYS,
  type RunChangeEvent,
  type RunCounts,
  type SourceFingerprint,
} from '@provisioning/shared';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  callerAs as callerAsIn,
  createApiHarness,
  PASSWORD,
  seedConfiguration,
  seedOrganisation,
  seedRun,
  statementsSentBy as sentBy,
  sseEvents,
  type TestOrganisation,
} from '../api-harness.test-support.ts';
import { createApp } from '../app.ts';
import { RunChangeFeed } from '../run-change-feed.ts';

const silent = pino({ level: 'silent' });

let harness: ApiHarness;
let acme: TestOrganisation;
let other: TestOrganisation;
let feed: RunChangeFeed;
let server: ReturnType<typeof serve>;
let baseUrl: string;

/** Open feeds look at their session again this often here (30 s in production), so tests wait little. */
const ACCESS_CHECK_INTERVAL_MS = 100;

beforeAll(async () => {
  harness = await createApiHarness('api_live');
  acme = await seedOrganisation(harness.owner, { name: 'Acme' });
  other = await seedOrganisation(harness.owner, { name: 'Other' });
  feed = new RunChangeFeed({
    databaseUrl: harness.database.apiUrl,
    logger: silent,
    fallbackPollIntervalMs: 500,
  });
  await feed.start();
  const app = createApp({
    orm: harness.appOrm,
    logger: silent,
    changeFeed: feed,
    liveAccessCheckIntervalMs: ACCESS_CHECK_INTERVAL_MS,
  });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await feed?.close();
  server?.close();
  await harness.close();
});

async function sessionCookie(email: string, url = baseUrl): Promise<string> {
  const response = await fetch(`${url}/trpc/auth.signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}

const callerAs = (email: string, signal: AbortSignal) =>
  callerAsIn(
    { orm: harness.appOrm, changeFeed: feed, liveAccessCheckIntervalMs: ACCESS_CHECK_INTERVAL_MS },
    email,
    signal,
  );

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

/** How a feed ended: tRPC's error event, with its code and the permission table's reason. */
interface FeedEnd {
  code: string;
  accessDenial: string | null;
}

/**
 * Opens `runs.changes` with a session cookie, as the page does, and reads it in the background; resolves
 * once the feed is live. `ended` resolves with the error the feed ended with, or null when it just closed.
 */
async function openFeed(cookie: string, url = baseUrl) {
  const abort = new AbortController();
  const response = await fetch(`${url}/trpc/runs.changes?input=%7B%7D`, {
    headers: { cookie },
    signal: abort.signal,
  });
  const runIds: string[] = [];
  const waiters = new Map<string, () => void>();
  let becameLive = () => {};
  const live = new Promise<void>((resolve) => (becameLive = resolve));
  const ended = (async (): Promise<FeedEnd | null> => {
    for await (const event of sseEvents(response)) {
      if (event.event === 'serialized-error') {
        const { data } = JSON.parse(event.data) as { data: FeedEnd };
        return { code: data.code, accessDenial: data.accessDenial };
      }
      const parsed = event.data ? (JSON.parse(event.data) as RunChangeEvent) : null;
      if (parsed?.type === 'live') becameLive();
      if (parsed?.type === 'run') {
        runIds.push(parsed.run.id);
        waiters.get(parsed.run.id)?.();
      }
    }
    return null;
  })();
  await Promise.race([live, ended]);
  return {
    ended,
    runIds,
    /** Resolves when the run's change comes through the feed. */
    arrival: (runId: string) =>
      runIds.includes(runId)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.set(runId, resolve)),
    close: () => abort.abort(),
  };
}

interface Subject {
  organisationId: string;
  email: string;
  cookie: string;
}

const signedOut: FeedEnd = { code: 'UNAUTHORIZED', accessDenial: null };
const refused = (accessDenial: string): FeedEnd => ({ code: 'FORBIDDEN', accessDenial });

/** Each way an account loses User Provisioning while its page is open, and how its feed must end. */
const ACCESS_ENDINGS: [string, (subject: Subject) => Promise<unknown>, FeedEnd][] = [
  [
    'signs out through tRPC',
    async ({ cookie }) => {
      const response = await fetch(`${baseUrl}/trpc/auth.signOut`, {
        method: 'POST',
        headers: { cookie, origin: baseUrl, 'content-type': 'application/json' },
      });
      expect(response.status).toBe(200);
    },
    signedOut,
  ],
  [
    'is signed out everywhere by support (the CLI’s account sign-out)',
    async ({ email }) => {
      const em = harness.owner.em.fork();
      await revokeSessionsOf(em, (await getAccountByEmail(em, email)).id);
    },
    signedOut,
  ],
  [
    'reaches its session’s expiry',
    ({ email }) =>
      harness.owner.em.fork().execute(
        `update session set expires_at = now() - interval '1 second'
            where account_id = (select id from account where email = ?)`,
        [email],
      ),
    signedOut,
  ],
  [
    'is made a Basic User',
    ({ email }) =>
      harness.owner.em.fork().execute(`update account set roles = '{basic-user}' where email = ?`, [email]),
    refused('no-permission'),
  ],
  [
    'has User Provisioning turned off for its organisation',
    ({ organisationId }) =>
      updateOrganisation(harness.owner.em.fork(), organisationId, { provisioningEnabled: false }),
    refused('provisioning-disabled'),
  ],
  [
    'has its organisation put back on the legacy sync',
    ({ organisationId }) =>
      updateOrganisation(harness.owner.em.fork(), organisationId, { syncService: 'legacy' }),
    refused('legacy-sync-service'),
  ],
];

describe('a live feed whose client goes away', () => {
  it('ends on the server, letting go of its change subscription', async () => {
    const cookie = await sessionCookie(acme.accounts['org-admin']);
    const original = feed.subscribe.bind(feed);
    let open = 0;
    let allClosed = () => {};
    const closed = new Promise<void>((resolve) => (allClosed = resolve));
    feed.subscribe = (organisationId, listener) => {
      open += 1;
      const unsubscribe = original(organisationId, listener);
      return () => {
        unsubscribe();
        open -= 1;
        if (open === 0) allClosed();
      };
    };
    try {
      const client = await openFeed(cookie);
      expect(open).toBe(1);
      client.close();
      await closed;
      expect(open).toBe(0);
    } finally {
      feed.subscribe = original;
    }
  });
});

describe('an open live feed ends when access does', () => {
  it.each(ACCESS_ENDINGS)(
    'ends the feed of an account that %s, with the refusal a new request would get',
    async (_what, loseAccess, expected) => {
      const organisation = await seedOrganisation(harness.owner, {
        name: 'Losing access',
        roles: ['org-admin'],
      });
      const email = organisation.accounts['org-admin'];
      const cookie = await sessionCookie(email);
      const stream = await openFeed(cookie);
      // Nothing happens in the organisation: the timed check alone must notice.
      await loseAccess({ organisationId: organisation.id, email, cookie });
      expect(await stream.ended).toEqual(expected);
    },
    20_000,
  );

  it('sends no run committed after access ended, even long before the next timed check', async () => {
    // Timed checks far apart: only the check before each batch can stop this run from going out.
    const app = createApp({
      orm: harness.appOrm,
      logger: silent,
      changeFeed: feed,
      liveAccessCheckIntervalMs: 10 * 60_000,
    });
    const local = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await once(local, 'listening');
    const url = `http://127.0.0.1:${(local.address() as AddressInfo).port}`;
    try {
      const organisation = await seedOrganisation(harness.owner, {
        name: 'Revoked',
        roles: ['people-admin'],
      });
      const configurationId = await seedConfiguration(harness.owner, organisation.id, 'After revocation');
      const email = organisation.accounts['people-admin'];
      const stream = await openFeed(await sessionCookie(email, url), url);

      const em = harness.owner.em.fork();
      await revokeSessionsOf(em, (await getAccountByEmail(em, email)).id);
      const runId = await seedRun(harness.owner, {
        organisationId: organisation.id,
        configurationId,
        status: 'queued',
        queuedAt: new Date(),
      });
      const outcome = await Promise.race([stream.ended, stream.arrival(runId).then(() => 'run delivered')]);
      expect(outcome).toEqual(signedOut);
      expect(stream.runIds).not.toContain(runId);
    } finally {
      local.close();
    }
  }, 20_000);

  it('looks at the session without extending it: an open page is not someone using it', async () => {
    const organisation = await seedOrganisation(harness.owner, { name: 'Left open', roles: ['org-admin'] });
    const configurationId = await seedConfiguration(harness.owner, organisation.id, 'Left open');
    const email = organisation.accounts['org-admin'];
    const stream = await openFeed(await sessionCookie(email));
    try {
      // As if the last request had been two hours ago: a request now would extend the session.
      const em = harness.owner.em.fork();
      const ofAccount = 'account_id = (select id from account where email = ?)';
      await em.execute(
        `update session set last_seen_at = now() - interval '2 hours', expires_at = now() + interval '10 hours'
          where ${ofAccount}`,
        [email],
      );
      const read = () =>
        em.execute(`select last_seen_at, expires_at from session where ${ofAccount}`, [email]);
      const before = await read();

      // The feed reads its session before it sends this run.
      const runId = await seedRun(harness.owner, {
        organisationId: organisation.id,
        configurationId,
        status: 'queued',
        queuedAt: new Date(),
      });
      await stream.arrival(runId);
      expect(await read()).toEqual(before);
    } finally {
      stream.close();
    }
  });
});

describe('runs.list by source', () => {
  it('lists only the runs of the chosen sources, of the caller’s organisation, with the other filters', async () => {
    const organisation = await seedOrganisation(harness.owner, { name: 'Sources', roles: ['people-admin'] });
    const stranger = await seedOrganisation(harness.owner, { name: 'Stranger', roles: [] });
    const seedAt = async (organisationId: string, configurationId: string, day: number, status = 'success') =>
      seedRun(harness.owner, {
        organisationId,
        configurationId,
        status: status as 'success',
        queuedAt: `2024-06-${String(day).padStart(2, '0')}T09:00:00Z`,
      });
    const file = await seedConfiguration(harness.owner, organisation.id, 'HR file', 'sftp');
    const workday = await seedConfiguration(harness.owner, organisation.id, 'Workday', 'workday');
    const google = await seedConfiguration(harness.owner, organisation.id, 'Google', 'google-workspace');
    const theirWorkday = await seedConfiguration(harness.owner, stranger.id, 'Workday', 'workday');
    const fileRun = await seedAt(organisation.id, file, 1);
    const workdayRun = await seedAt(organisation.id, workday, 2);
    const googleFailed = await seedAt(organisation.id, google, 3, 'data_load_failed');
    const googleRun = await seedAt(organisation.id, google, 4);
    await seedAt(stranger.id, theirWorkday, 5);

    const caller = await callerAs(organisation.accounts['people-admin'], new AbortController().signal);
    const list = async (filter: Parameters<typeof caller.runs.list>[0]['filter'], limit?: number) =>
      (await caller.runs.list({ filter, limit })).runs.map((run) => [run.id, run.connector]);
    expect(await list({ sources: ['workday'] })).toEqual([[workdayRun, 'workday']]);
    expect(await list({ sources: ['google-workspace', 'sftp'] })).toEqual([
      [googleRun, 'google-workspace'],
      [googleFailed, 'google-workspace'],
      [fileRun, 'sftp'],
    ]);
    expect(await list({ sources: ['google-workspace'], statuses: ['data_load_failed'] })).toEqual([
      [googleFailed, 'google-workspace'],
    ]);
    expect(await list({ sources: ['sftp'], configurationId: workday })).toEqual([]);
    // Paging carries the source filter.
    const first = await caller.runs.list({ filter: { sources: ['google-workspace', 'workday'] }, limit: 2 });
    expect(first.runs.map((run) => run.id)).toEqual([googleRun, googleFailed]);
    const second = await caller.runs.list({
      filter: { sources: ['google-workspace', 'workday'] },
      limit: 2,
      cursor: first.nextCursor,
    });
    expect(second).toMatchObject({ runs: [{ id: workdayRun }], nextCursor: null });

    await expect(caller.runs.list({ filter: { sources: ['bamboohr' as 'sftp'] } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});

describe('runs.get: the source a run read', () => {
  it('gives the fingerprint stored with the final status, for a success and a failed load alike, and null without one', async () => {
    const organisation = await seedOrganisation(harness.owner, {
      name: 'Fingerprints',
      roles: ['org-admin'],
    });
    const configuration = await seedConfiguration(
      harness.owner,
      organisation.id,
      'Google',
      'google-workspace',
    );
    const inProgress = () =>
      seedRun(harness.owner, {
        organisationId: organisation.id,
        configurationId: configuration,
        status: 'in_progress',
        startedAt: new Date(),
      });
    const source: SourceFingerprint = {
      connector: 'google-workspace',
      origin: 'https://admin.googleapis.com/admin/directory/v1/users?customer=my_customer',
      sha256: 'c0ffee'.padEnd(64, '0'),
      bytes: 524_288,
      records: 1_190,
      pages: 3,
      leftOutInactive: 10,
    };
    const knex = harness.owner.em.getConnection().getKnex();
    const progress = { read: 1_190, planned: 1_190, applied: 1_190 };
    const counts = Object.fromEntries(RUN_COUNT_KEYS.map((key) => [key, 0])) as RunCounts;
    const succeeded = await inProgress();
    await knex.transaction((trx) =>
      finishApplied(trx, { runId: succeeded, attempt: 0 }, { status: 'success', counts, progress, source }),
    );
    const failLoad = async (errorSummary: string, read?: SourceFingerprint) => {
      const runId = await inProgress();
      await knex.transaction((trx) =>
        finishUnapplied(
          trx,
          { runId, attempt: 0 },
          { status: 'data_load_failed', errorSummary, errors: 1, progress, source: read },
        ),
      );
      return runId;
    };
    const empty = { ...source, records: 0, leftOutInactive: 1_200 };
    const failed = await failLoad('Google Workspace customer my_customer lists no active users.', empty);
    const broken = await failLoad('Page 2 of the Google Workspace user listing broke off.');

    const caller = await callerAs(organisation.accounts['org-admin'], new AbortController().signal);
    expect(await caller.runs.get({ runId: succeeded })).toMatchObject({ status: 'success', source });
    expect(await caller.runs.get({ runId: failed })).toMatchObject({
      status: 'data_load_failed',
      source: empty,
    });
    expect(await caller.runs.get({ runId: broken })).toMatchObject({
      status: 'data_load_failed',
      source: null,
    });
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
      ['runs.list', { filter: { sources: ['sftp', 'bamboohr'] } }, 'filter.sources.1'],
      ['runs.list', { filter: { sources: 'sftp' } }, 'filter.sources'],
      ['runs.list', { filter: { sources: ['x'.repeat(100_000)] } }, 'filter.sources.0'],
      ['runs.list', { filter: { sources: Array.from({ length: 500 }, () => 'sftp') } }, 'filter.sources'],
      ['runs.list', { filter: { source: ['sftp'] } }, 'filter'],
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

  it('answers a GET that carries a body as if it had none, without reading it (oversized too)', async () => {
    const cookie = await sessionCookie(acme.accounts['people-admin']);
    const { port } = new URL(baseUrl);
    for (const size of [10, 1_000_000]) {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'GET',
            path: '/trpc/runs.list?input=%7B%7D',
            headers: { cookie, 'content-type': 'application/json', 'content-length': size },
          },
          (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        request.on('error', reject);
        request.end('x'.repeat(size));
      });
      expect(answer.status, String(size)).toBe(200);
      expect(JSON.parse(answer.body), String(size)).toMatchObject({
        result: { data: { runs: expect.any(Array) } },
      });
    }
  });
});

describe('runs.list and runs.get check the session in their own round trip', () => {
  /** The statements the API's pool is handed while `fn` runs. */
  const statementsSentBy = (fn: () => Promise<unknown>) => sentBy(harness.appOrm, fn);

  let runId: string;
  beforeAll(async () => {
    const configuration = await seedConfiguration(harness.owner, acme.id, 'Acme round trips');
    runId = await seedRun(harness.owner, {
      organisationId: acme.id,
      configurationId: configuration,
      status: 'success',
      queuedAt: '2024-06-01T08:00:00Z',
    });
  });

  it('sends one message per call, session check and role included, and answers as before', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['people-admin']);
    let list: Awaited<ReturnType<typeof browser.query>> | undefined;
    let get: Awaited<ReturnType<typeof browser.query>> | undefined;
    expect(await statementsSentBy(async () => (list = await browser.query('runs.list', {})))).toHaveLength(1);
    expect(
      await statementsSentBy(async () => (get = await browser.query('runs.get', { runId }))),
    ).toHaveLength(1);
    expect(list!.status).toBe(200);
    expect((list!.body.result!.data as { runs: { id: string }[] }).runs.map((run) => run.id)).toContain(
      runId,
    );
    expect(get!.status).toBe(200);
    expect((get!.body.result!.data as { id: string }).id).toBe(runId);
  });

  it('refuses a signed-out, revoked or role-less session at the next call, and clears a dead cookie', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    const cookie = browser.cookie!;
    expect((await browser.query('runs.get', { runId })).status).toBe(200);
    const account = await getAccountByEmail(harness.owner.em.fork(), acme.accounts['org-admin']);
    await revokeSessionsOf(harness.owner.em.fork(), account.id);
    const replay = apiClient(harness.appOrm).app;
    for (const path of ['runs.list', `runs.get?input=${encodeURIComponent(JSON.stringify({ runId }))}`]) {
      const response = await replay.request(`http://localhost/trpc/${path}`, {
        headers: { host: 'localhost', cookie },
      });
      expect(response.status, path).toBe(401);
      expect(response.headers.get('set-cookie'), path).toMatch(/^provisioning_session=; Max-Age=0/);
    }

    const roleless = apiClient(harness.appOrm).browser();
    await roleless.signIn(acme.accounts['people-admin']);
    expect((await roleless.query('runs.get', { runId })).status).toBe(200);
    const peopleAdmin = await getAccountByEmail(harness.owner.em.fork(), acme.accounts['people-admin']);
    await harness.owner.em
      .fork()
      .execute(`update account set roles = '{basic-user}' where id = ?`, [peopleAdmin.id]);
    try {
      for (const [path, input] of [
        ['runs.get', { runId }],
        ['runs.list', {}],
      ] as const) {
        const refused = await roleless.query(path, input);
        expect(refused.status, path).toBe(403);
        expect(refused.body.error?.data.accessDenial, path).toBe('no-permission');
        expect(JSON.stringify(refused.body), path).not.toContain(runId);
      }
    } finally {
      await harness.owner.em
        .fork()
        .execute(`update account set roles = '{people-admin}' where id = ?`, [peopleAdmin.id]);
    }
  });

  it('answers a refused caller’s bad input with the refusal, not with the input’s fault', async () => {
    const anonymous = apiClient(harness.appOrm).browser();
    const basic = apiClient(harness.appOrm).browser();
    await basic.signIn(acme.accounts['basic-user']);
    const dead = apiClient(harness.appOrm).app;
    for (const [path, input] of [
      ['runs.get', { runId: 'not-a-uuid' }],
      ['runs.list', { limit: 0 }],
    ] as const) {
      expect((await anonymous.query(path, input)).status, path).toBe(401);
      const refused = await basic.query(path, input);
      expect(refused.status, path).toBe(403);
      expect(refused.body.error?.data.accessDenial, path).toBe('no-permission');
      const search = `?input=${encodeURIComponent(JSON.stringify(input))}`;
      const response = await dead.request(`http://localhost/trpc/${path}${search}`, {
        headers: { host: 'localhost', cookie: 'provisioning_session=no-such-session' },
      });
      expect(response.status, path).toBe(401);
    }
  });

  it('answers a batch of both, with no more than one message per call', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    const input = encodeURIComponent(JSON.stringify({ 0: {}, 1: { runId }, 2: { runId } }));
    let response: Response | undefined;
    const sent = await statementsSentBy(async () => {
      response = await browser.request(`/trpc/runs.list,runs.get,runs.get?batch=1&input=${input}`);
    });
    expect(response!.status).toBe(200);
    const body = (await response!.json()) as { result?: { data: { id?: string } } }[];
    expect(body.map((call) => call.result?.data.id ?? 'list')).toEqual(['list', runId, runId]);
    // tRPC starts a batch's calls together, so each may check the session itself: a message per call at most.
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.length).toBeLessThanOrEqual(3);

    const withMe = encodeURIComponent(JSON.stringify({ 1: { runId } }));
    const mixed = await browser.request(`/trpc/auth.me,runs.get?batch=1&input=${withMe}`);
    expect(mixed.status).toBe(200);
    const [me, details] = (await mixed.json()) as { result?: { data: unknown } }[];
    expect(me?.result?.data).toMatchObject({ account: { email: acme.accounts['org-admin'] } });
    expect((details!.result!.data as { id: string }).id).toBe(runId);
  });
});
