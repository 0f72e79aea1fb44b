import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { lazy, type ReactNode, Suspense, useCallback, useMemo, useRef } from 'react';
import { accessDenialOf, errorMessage, type Me, useTRPC, useTRPCClient } from '../api/trpc.ts';
import { navigate, useLocation } from '../navigation/location.ts';
import { ActiveFilters } from './active-filters.tsx';
import { LiveIndicator, useLiveRuns } from './live-runs.tsx';
import { useRunFilter } from './run-filter-state.ts';
import { DEFAULT_FILTER, hasActiveFilters } from './run-filter-url.ts';
import { RunFilters } from './run-filters.tsx';
import { runsQueryOptions } from './runs-query.ts';
import { RunsTable, RunsTableSkeleton } from './runs-table.tsx';

const RunDetailsDrawer = lazy(() => import('./run-details-drawer.tsx'));

/** The URL parameter of the run whose details are open. */
const RUN_PARAM = 'run';

/** User Provisioning: the organisation's sync runs, live, filtered by the URL, with details and logs. */
export function ProvisioningPage({ me }: { me: Me }) {
  const trpc = useTRPC();
  const { pathname, search } = useLocation();
  const { filter, setFilter, ignored, dismissIgnored } = useRunFilter();
  const live = useLiveRuns();
  const resultsHeading = useRef<HTMLHeadingElement>(null);
  const timeZone = me.organisation.timeZone;

  const configurations = useQuery(trpc.configurations.list.queryOptions());
  const client = useTRPCClient();
  const runs = useInfiniteQuery(runsQueryOptions(trpc, client, filter));

  const configurationName = useCallback(
    (id: string) => configurations.data?.find((configuration) => configuration.id === id)?.name,
    [configurations.data],
  );
  const openRunId = new URLSearchParams(search).get(RUN_PARAM);
  const detailsHref = useCallback(
    (runId: string) => {
      const params = new URLSearchParams(search);
      params.set(RUN_PARAM, runId);
      return `${pathname}?${params}`;
    },
    [pathname, search],
  );
  const closeDetails = useCallback(() => {
    const params = new URLSearchParams(window.location.search);
    params.delete(RUN_PARAM);
    const rest = params.toString();
    navigate(`${window.location.pathname}${rest ? `?${rest}` : ''}`);
  }, []);
  const rows = useMemo(() => runs.data?.pages.flatMap((page) => page.runs) ?? [], [runs.data]);
  const filtered = hasActiveFilters(filter);

  let results: ReactNode;
  if (runs.isPending) {
    results = (
      <>
        <p className="visually-hidden" role="status">
          Loading syncs…
        </p>
        <RunsTableSkeleton />
      </>
    );
  } else if (runs.isError && !runs.data) {
    results = (
      <div className="notice notice-error" role="alert">
        <h3 className="notice-title">The syncs could not be loaded</h3>
        <p>{errorMessage(runs.error)}</p>
        {accessDenialOf(runs.error) === null && (
          <button type="button" className="button" onClick={() => runs.refetch()}>
            Try again
          </button>
        )}
      </div>
    );
  } else if (rows.length === 0) {
    results = filtered ? (
      <div className="empty-state" data-empty="filtered">
        <h3>No syncs match these filters</h3>
        <p>Try a longer date range or fewer statuses.</p>
        <button type="button" className="button" onClick={() => setFilter(DEFAULT_FILTER)}>
          Clear filters
        </button>
      </div>
    ) : (
      <div className="empty-state" data-empty="none">
        <h3>No syncs yet</h3>
        <p>
          Syncs appear here as soon as one of your organisation’s sync configurations runs. Support sets up
          configurations; ask them if you expected one here.
        </p>
      </div>
    );
  } else {
    results = (
      <>
        {runs.isError && (
          <div className="notice notice-error" role="alert">
            <p>
              {runs.isFetchNextPageError
                ? 'More syncs could not be loaded'
                : 'The syncs could not be refreshed'}
              : {errorMessage(runs.error)}
            </p>
            <button
              type="button"
              className="button"
              onClick={() => (runs.isFetchNextPageError ? runs.fetchNextPage() : runs.refetch())}
            >
              Try again
            </button>
          </div>
        )}
        <RunsTable runs={rows} timeZone={timeZone} detailsHref={detailsHref} busy={runs.isPlaceholderData} />
        <div className="table-footer">
          <p className="muted" aria-live="polite">
            {runs.hasNextPage
              ? `Showing the first ${rows.length} syncs`
              : `${rows.length} ${rows.length === 1 ? 'sync' : 'syncs'}`}
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
      </>
    );
  }

  return (
    <section className="page" aria-labelledby="page-heading">
      <header className="page-header">
        <div>
          <p className="eyebrow">Blink Identity</p>
          <h1 id="page-heading">User Provisioning</h1>
          <p className="page-lead">
            Each sync brings your user directory in step with your HR or identity source. Times are in{' '}
            {timeZone}.
          </p>
        </div>
        <LiveIndicator state={live.state} onRetry={live.retry} />
      </header>

      {ignored.length > 0 && (
        <div className="notice notice-warning" role="status">
          <p className="notice-title">Some filters in the link could not be used and were left out:</p>
          <ul>
            {ignored.map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
          <button type="button" className="button button-link" onClick={dismissIgnored}>
            Dismiss
          </button>
        </div>
      )}

      <RunFilters filter={filter} configurations={configurations.data} onChange={setFilter} />
      <ActiveFilters
        filter={filter}
        configurationName={configurationName}
        onChange={setFilter}
        onEmptied={() => resultsHeading.current?.focus()}
      />

      <h2 id="results-heading" className="visually-hidden" tabIndex={-1} ref={resultsHeading}>
        Syncs
      </h2>
      {results}

      {openRunId && (
        <Suspense fallback={null}>
          <RunDetailsDrawer runId={openRunId} timeZone={timeZone} onClose={closeDetails} />
        </Suspense>
      )}
    </section>
  );
}
