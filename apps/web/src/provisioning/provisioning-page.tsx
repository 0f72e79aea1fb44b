import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useCallback, useRef } from 'react';
import { type Me, useTRPC } from '../api/trpc.ts';
import { ActiveFilters } from './active-filters.tsx';
import { LiveIndicator, type LiveState, useLiveRuns } from './live-runs.tsx';
import { FindPerson } from './person-history.tsx';
import { useRunFilter } from './run-filter-state.ts';
import { RunFilters } from './run-filters.tsx';
import { RunResults } from './run-results.tsx';
import { useRunDetailsParam } from './use-run-details-param.ts';

const RunDetailsDrawer = lazy(() => import('./run-details-drawer.tsx'));

/** User Provisioning: the organisation's sync runs, live, filtered by the URL, with details and logs. */
export function ProvisioningPage({ me }: { me: Me }) {
  const timeZone = me.organisation.timeZone;
  const { filter, setFilter, ignored, dismissIgnored } = useRunFilter();
  const live = useLiveRuns();
  const configurations = useConfigurations();
  const { openRunId, detailsHref, closeDetails } = useRunDetailsParam();
  // Where focus goes when the last active filter is removed, so that it does not fall to the page.
  const resultsHeading = useRef<HTMLHeadingElement>(null);

  return (
    <section className="page" aria-labelledby="page-heading">
      <PageHeader timeZone={timeZone} live={live} />
      <IgnoredFiltersNotice messages={ignored} onDismiss={dismissIgnored} />

      <FindPerson timeZone={timeZone} detailsHref={detailsHref} />

      <RunFilters filter={filter} configurations={configurations.list} onChange={setFilter} />
      <ActiveFilters
        filter={filter}
        configurationName={configurations.nameOf}
        onChange={setFilter}
        onEmptied={() => resultsHeading.current?.focus()}
      />

      <h2 id="results-heading" className="visually-hidden" tabIndex={-1} ref={resultsHeading}>
        Syncs
      </h2>
      <RunResults filter={filter} onFilterChange={setFilter} timeZone={timeZone} detailsHref={detailsHref} />

      {openRunId && (
        <Suspense fallback={null}>
          <RunDetailsDrawer runId={openRunId} timeZone={timeZone} onClose={closeDetails} />
        </Suspense>
      )}
    </section>
  );
}

/** The organisation's sync configurations, for the filters and for naming them in the filter pills. */
function useConfigurations() {
  const trpc = useTRPC();
  const { data: list } = useQuery(trpc.configurations.list.queryOptions());
  const nameOf = useCallback(
    (id: string) => list?.find((configuration) => configuration.id === id)?.name,
    [list],
  );
  return { list, nameOf };
}

function PageHeader({ timeZone, live }: { timeZone: string; live: { state: LiveState; retry: () => void } }) {
  return (
    <header className="page-header">
      <div>
        <p className="eyebrow">Blink Identity</p>
        <h1 id="page-heading">User Provisioning</h1>
        <p className="page-lead">
          Each sync brings your user directory in step with your HR or identity source. Times are in{' '}
          {timeZone}.
        </p>
        <p className="page-lead page-scope">
          This page lists automated syncs only. Manual bulk uploads are on the <strong>Bulk Update</strong>{' '}
          page in the Users section.
        </p>
      </div>
      <LiveIndicator state={live.state} onRetry={live.retry} />
    </header>
  );
}

/** Filters from a link that the page could not use, said once rather than silently dropped. */
function IgnoredFiltersNotice({ messages, onDismiss }: { messages: string[]; onDismiss: () => void }) {
  if (messages.length === 0) return null;
  return (
    <div className="notice notice-warning" role="status">
      <p className="notice-title">Some filters in the link could not be used and were left out:</p>
      <ul>
        {messages.map((message) => (
          <li key={message}>{message}</li>
        ))}
      </ul>
      <button type="button" className="button button-link" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
