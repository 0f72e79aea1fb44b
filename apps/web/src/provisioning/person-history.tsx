import {
  ACTION_LABELS,
  CONNECTOR_LABELS,
  DIRECTORY_FIELD_LABELS,
  type FieldChanges,
  formatDateTime,
  OUTCOME_LABELS,
  PersonHistoryInputSchema,
  RUN_STATUS_INFO,
} from '@provisioning/shared';
import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import { type FormEvent, useCallback, useEffect, useMemo, useState } from 'react';
import { errorMessage, useTRPC, useTRPCClient } from '../api/trpc.ts';
import { handleLinkClick, navigate, useLocation } from '../navigation/location.ts';
import { runStartTime } from './runs-table.tsx';

/** The URL parameter of the person whose history is open: kept like the filters, so a link reopens it. */
const PERSON_PARAM = 'person';

const queryField = PersonHistoryInputSchema.shape.query;

/**
 * "Find a person" and, once searched, their history across runs. The person is in the URL (`?person=`)
 * like the filters, so a link or a reload reopens it; each entry links to its run's details (`?run=`).
 */
export function FindPerson({
  timeZone,
  detailsHref,
}: {
  timeZone: string;
  detailsHref: (runId: string) => string;
}) {
  const { person, setPerson } = usePersonParam();
  return (
    <>
      <PersonSearch person={person} onSearch={setPerson} />
      {person !== null && (
        <PersonHistoryPanel
          person={person}
          timeZone={timeZone}
          detailsHref={detailsHref}
          onClose={() => setPerson(null)}
        />
      )}
    </>
  );
}

/** The person searched for (`?person=`) and setting or clearing it; Back undoes either. */
function usePersonParam() {
  const { search } = useLocation();
  const person = new URLSearchParams(search).get(PERSON_PARAM);
  const setPerson = useCallback((query: string | null) => {
    // Read at the time of the change: the filters or the open run may have changed the URL since.
    const params = new URLSearchParams(window.location.search);
    if (query === null) params.delete(PERSON_PARAM);
    else params.set(PERSON_PARAM, query);
    const rest = params.toString();
    navigate(`${window.location.pathname}${rest ? `?${rest}` : ''}`);
  }, []);
  return { person, setPerson };
}

/** "Find a person": an exact email or external ID; the history opens below it. */
function PersonSearch({ person, onSearch }: { person: string | null; onSearch: (query: string) => void }) {
  const [value, setValue] = useState(person ?? '');
  const [error, setError] = useState<string | null>(null);
  // A link, Back or Close changes the person: the field shows what is searched.
  useEffect(() => {
    setValue(person ?? '');
    setError(null);
  }, [person]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = queryField.safeParse(value);
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? 'Enter an email or external ID');
      return;
    }
    setError(null);
    onSearch(parsed.data);
  };

  return (
    // biome-ignore lint/a11y/useSemanticElements: <search> is unknown to browsers before 2023 and to happy-dom.
    <form className="person-search" role="search" aria-label="Find a person" onSubmit={submit} noValidate>
      <div className="filter-field">
        <label htmlFor="person-search">Find a person</label>
        <div className="person-search-controls">
          <input
            id="person-search"
            type="search"
            value={value}
            placeholder="Exact email or external ID"
            autoComplete="off"
            spellCheck={false}
            aria-invalid={error !== null || undefined}
            aria-describedby={error ? 'person-search-error' : 'person-search-hint'}
            onChange={(event) => setValue(event.target.value)}
          />
          <button type="submit" className="button">
            Find
          </button>
        </div>
        {error ? (
          <p id="person-search-error" className="field-error" role="alert">
            {error}
          </p>
        ) : (
          <p id="person-search-hint" className="muted small">
            Shows what each sync did to them: created, updated, reactivated, deactivated or skipped.
          </p>
        )}
      </div>
    </form>
  );
}

/** A person's history across runs: the lines of the syncs that changed or skipped them, newest first. */
function PersonHistoryPanel({
  person,
  timeZone,
  detailsHref,
  onClose,
}: {
  person: string;
  timeZone: string;
  detailsHref: (runId: string) => string;
  onClose: () => void;
}) {
  const parsed = queryField.safeParse(person);
  return (
    <section className="person-history" aria-labelledby="person-history-heading">
      <div className="person-history-header">
        <h2 id="person-history-heading" className="section-heading">
          History of “{person}”
        </h2>
        <button type="button" className="button button-quiet" onClick={onClose}>
          Close
        </button>
      </div>
      {parsed.success ? (
        <PersonHistoryEntries query={parsed.data} timeZone={timeZone} detailsHref={detailsHref} />
      ) : (
        <p className="notice notice-error" role="alert">
          “{person.length > 60 ? `${person.slice(0, 60)}…` : person}” cannot be searched:{' '}
          {parsed.error.issues[0]?.message}.
        </p>
      )}
    </section>
  );
}

function PersonHistoryEntries({
  query,
  timeZone,
  detailsHref,
}: {
  query: string;
  timeZone: string;
  detailsHref: (runId: string) => string;
}) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  // The client is called directly: tRPC's infiniteQueryOptions adds a `direction` key the strict input refuses.
  const history = useInfiniteQuery(
    infiniteQueryOptions({
      queryKey: trpc.people.history.infiniteQueryKey({ query }),
      queryFn: ({ pageParam, signal }) =>
        client.people.history.query({ query, cursor: pageParam }, { signal }),
      initialPageParam: null as string | null,
      getNextPageParam: (page) => page.nextCursor,
    }),
  );
  const entries = useMemo(() => history.data?.pages.flatMap((page) => page.entries) ?? [], [history.data]);

  if (history.isPending) {
    return (
      <p className="muted" role="status">
        Searching the syncs for “{query}”…
      </p>
    );
  }
  if (history.isError && entries.length === 0) {
    return (
      <div className="notice notice-error" role="alert">
        <p>
          The history of “{query}” could not be loaded: {errorMessage(history.error)}
        </p>
        <button type="button" className="button" onClick={() => history.refetch()}>
          Try again
        </button>
      </div>
    );
  }
  if (entries.length === 0) {
    return (
      <p className="muted" role="status">
        No sync has created, updated, reactivated, deactivated or skipped anyone with the email or external ID
        “{query}”. The search matches a whole email or external ID, in any case.
      </p>
    );
  }
  return (
    <>
      <ol
        className="person-history-list"
        aria-label={`Syncs that changed or skipped “${query}”, newest first`}
      >
        {entries.map((entry) => {
          const { time, date } = formatDateTime(runStartTime(entry.run), timeZone);
          return (
            <li
              key={`${entry.run.id}:${entry.seq}`}
              className="person-history-entry"
              data-action={entry.action}
            >
              <p className="person-history-what">
                <strong>{ACTION_LABELS[entry.action]}</strong>
                <span className="muted"> · {OUTCOME_LABELS[entry.outcome]}</span>
                {entry.name && <span> · {entry.name}</span>}
              </p>
              <p className="person-history-run">
                <time dateTime={runStartTime(entry.run)}>
                  {date} {time}
                </time>{' '}
                · {entry.run.configurationName} · {CONNECTOR_LABELS[entry.run.connector]} ·{' '}
                {RUN_STATUS_INFO[entry.run.status].label} ·{' '}
                <a
                  href={detailsHref(entry.run.id)}
                  onClick={handleLinkClick}
                  aria-label={`View the ${entry.run.configurationName} sync of ${date} ${time}`}
                >
                  View sync
                </a>
              </p>
              <Changes changes={entry.changes} />
              {entry.message && <p className="person-history-message">{entry.message}</p>}
            </li>
          );
        })}
      </ol>
      {history.isFetchNextPageError && (
        <p className="notice notice-error" role="alert">
          More could not be loaded: {errorMessage(history.error)}
        </p>
      )}
      {history.hasNextPage && (
        <div className="table-footer">
          <button
            type="button"
            className="button"
            onClick={() => history.fetchNextPage()}
            disabled={history.isFetchingNextPage}
          >
            {history.isFetchingNextPage ? 'Loading…' : 'Show older'}
          </button>
        </div>
      )}
    </>
  );
}

/** Field changes as `Department: Sales → Marketing`, fields in name order. */
function Changes({ changes }: { changes: FieldChanges | null }) {
  if (!changes || Object.keys(changes).length === 0) return null;
  return (
    <ul className="person-history-changes">
      {Object.keys(changes)
        .sort()
        .map((field) => {
          const change = changes[field];
          const label = (DIRECTORY_FIELD_LABELS as Record<string, string>)[field] ?? field;
          return (
            <li key={field}>
              {label}: {change?.before || '(empty)'} → {change?.after || '(empty)'}
            </li>
          );
        })}
    </ul>
  );
}
