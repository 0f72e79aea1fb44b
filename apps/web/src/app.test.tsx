// @vitest-environment happy-dom
import {
  ACCESS_DENIAL_MESSAGES,
  type RunChangeEvent,
  type RunListFilter,
  type RunListRow,
} from '@provisioning/shared';
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createTRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AppRouter, createQueryClient, type Me, TRPCProvider } from './api/trpc.ts';
import { App } from './app.tsx';

const PEOPLE_ADMIN: Me = {
  account: { id: '00000000-0000-4000-8000-000000000001', email: 'pat@acme.example', name: 'Pat' },
  roles: ['people-admin'],
  organisation: { id: '00000000-0000-4000-8000-0000000000aa', name: 'Acme', timeZone: 'UTC' },
  conditions: { roleAllowsProvisioning: true, provisioningEnabled: true, onUserSyncService: true },
  access: { viewProvisioning: { allowed: true }, downloadLogs: { allowed: true } },
};

const NOW_BASIC_USER: Me = {
  ...PEOPLE_ADMIN,
  roles: ['basic-user'],
  conditions: { ...PEOPLE_ADMIN.conditions, roleAllowsProvisioning: false },
  access: {
    viewProvisioning: { allowed: false, reason: 'no-permission' },
    downloadLogs: { allowed: false, reason: 'no-permission' },
  },
};

const RUN: RunListRow = {
  id: '00000000-0000-4000-8000-000000000101',
  status: 'in_progress',
  trigger: 'schedule',
  configurationId: '00000000-0000-4000-8000-0000000000c0',
  configurationName: 'Nightly HR file',
  connector: 'sftp',
  queuedAt: '2026-01-15T10:00:00.000Z',
  startedAt: '2026-01-15T10:00:01.000Z',
  finishedAt: null,
  durationMs: null,
  progress: { read: 10, planned: 0, applied: 0 },
  logKind: null,
  logPurge: null,
};

/** An open `runs.changes` subscription, as the fake server holds it. */
interface OpenFeed {
  send(id: string, event: RunChangeEvent): void;
  fail(error: TRPCClientError<AppRouter>): void;
  closed: boolean;
}

/**
 * The API as the page's tRPC client sees it: queries answered from `me` and one run, and each
 * `runs.changes` subscription held open for the test to push events into or end.
 */
function fakeApi() {
  const api = {
    me: PEOPLE_ADMIN as Me | null,
    feeds: [] as OpenFeed[],
    /** The sources of each `runs.list` call's filter (other calls' too, as []). */
    listedSources: [] as string[][],
    link: null as never as TRPCLink<AppRouter>,
  };
  api.link =
    () =>
    ({ op }) =>
      observable((observer) => {
        if (op.type === 'subscription') {
          const feed: OpenFeed = {
            closed: false,
            // The SSE link hands tracked events on as `{ id, data }`.
            send: (id, event) => observer.next({ result: { type: 'data', id, data: { id, data: event } } }),
            fail: (error) => observer.error(error),
          };
          api.feeds.push(feed);
          observer.next({ result: { type: 'started' } });
          return () => {
            feed.closed = true;
          };
        }
        // The run is listed unless the filter's sources leave out its own.
        const sources = (op.input as { filter?: RunListFilter } | undefined)?.filter?.sources ?? [];
        api.listedSources.push(sources);
        const answers: Record<string, unknown> = {
          'auth.me': api.me,
          'runs.list': {
            runs: sources.length === 0 || sources.includes(RUN.connector) ? [RUN] : [],
            nextCursor: null,
          },
          'configurations.list': [],
        };
        const answer = answers[op.path];
        void Promise.resolve().then(() => {
          observer.next({ result: { type: 'data', data: answer } });
          observer.complete();
        });
        return () => {};
      });
  return api;
}

/** The error event a feed ends with when a new call would be refused (the API's error shape). */
function refusal(code: 'UNAUTHORIZED' | 'FORBIDDEN', accessDenial: string | null) {
  return TRPCClientError.from<AppRouter>({
    error: {
      code: code === 'UNAUTHORIZED' ? -32001 : -32003,
      message: code === 'UNAUTHORIZED' ? 'Sign in to continue.' : 'Refused.',
      data: {
        code,
        httpStatus: code === 'UNAUTHORIZED' ? 401 : 403,
        path: 'runs.changes',
        fieldErrors: null,
        accessDenial,
      },
    },
  });
}

/** The page as main.tsx starts it, on the fake API, at /provisioning with the feed live. */
async function openLivePage() {
  const api = fakeApi();
  const trpcClient = createTRPCClient<AppRouter>({ links: [api.link] });
  const queryClient = createQueryClient((client) => {
    void client.invalidateQueries({ queryKey: trpc.auth.me.queryKey() });
  });
  const trpc = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });
  render(
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <App />
      </TRPCProvider>
    </QueryClientProvider>,
  );
  await screen.findAllByText('Nightly HR file');
  await waitFor(() => expect(api.feeds).toHaveLength(1));
  const feed = api.feeds[0]!;
  act(() => feed.send('7', { type: 'live' }));
  await screen.findByText('Live');
  const cachedRuns = () => queryClient.getQueryCache().findAll({ queryKey: [['runs']] });
  expect(cachedRuns()).not.toHaveLength(0);
  return { api, feed, cachedRuns };
}

beforeEach(() => window.history.replaceState(null, '', '/provisioning'));
afterEach(cleanup);

describe('the page when its live feed ends because access did', () => {
  it('returns to the sign-in form, and forgets the runs, when the session ended (signed out elsewhere, expired)', async () => {
    const { api, feed, cachedRuns } = await openLivePage();

    api.me = null;
    act(() => feed.fail(refusal('UNAUTHORIZED', null)));

    await screen.findByRole('heading', { name: 'Sign in' });
    expect(screen.queryByText('Nightly HR file')).toBeNull();
    expect(cachedRuns()).toHaveLength(0);
    // Ended for good: the feed is not opened again into the same refusal.
    expect(feed.closed).toBe(true);
    expect(api.feeds).toHaveLength(1);
  });

  it('shows the refusal, and forgets the runs, when the role no longer allows User Provisioning', async () => {
    const { api, feed, cachedRuns } = await openLivePage();

    api.me = NOW_BASIC_USER;
    act(() => feed.fail(refusal('FORBIDDEN', 'no-permission')));

    const { title } = ACCESS_DENIAL_MESSAGES['no-permission'];
    await screen.findByRole('heading', { name: title });
    expect(screen.queryByText('Nightly HR file')).toBeNull();
    expect(cachedRuns()).toHaveLength(0);
    expect(feed.closed).toBe(true);
    expect(api.feeds).toHaveLength(1);
  });
});

describe('the User Provisioning page', () => {
  it('says under its title that it lists automated syncs only, and where bulk uploads are', async () => {
    await openLivePage();
    const header = screen.getByRole('heading', { level: 1, name: 'User Provisioning' }).parentElement!;
    expect(header.textContent).toContain(
      'This page lists automated syncs only. Manual bulk uploads are on the Bulk Update page in the Users section.',
    );
  });

  it('filters by source through the URL, shows a removable pill, and says when no sync matches', async () => {
    const user = userEvent.setup();
    const { api } = await openLivePage();
    await user.click(screen.getByRole('button', { name: /^Source / }));
    await user.click(screen.getByRole('checkbox', { name: 'Workday' }));
    expect(window.location.search).toBe('?source=workday');
    await screen.findByRole('heading', { name: 'No syncs match these filters' });
    expect(api.listedSources).toContainEqual(['workday']);
    expect(screen.getByRole('button', { name: 'Remove filter: Source: Workday' })).toBeTruthy();

    await user.click(screen.getByRole('checkbox', { name: 'SFTP Sync' }));
    expect(window.location.search).toBe('?source=sftp&source=workday');
    await screen.findAllByText('Nightly HR file');
    await user.keyboard('{Escape}');

    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    expect(window.location.search).toBe('');
    expect(screen.queryByRole('button', { name: /^Remove filter: / })).toBeNull();
    expect(screen.getByRole('button', { name: /^Source / }).textContent).toBe('Any source');
  });
});
