import type { RunListRow, RunStatus } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { applyRunChange, type RunsData } from './run-changes.ts';
import { DEFAULT_FILTER } from './run-filter-url.ts';

const CONFIG_A = '00000000-0000-4000-8000-00000000000a';
const CONFIG_B = '00000000-0000-4000-8000-00000000000b';

function row(
  id: string,
  queuedAt: string,
  status: RunStatus = 'success',
  configurationId = CONFIG_A,
): RunListRow {
  return {
    id,
    status,
    trigger: 'schedule',
    configurationId,
    configurationName: configurationId === CONFIG_A ? 'A' : 'B',
    connector: 'sftp',
    queuedAt,
    startedAt: queuedAt,
    finishedAt: null,
    durationMs: null,
    progress: { read: 0, planned: 0, applied: 0 },
    logKind: null,
    logPurge: null,
  };
}

const older = row('r1', '2024-01-01T10:00:00.000Z');
const newer = row('r2', '2024-01-02T10:00:00.000Z');

function pages(...lists: { runs: RunListRow[]; nextCursor: string | null }[]): RunsData {
  return { pages: lists, pageParams: lists.map((_, index) => (index === 0 ? null : `c${index}`)) };
}

const ids = (outcome: ReturnType<typeof applyRunChange>) =>
  outcome.kind === 'updated'
    ? outcome.data.pages.map((page) => page.runs.map((run) => `${run.id}:${run.status}`))
    : outcome.kind;

describe('applyRunChange', () => {
  it('replaces a shown run in place with its new state', () => {
    const data = pages({ runs: [newer, older], nextCursor: null });
    const outcome = applyRunChange(data, DEFAULT_FILTER, { ...older, status: 'in_progress' });
    expect(ids(outcome)).toEqual([['r2:success', 'r1:in_progress']]);
  });

  it('takes a shown run out when it leaves the status filter', () => {
    const filter = { ...DEFAULT_FILTER, statuses: ['in_progress' as const] };
    const running = { ...older, status: 'in_progress' as const };
    const outcome = applyRunChange(pages({ runs: [running], nextCursor: null }), filter, {
      ...older,
      status: 'success',
    });
    expect(ids(outcome)).toEqual([[]]);
  });

  it('puts a new run on top of a newest-first list', () => {
    const queued = row('r3', '2024-01-03T10:00:00.000Z', 'queued');
    const outcome = applyRunChange(
      pages({ runs: [newer, older], nextCursor: 'x' }, { runs: [], nextCursor: null }),
      DEFAULT_FILTER,
      queued,
    );
    expect(ids(outcome)).toEqual([['r3:queued', 'r2:success', 'r1:success'], []]);
  });

  it('shows the first run of an empty history', () => {
    const queued = row('r3', '2024-01-03T10:00:00.000Z', 'queued');
    expect(ids(applyRunChange(pages({ runs: [], nextCursor: null }), DEFAULT_FILTER, queued))).toEqual([
      ['r3:queued'],
    ]);
  });

  it('appends a new run to a fully loaded oldest-first list, and leaves it for a page not loaded yet', () => {
    const queued = row('r3', '2024-01-03T10:00:00.000Z', 'queued');
    const filter = { ...DEFAULT_FILTER, sort: 'oldest' as const };
    expect(ids(applyRunChange(pages({ runs: [older, newer], nextCursor: null }), filter, queued))).toEqual([
      ['r1:success', 'r2:success', 'r3:queued'],
    ]);
    expect(ids(applyRunChange(pages({ runs: [older, newer], nextCursor: 'more' }), filter, queued))).toEqual([
      ['r1:success', 'r2:success'],
    ]);
  });

  it('ignores a run of another configuration or status than the filter’s', () => {
    const data = pages({ runs: [newer], nextCursor: null });
    const byConfiguration = { ...DEFAULT_FILTER, configurationId: CONFIG_A };
    expect(
      ids(applyRunChange(data, byConfiguration, row('r9', '2024-02-01T00:00:00.000Z', 'queued', CONFIG_B))),
    ).toEqual([['r2:success']]);
    const byStatus = { ...DEFAULT_FILTER, statuses: ['success' as const] };
    expect(ids(applyRunChange(data, byStatus, row('r9', '2024-02-01T00:00:00.000Z', 'queued')))).toEqual([
      ['r2:success'],
    ]);
  });

  it('ignores a new run of another source than the filter’s, and puts one of a chosen source on top', () => {
    const data = pages({ runs: [newer], nextCursor: null });
    const bySource = { ...DEFAULT_FILTER, sources: ['workday' as const, 'google-workspace' as const] };
    const fromFile = row('r9', '2024-02-01T00:00:00.000Z', 'queued');
    expect(ids(applyRunChange(data, bySource, fromFile))).toEqual([['r2:success']]);
    const fromWorkday = { ...fromFile, connector: 'workday' as const };
    expect(ids(applyRunChange(data, bySource, fromWorkday))).toEqual([['r9:queued', 'r2:success']]);
  });

  it('asks for a refetch when only the server can tell where the run goes', () => {
    const data = pages({ runs: [newer], nextCursor: null });
    const custom = { ...DEFAULT_FILTER, range: 'custom' as const, from: '2024-01-01', to: '2024-01-31' };
    expect(applyRunChange(data, custom, row('r9', '2024-01-05T00:00:00.000Z', 'queued')).kind).toBe(
      'refetch',
    );
    // An older run entering the status filter belongs somewhere in the middle.
    const byStatus = { ...DEFAULT_FILTER, statuses: ['success' as const] };
    expect(applyRunChange(data, byStatus, row('r0', '2023-12-01T00:00:00.000Z', 'success')).kind).toBe(
      'refetch',
    );
  });
});
