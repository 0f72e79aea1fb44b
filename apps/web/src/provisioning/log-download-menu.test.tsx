// @vitest-environment happy-dom
import type { RunListRow } from '@provisioning/shared';
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { LogDownloadMenu } from './log-download-menu.tsx';

const RUN: RunListRow = {
  id: '00000000-0000-4000-8000-000000000201',
  status: 'needs_attention',
  trigger: 'schedule',
  configurationId: '00000000-0000-4000-8000-0000000000c0',
  configurationName: 'Nightly HR file',
  connector: 'sftp',
  queuedAt: '2026-12-01T08:00:00.000Z',
  startedAt: '2026-12-01T08:00:01.000Z',
  finishedAt: '2026-12-01T08:00:05.000Z',
  durationMs: 4000,
  progress: { read: 10, planned: 10, applied: 10 },
  logKind: 'result',
  logPurge: null,
};

afterEach(cleanup);

describe('the Log cell of the runs table', () => {
  it('is a Download menu while the run’s log is kept', () => {
    render(<LogDownloadMenu run={RUN} context="the sync" timeZone="UTC" />);
    expect(screen.getByRole('button', { name: 'Download sync log of the sync' })).toBeTruthy();
    expect(screen.queryByTestId('log-purged')).toBeNull();
  });

  it('has no Download menu once retention deleted the log, and says why in the organisation’s time zone', () => {
    render(
      <LogDownloadMenu
        run={{
          ...RUN,
          logKind: null,
          logPurge: { purgedAt: '2027-03-02T23:30:00.000Z', retentionDays: 90 },
        }}
        context="the sync"
        timeZone="Asia/Kolkata"
      />,
    );
    expect(screen.queryByRole('button', { name: /Download/ })).toBeNull();
    const cell = screen.getByTestId('log-purged');
    expect(cell.textContent).toBe(
      'Deleted: This log was deleted on 3 Mar 2027 under the 90-day retention policy.',
    );
    expect(cell.getAttribute('title')).toBe(
      'This log was deleted on 3 Mar 2027 under the 90-day retention policy.',
    );
  });
});
