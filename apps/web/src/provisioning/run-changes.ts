import type { RunListFilter, RunListRow } from '@provisioning/shared';
import type { InfiniteData } from '@tanstack/react-query';
import type { RouterOutputs } from '../api/trpc.ts';

export type RunsPage = RouterOutputs['runs']['list'];
export type RunsData = InfiniteData<RunsPage, unknown>;

/** Whether a run passes the filters the page can check by itself (status, source, configuration). */
function passesFilter(filter: RunListFilter, run: RunListRow): boolean {
  if (filter.configurationId && filter.configurationId !== run.configurationId) return false;
  if (filter.sources.length > 0 && !filter.sources.includes(run.connector)) return false;
  if (filter.statuses.length > 0 && !filter.statuses.includes(run.status)) return false;
  return true;
}

export type RunChangeOutcome =
  /** The loaded pages, with the change applied (or unchanged when the run does not belong to them). */
  | { kind: 'updated'; data: RunsData }
  /** Where the run goes depends on what only the server knows (a custom range, a page not loaded yet). */
  | { kind: 'refetch' };

/**
 * One pushed run change applied to the loaded pages of a runs list, without a round trip where the page
 * can tell where the run belongs: a run already shown is replaced in place (or leaves, when it no longer
 * passes the filters); a run newer than every row goes on top of a newest-first list, or at the end
 * of a fully loaded oldest-first one.
 */
export function applyRunChange(data: RunsData, filter: RunListFilter, run: RunListRow): RunChangeOutcome {
  const belongs = passesFilter(filter, run);
  const pageIndex = data.pages.findIndex((page) => page.runs.some((row) => row.id === run.id));
  if (pageIndex >= 0) {
    const pages = data.pages.map((page, index) =>
      index !== pageIndex
        ? page
        : {
            ...page,
            runs: belongs
              ? page.runs.map((row) => (row.id === run.id ? run : row))
              : page.runs.filter((row) => row.id !== run.id),
          },
    );
    return { kind: 'updated', data: { ...data, pages } };
  }
  if (!belongs) return { kind: 'updated', data };
  // Date presets end today, so a new run always falls inside them; a custom range may have ended.
  if (filter.range === 'custom') return { kind: 'refetch' };

  const rows = data.pages.flatMap((page) => page.runs);
  const newest = filter.sort === 'newest' ? rows[0] : rows.at(-1);
  const newerThanAll = newest === undefined || isAtOrAfter(run, newest);
  if (!newerThanAll) return { kind: 'refetch' };
  if (filter.sort === 'newest') {
    const [first, ...rest] = data.pages;
    const firstPage = first ?? { runs: [], nextCursor: null };
    return {
      kind: 'updated',
      data: { ...data, pages: [{ ...firstPage, runs: [run, ...firstPage.runs] }, ...rest] },
    };
  }
  const last = data.pages.at(-1);
  // Oldest first with more pages to load: the run arrives with the last page.
  if (last && last.nextCursor !== null) return { kind: 'updated', data };
  const pages = last
    ? [...data.pages.slice(0, -1), { ...last, runs: [...last.runs, run] }]
    : [{ runs: [run], nextCursor: null }];
  return { kind: 'updated', data: { ...data, pages } };
}

/** Lists are ordered by queue time, then ID (the server's keyset order). */
function isAtOrAfter(run: RunListRow, other: RunListRow): boolean {
  const a = Date.parse(run.queuedAt);
  const b = Date.parse(other.queuedAt);
  return a > b || (a === b && run.id >= other.id);
}
