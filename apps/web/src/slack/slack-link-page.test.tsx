// @vitest-environment happy-dom

import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createTRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppRouter, createQueryClient, type Me, TRPCProvider } from '../api/trpc.ts';
import { SlackLinkPage } from './slack-link-page.tsx';

const ADMIN: Me = {
  account: { id: '00000000-0000-4000-8000-000000000001', email: 'pat@acme.example', name: 'Pat' },
  roles: ['people-admin'],
  organisation: { id: '00000000-0000-4000-8000-0000000000aa', name: 'Acme', timeZone: 'UTC' },
  conditions: { roleAllowsProvisioning: true, provisioningEnabled: true, onUserSyncService: true },
  access: { viewProvisioning: { allowed: true }, downloadLogs: { allowed: true } },
};

const CODE = 'a'.repeat(43);

/** The API's confirmLink: answers `result`, or fails with `error`; remembers what it was sent. */
function renderPage(code: string | null, answer: { error?: string }) {
  const calls: unknown[] = [];
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        calls.push({ path: op.path, input: op.input });
        void Promise.resolve().then(() => {
          if (answer.error) {
            observer.error(
              TRPCClientError.from<AppRouter>({
                error: {
                  code: -32009,
                  message: answer.error,
                  data: {
                    code: 'CONFLICT',
                    httpStatus: 409,
                    path: op.path,
                    fieldErrors: null,
                    accessDenial: null,
                  },
                },
              }),
            );
            return;
          }
          observer.next({ result: { type: 'data', data: { teamId: 'T0ACME', slackUserId: 'U0PAT' } } });
          observer.complete();
        });
        return () => {};
      });
  const trpcClient = createTRPCClient<AppRouter>({ links: [link] });
  const queryClient = createQueryClient(() => {});
  render(
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <SlackLinkPage me={ADMIN} code={code} />
      </TRPCProvider>
    </QueryClientProvider>,
  );
  return calls;
}

afterEach(cleanup);

describe('the Slack link page', () => {
  it('links nothing until the signed-in admin confirms, then says so', async () => {
    const calls = renderPage(CODE, {});
    expect(screen.getByText(/as you, Pat \(pat@acme\.example\), of Acme/)).toBeTruthy();
    expect(calls).toEqual([]);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Link my Slack account' }));
    expect((await screen.findByRole('status')).textContent).toContain('Linked.');
    expect(calls).toEqual([{ path: 'slack.confirmLink', input: { code: CODE } }]);
  });

  it('shows why a code was refused', async () => {
    renderPage(CODE, { error: 'This link was already used. Run /sync-logs link in Slack for a new link.' });
    await userEvent.setup().click(screen.getByRole('button', { name: 'Link my Slack account' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'This link was already used. Run /sync-logs link in Slack for a new link.',
    );
  });

  it('says what to do when the address has no code', () => {
    renderPage(null, {});
    expect(screen.getByRole('alert').textContent).toContain('Run /sync-logs link in Slack');
    expect(screen.queryByRole('button')).toBeNull();
  });
});
