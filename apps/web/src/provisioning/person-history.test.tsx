// @vitest-environment happy-dom
import type { PersonHistoryEntry, PersonHistoryPage } from '@provisioning/shared';
import { PERSON_HISTORY_PAGE_SIZE, PERSON_KEY_MAX } from '@provisioning/shared';
import { QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createTRPCClient, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AppRouter, createQueryClient, TRPCProvider } from '../api/trpc.ts';
import { navigate } from '../navigation/location.ts';
import { FindPerson } from './person-history.tsx';
import { useRunDetailsParam } from './use-run-details-param.ts';

const RUN = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Jane's history: an update, then 29 older creates, newest first. */
const JANE: PersonHistoryEntry[] = Array.from({ length: 30 }, (_, i) => ({
  run: {
    id: RUN(i + 1),
    queuedAt: '2026-12-01T22:29:58.000Z',
    startedAt: `2026-12-01T22:${String(30 - i).padStart(2, '0')}:00.000Z`,
    status: i === 0 ? 'needs_attention' : 'success',
    configurationName: 'Nightly HR file',
    connector: 'sftp',
  },
  seq: 1,
  externalId: 'e100',
  email: 'jane.doe@example.com',
  name: 'Jane Doe',
  action: i === 0 ? 'update' : 'create',
  outcome: i === 0 ? 'warning' : 'applied',
  changes: i === 0 ? { department: { before: 'Sales', after: 'Marketing' } } : null,
  message: i === 0 ? 'Manager email "x" is not a valid email address' : null,
}));

/** The API as the panel's tRPC client sees it: Jane's history by email or external ID, a page at a time. */
function fakeApi() {
  const calls: { query: string; cursor: string | null }[] = [];
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        const input = op.input as { query: string; cursor: string | null };
        calls.push(input);
        const start = input.cursor === null ? 0 : Number(input.cursor);
        const known = ['jane.doe@example.com', 'e100'].includes(input.query.toLowerCase());
        const entries = known ? JANE.slice(start, start + PERSON_HISTORY_PAGE_SIZE) : [];
        const next = start + PERSON_HISTORY_PAGE_SIZE;
        const answer: PersonHistoryPage = {
          query: input.query,
          entries,
          nextCursor: known && next < JANE.length ? String(next) : null,
        };
        void Promise.resolve().then(() => {
          observer.next({ result: { type: 'data', data: answer } });
          observer.complete();
        });
        return () => {};
      });
  return { link, calls };
}

function Page() {
  const { detailsHref } = useRunDetailsParam();
  return <FindPerson timeZone="Europe/London" detailsHref={detailsHref} />;
}

function renderAt(url: string) {
  navigate(url, { replace: true });
  const api = fakeApi();
  const trpcClient = createTRPCClient<AppRouter>({ links: [api.link] });
  const queryClient = createQueryClient(() => {});
  render(
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <Page />
      </TRPCProvider>
    </QueryClientProvider>,
  );
  return api;
}

const search = () => new URLSearchParams(window.location.search);

beforeEach(() => navigate('/provisioning', { replace: true }));
afterEach(cleanup);

describe('Find a person', () => {
  it('puts the trimmed query in the URL beside the filters and lists the person’s syncs, newest first', async () => {
    const api = renderAt('/provisioning?status=success');
    const user = userEvent.setup();
    await user.type(screen.getByRole('searchbox', { name: 'Find a person' }), '  jane.doe@example.com ');
    await user.click(screen.getByRole('button', { name: 'Find' }));

    expect(search().get('person')).toBe('jane.doe@example.com');
    expect(search().get('status')).toBe('success');
    const list = await screen.findByRole('list', {
      name: /Syncs that changed or skipped “jane.doe@example.com”/,
    });
    const entries = within(list)
      .getAllByRole('listitem')
      .filter((item) => item.parentElement === list);
    expect(entries).toHaveLength(PERSON_HISTORY_PAGE_SIZE);
    const newest = entries[0]!;
    expect(newest.textContent).toContain('Updated · Warning · Jane Doe');
    // 22:30 UTC is 10:30 pm in London in December.
    expect(newest.textContent).toContain(
      '1 Dec 2026 10:30 pm · Nightly HR file · SFTP Sync · Needs Attention',
    );
    expect(within(newest).getByRole('listitem').textContent).toBe('Department: Sales → Marketing');
    expect(newest.textContent).toContain('Manager email "x" is not a valid email address');
    expect(api.calls[0]).toEqual({ query: 'jane.doe@example.com', cursor: null });

    await user.click(screen.getByRole('button', { name: 'Show older' }));
    await screen.findByText((_, element) => element?.getAttribute('datetime') === JANE[29]!.run.startedAt);
    expect(screen.queryByRole('button', { name: 'Show older' })).toBeNull();
  });

  it('links each entry to its run’s details, keeping the person open', async () => {
    renderAt('/provisioning?person=E100');
    const links = await screen.findAllByRole('link', { name: /View the Nightly HR file sync of/ });
    await userEvent.setup().click(links[0]!);
    expect(search().get('run')).toBe(RUN(1));
    expect(search().get('person')).toBe('E100');
  });

  it('says what was searched when no sync changed anyone with it', async () => {
    renderAt('/provisioning?person=nobody%40example.com');
    const status = await screen.findByText(/No sync has created, updated/);
    expect(status.textContent).toContain('“nobody@example.com”');
    expect(screen.getByRole('heading', { name: 'History of “nobody@example.com”' })).toBeTruthy();
  });

  it('closes the history and takes the person out of the URL', async () => {
    renderAt('/provisioning?person=E100&status=success');
    await screen.findAllByRole('link', { name: /View the Nightly HR file sync/ });
    await userEvent.setup().click(screen.getByRole('button', { name: 'Close' }));
    expect(search().get('person')).toBeNull();
    expect(search().get('status')).toBe('success');
    expect(screen.queryByRole('heading', { name: /History of/ })).toBeNull();
  });

  it.each([
    ['blank', '   ', 'Enter an email or external ID'],
    ['too long', 'x'.repeat(PERSON_KEY_MAX + 1), `at most ${PERSON_KEY_MAX} characters`],
  ])('refuses a %s entry with a message, and searches nothing', async (_name, text, message) => {
    const api = renderAt('/provisioning');
    const user = userEvent.setup();
    const field = screen.getByRole('searchbox', { name: 'Find a person' });
    await act(async () => {
      // Typing 321 characters one by one is slow; the field takes the value as a paste would.
      field.focus();
      await user.paste(text);
    });
    await user.click(screen.getByRole('button', { name: 'Find' }));
    expect(screen.getByRole('alert').textContent).toContain(message);
    expect(search().get('person')).toBeNull();
    expect(api.calls).toEqual([]);
  });

  it('says why a person in a link cannot be searched (10 KB, NUL) without asking the API', async () => {
    const api = renderAt(`/provisioning?person=${'x'.repeat(10_240)}`);
    expect((await screen.findByRole('alert')).textContent).toContain(`at most ${PERSON_KEY_MAX} characters`);
    cleanup();
    renderAt('/provisioning?person=jane%00doe');
    expect((await screen.findByRole('alert')).textContent).toContain('no control characters');
    expect(api.calls).toEqual([]);
  });
});
