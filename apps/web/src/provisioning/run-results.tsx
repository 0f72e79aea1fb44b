import type { RunListFilter } from '@provisioning/shared';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { accessDenialOf, errorMessage, useTRPC, useTRPCClient } from '../api/trpc.ts';
import { DEFAULT_FILTER, hasActiveFilters } from './run-filter-url.ts';
import { runsQueryOptions } from './runs-query.ts';
import { RunsTable, RunsTableSkeleton } from './runs-table.tsx';

type RunsQuery = ReturnType<typeof useRuns>;

/** The runs of a filter, a page at a time, and their rows so far. */
function useRuns(filter: RunListFilter) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const runs = useInfiniteQuery(runsQueryOptions(trpc, client, filter));
  const rows = useMemo(() => runs.data?.pages.flatMap((page) => page.runs) ?? [], [runs.data]);
  return { runs, rows };
}

/**
 * The runs of the filter in one of its states: loading, failed to load, none (at all, or for these
 * filters), or the table with its paging, and a notice above it when a refresh or the next page failed.
 */
export function RunResults({
  filter,
  onFilterChange,
  timeZone,
  detailsHref,
}: {
  filter: RunListFilter;
  onFilterChange: (filter: RunListFilter) => void;
  timeZone: string;
  detailsHref: (runId: string) => string;
}) {
  const { runs, rows } = useRuns(filter);
  if (runs.isPending) return <RunsLoading />;
  if (runs.isError && !runs.data) return <RunsLoadFailed runs={runs} />;
  if (rows.length === 0) {
    return hasActiveFilters(filter) ? (
      <NoMatchingRuns onClearFilters={() => onFilterChange(DEFAULT_FILTER)} />
    ) : (
      <NoRunsYet />
    );
  }
  return (
    <>
      {runs.isError && <RunsRefreshFailed runs={runs} />}
      <RunsTable runs={rows} timeZone={timeZone} detailsHref={detailsHref} busy={runs.isPlaceholderData} />
      <RunsFooter runs={runs} shown={rows.length} />
    </>
  );
}

function RunsLoading() {
  return (
    <>
      <p className="visually-hidden" role="status">
        Loading syncs…
      </p>
      <RunsTableSkeleton />
    </>
  );
}

function RunsLoadFailed({ runs }: { runs: RunsQuery['runs'] }) {
  return (
    <div className="notice notice-error" role="alert">
      <h3 className="notice-title">The syncs could not be loaded</h3>
      <p>{errorMessage(runs.error)}</p>
      {/* Trying again cannot help an account that may not see the page. */}
      {accessDenialOf(runs.error) === null && (
        <button type="button" className="button" onClick={() => runs.refetch()}>
          Try again
        </button>
      )}
    </div>
  );
}

function NoMatchingRuns({ onClearFilters }: { onClearFilters: () => void }) {
  return (
    <div className="empty-state" data-empty="filtered">
      <h3>No syncs match these filters</h3>
      <p>Try a longer date range, or fewer statuses or sources.</p>
      <button type="button" className="button" onClick={onClearFilters}>
        Clear filters
      </button>
    </div>
  );
}

function NoRunsYet() {
  return (
    <div className="empty-state" data-empty="none">
      <h3>No syncs yet</h3>
      <p>
        Syncs appear here as soon as one of your organisation’s sync configurations runs. Support sets up
        configurations; ask them if you expected one here.
      </p>
    </div>
  );
}

/** The rows already shown stay; only the refresh or the next page failed. */
function RunsRefreshFailed({ runs }: { runs: RunsQuery['runs'] }) {
  return (
    <div className="notice notice-error" role="alert">
      <p>
        {runs.isFetchNextPageError ? 'More syncs could not be loaded' : 'The syncs could not be refreshed'}:{' '}
        {errorMessage(runs.error)}
      </p>
      <button
        type="button"
        className="button"
        onClick={() => (runs.isFetchNextPageError ? runs.fetchNextPage() : runs.refetch())}
      >
        Try again
      </button>
    </div>
  );
}

function RunsFooter({ runs, shown }: { runs: RunsQuery['runs']; shown: number }) {
  return (
    <div className="table-footer">
      <p className="muted" aria-live="polite">
        {runs.hasNextPage ? `Showing the first ${shown} syncs` : `${shown} ${shown === 1 ? 'sync' : 'syncs'}`}
      </p>
      {runs.hasNextPage && (
        <button
          type="button"
          className="button"
          onClick={() => runs.fetchNextPage()}
          disabled={runs.isFetchingNextPage}
        >
          {runs.isFetchingNextPage ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}
