import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppRouter } from '@provisioning/api/router';
import { createConfiguration, triggerRun } from '@provisioning/db';
import type { RunChangeEvent, RunStatus } from '@provisioning/shared';
import { type SftpServer, startSftpServer, writeHrCsv } from '@provisioning/testkit';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClientErrorLike,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SeededOrganisation, seedConfiguration, seedOrganisation, seedRun } from './seed.ts';
import { type Stack, startStack } from './stack.ts';

/**
 * The live feed against the product's own processes: the API and a worker each run as production runs
 * them (`src/main.ts`), so the changes come from a real worker's transactions. Moved here from the API's
 * tests, which start no other app's process.
 */
let stack: Stack;
let acme: SeededOrganisation;
let other: SeededOrganisation;
let sftp: SftpServer;
let sftpRoot: string;

beforeAll(async () => {
  // Open feeds look at their session every 200 ms here, not every 30 s, so the test need not wait long.
  stack = await startStack('live', { apiEnv: { LIVE_ACCESS_CHECK_INTERVAL_MS: '200' } });
  acme = await seedOrganisation(stack.owner, { name: 'Acme' });
  other = await seedOrganisation(stack.owner, { name: 'Other' });
  sftpRoot = mkdtempSync(join(tmpdir(), 'e2e-live-sftp-'));
  mkdirSync(join(sftpRoot, 'outbound'));
  await writeHrCsv(join(sftpRoot, 'outbound', 'employees.csv'), { rows: 200 });
  sftp = await startSftpServer({ root: sftpRoot, username: 'acme', password: 'sftp-password' });
  await stack.startWorker();
});

afterAll(async () => {
  await sftp?.stop();
  if (sftpRoot) rmSync(sftpRoot, { recursive: true, force: true });
  await stack?.close();
});

/**
 * The official tRPC client as the web page sets it up: queries over HTTP, the live feed over SSE.
 * `onFeedConnect` counts the feed's connections (EventSource's reconnects included).
 */
function trpcClient(cookie: string, onFeedConnect: () => void = () => {}) {
  const fetchWithCookie: typeof fetch = (input, init) => {
    if (String(input).includes('runs.changes')) onFeedConnect();
    const headers = new Headers(init?.headers);
    headers.set('cookie', cookie);
    return fetch(input, { ...init, headers });
  };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${stack.baseUrl}/trpc`,
          EventSource,
          eventSourceOptions: { fetch: fetchWithCookie },
        }),
        false: httpBatchLink({ url: `${stack.baseUrl}/trpc`, fetch: fetchWithCookie }),
      }),
    ],
  });
}

/**
 * Collects a subscription's events; `next(predicate)` resolves with the first event that matches, `failed`
 * with the error that ended the subscription for good.
 */
function collect(client: ReturnType<typeof trpcClient>) {
  const events: RunChangeEvent[] = [];
  let fail: (error: TRPCClientErrorLike<AppRouter>) => void = () => {};
  const failed = new Promise<TRPCClientErrorLike<AppRouter>>((resolve) => (fail = resolve));
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
      onError: fail,
    },
  );
  return {
    events,
    failed,
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
        stack.owner.em.fork(),
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
        stack.secretKey,
      )
    ).id;
    const acmeFeed = collect(trpcClient(await stack.sessionCookie(acme.accounts['people-admin'])));
    const otherFeed = collect(trpcClient(await stack.sessionCookie(other.accounts['org-admin'])));
    await acmeFeed.next((event) => event.type === 'live');
    await otherFeed.next((event) => event.type === 'live');

    const { runId } = await triggerRun(stack.owner, stack.boss, configurationId, 'manual');
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
    const otherConfiguration = await seedConfiguration(stack.owner, other.id, 'Their HR');
    const otherRun = await seedRun(stack.owner, {
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

  it('ends the feed of an account signed out by the CLI with UNAUTHORIZED, and the client stops there', async () => {
    const configurationId = await seedConfiguration(stack.owner, acme.id, 'Signed-out feed');
    let connections = 0;
    const cookie = await stack.sessionCookie(acme.accounts['org-admin']);
    const feed = collect(trpcClient(cookie, () => (connections += 1)));
    await feed.next((event) => event.type === 'live');

    await stack.cli('account', 'sign-out', '--email', acme.accounts['org-admin']);
    // Committed after the sign-out: it must not reach the signed-out page.
    const runId = await seedRun(stack.owner, {
      organisationId: acme.id,
      configurationId,
      status: 'queued',
      queuedAt: new Date(),
    });
    const error = await feed.failed;
    expect(error.data?.code).toBe('UNAUTHORIZED');
    expect(feed.events.some((event) => event.type === 'run' && event.run.id === runId)).toBe(false);
    // A refusal is final: the client did not reconnect into it.
    expect(connections).toBe(1);
    feed.stop();
  });
});
