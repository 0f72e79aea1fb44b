// @vitest-environment happy-dom
import type { PlannedDeactivation, RunDetails } from '@provisioning/shared';
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createTRPCClient, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppRouter, createQueryClient, TRPCProvider } from '../api/trpc.ts';
import RunDetailsDrawer from './run-details-drawer.tsx';

const BLOCKED: RunDetails = {
  id: '00000000-0000-4000-8000-000000000101',
  status: 'above_deactivation_threshold',
  trigger: 'schedule',
  configurationId: '00000000-0000-4000-8000-0000000000c0',
  configurationName: 'Nightly HR file',
  connector: 'sftp',
  queuedAt: '2026-12-01T08:00:00.000Z',
  startedAt: '2026-12-01T08:00:01.000Z',
  finishedAt: '2026-12-01T08:00:05.000Z',
  durationMs: 4000,
  progress: { read: 150, planned: 200, applied: 0 },
  logKind: null,
  logPurge: null,
  counts: {
    created: 0,
    updated: 0,
    reactivated: 0,
    deactivated: 0,
    unchanged: 0,
    skipped: 0,
    warnings: 0,
    errors: 0,
  },
  errorSummary: 'The sync would deactivate 60 of 200 active users it manages. Nothing was written.',
  threshold: { plannedDeactivations: 60, activeManagedUsers: 200, thresholdCount: 500, thresholdPercent: 20 },
  approval: null,
  triggerApproval: null,
  notification: null,
  source: null,
};

const APPROVAL = {
  blockedRunId: BLOCKED.id,
  approvedBy: 'Sam Support',
  reason: 'HR confirmed the leavers',
  approvedAt: '2026-12-01T09:30:00.000Z',
  expiresAt: '2026-12-02T09:30:00.000Z',
  usedByRunId: null,
  outcome: null,
} as const;

/** 60 planned deactivations; the seventh has left the directory since. */
const PLANNED: PlannedDeactivation[] = Array.from({ length: 60 }, (_, i) => ({
  userId: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
  name: i === 6 ? null : `Person ${i + 1}`,
  email: i === 6 ? null : `person.${i + 1}@acme.example`,
  externalId: i === 6 ? null : `E${i + 1}`,
}));

/** The API as the drawer's tRPC client sees it: one run, and its planned deactivations 50 at a time. */
function fakeApi(run: RunDetails) {
  const calls: { path: string; input: unknown }[] = [];
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        calls.push({ path: op.path, input: op.input });
        let answer: unknown;
        if (op.path === 'runs.get') answer = run;
        if (op.path === 'runs.plannedDeactivations') {
          const { cursor } = op.input as { cursor: string | null };
          const start = cursor === null ? 0 : PLANNED.findIndex((user) => user.userId === cursor) + 1;
          const users = PLANNED.slice(start, start + 50);
          answer = {
            users,
            nextCursor: start + 50 < PLANNED.length ? users[users.length - 1]!.userId : null,
          };
        }
        void Promise.resolve().then(() => {
          observer.next({ result: { type: 'data', data: answer } });
          observer.complete();
        });
        return () => {};
      });
  return { link, calls };
}

function openDrawer(run: RunDetails) {
  const api = fakeApi(run);
  const trpcClient = createTRPCClient<AppRouter>({ links: [api.link] });
  const queryClient = createQueryClient(() => {});
  render(
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <RunDetailsDrawer runId={run.id} timeZone="Europe/London" onClose={() => {}} />
      </TRPCProvider>
    </QueryClientProvider>,
  );
  return api;
}

afterEach(cleanup);

describe('the details of a run blocked by the deactivation threshold', () => {
  it('lists the users it would have deactivated, a page at a time, and says it is not approved yet', async () => {
    const api = openDrawer(BLOCKED);
    const named = { name: 'Users this sync would have deactivated' };
    const list = await screen.findByRole('table', named);
    expect(within(list).getAllByRole('row')).toHaveLength(1 + 50);
    expect(within(list).getByText('person.1@acme.example')).toBeTruthy();
    expect(within(list).getByText('No longer in the directory')).toBeTruthy();
    expect(screen.getByText('Showing 50 of 60')).toBeTruthy();
    expect(screen.getByTestId('approval').textContent).toMatch(/^Not approved\./);

    await userEvent.setup().click(screen.getByRole('button', { name: 'Show more' }));
    await screen.findByText('person.60@acme.example');
    expect(within(screen.getByRole('table', named)).getAllByRole('row')).toHaveLength(1 + 60);
    expect(screen.getByText('Showing 60 of 60')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Show more' })).toBeNull();
    // Read from the stored plan, never offered as a log download.
    expect(screen.getByText('This sync has no log to download.')).toBeTruthy();
    expect(api.calls.filter((call) => call.path === 'runs.plannedDeactivations')).toHaveLength(2);
  });

  it('says when support approved it and by whom, with the reason', async () => {
    openDrawer({ ...BLOCKED, approval: APPROVAL });
    const note = await screen.findByTestId('approval');
    expect(note.textContent).toBe(
      'Approved by Sam Support at 9:30 am 1 Dec 2026: “HR confirmed the leavers”.',
    );
  });
});

describe('the details of a run queued by support’s approval', () => {
  it('shows its trigger as approved by support, with the reason', async () => {
    const api = openDrawer({
      ...BLOCKED,
      id: '00000000-0000-4000-8000-000000000102',
      status: 'success',
      trigger: 'approval',
      errorSummary: null,
      threshold: null,
      logKind: 'result',
      triggerApproval: {
        ...APPROVAL,
        usedByRunId: '00000000-0000-4000-8000-000000000102',
        outcome: 'applied',
      },
    });
    const trigger = await screen.findByTestId('trigger');
    expect(trigger.textContent).toBe('Approved by support (HR confirmed the leavers)');
    expect(screen.queryByRole('heading', { name: 'Users this sync would have deactivated' })).toBeNull();
    expect(api.calls.map((call) => call.path)).toEqual(['runs.get']);
  });
});

describe('the source a run read', () => {
  const SHA = 'a3f1c09be4d2'.padEnd(64, '7');
  const SOURCE = {
    connector: 'google-workspace',
    origin: 'https://admin.googleapis.com/admin/directory/v1/users?domain=acme.example',
    sha256: SHA,
    bytes: 1_572_864,
    records: 1_200,
    pages: 3,
    leftOutInactive: 14,
  } as const;
  const SUCCESS: RunDetails = {
    ...BLOCKED,
    status: 'success',
    connector: 'google-workspace',
    errorSummary: null,
    threshold: null,
    logKind: 'result',
    source: SOURCE,
  };

  it('shows connector, origin, records, size and a short SHA-256, the whole in its title and copied by the button', async () => {
    const user = userEvent.setup();
    openDrawer(SUCCESS);
    const section = await screen.findByRole('region', { name: 'Source' });
    const facts = Object.fromEntries(
      within(section)
        .getAllByRole('term')
        .map((term) => [term.textContent, term.nextElementSibling?.textContent]),
    );
    expect(facts).toEqual({
      Connector: 'Google Workspace',
      Origin: SOURCE.origin,
      Records: '1,200 from 3 pages (14 inactive left out)',
      Size: '1.5 MB',
      'SHA-256': 'a3f1c09be4d2… Copy SHA-256',
    });
    expect(within(section).getByTitle(SHA).textContent).toBe('a3f1c09be4d2…');

    await user.click(within(section).getByRole('button', { name: 'Copy SHA-256' }));
    expect(await navigator.clipboard.readText()).toBe(SHA);
    expect(within(section).getByRole('status').textContent).toBe(' Copied');
  });

  it('leaves pages and inactive people out for a file', async () => {
    openDrawer({
      ...SUCCESS,
      connector: 'sftp',
      source: {
        connector: 'sftp',
        origin: 'sftp://files.acme.example/outbound/employees.csv',
        sha256: SHA,
        bytes: 900,
        records: 7,
      },
    });
    const section = await screen.findByRole('region', { name: 'Source' });
    expect(within(section).getByText('7').tagName).toBe('DD');
    expect(within(section).getByText('900 bytes')).toBeTruthy();
  });

  it('has no source section for a run that has no fingerprint', async () => {
    openDrawer({ ...SUCCESS, source: null });
    await screen.findByTestId('trigger');
    expect(screen.queryByRole('region', { name: 'Source' })).toBeNull();
  });
});

describe('the details of a run whose log retention deleted', () => {
  const SUCCEEDED: RunDetails = {
    ...BLOCKED,
    id: '00000000-0000-4000-8000-000000000103',
    status: 'success',
    errorSummary: null,
    threshold: null,
    logKind: 'result',
  };

  it('offers its log for download while it is kept', async () => {
    openDrawer(SUCCEEDED);
    expect(await screen.findByRole('link', { name: 'Download sync log (CSV)' })).toBeTruthy();
    expect(screen.queryByTestId('log-purged')).toBeNull();
  });

  it('offers no download once it is deleted, and says when and under which policy, in the organisation’s time zone', async () => {
    // 23:30 UTC on 2 March is already 3 March in Kolkata, but not in London (the drawer's zone here).
    openDrawer({
      ...SUCCEEDED,
      logKind: null,
      logPurge: { purgedAt: '2027-03-02T23:30:00.000Z', retentionDays: 90 },
    });
    const reason = await screen.findByTestId('log-purged');
    expect(reason.textContent).toBe('This log was deleted on 2 Mar 2027 under the 90-day retention policy.');
    expect(screen.queryByRole('link', { name: /Download/ })).toBeNull();
  });
});
