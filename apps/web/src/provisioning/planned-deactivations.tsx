import type { RunApproval } from '@provisioning/shared';
import { formatCount, formatDateTime } from '@provisioning/shared';
import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { errorMessage, useTRPC, useTRPCClient } from '../api/trpc.ts';

/**
 * The users a run blocked by the deactivation threshold would have deactivated, a page at a time, for
 * the administrator to check before calling support. Not a log download: a blocked run has no log.
 */
export function PlannedDeactivations({ runId, planned }: { runId: string; planned: number }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  // The client is called directly: tRPC's infiniteQueryOptions adds a `direction` key the strict input refuses.
  const users = useInfiniteQuery(
    infiniteQueryOptions({
      queryKey: trpc.runs.plannedDeactivations.infiniteQueryKey({ runId }),
      queryFn: ({ pageParam, signal }) =>
        client.runs.plannedDeactivations.query({ runId, cursor: pageParam }, { signal }),
      initialPageParam: null as string | null,
      getNextPageParam: (page) => page.nextCursor,
    }),
  );
  const rows = useMemo(() => users.data?.pages.flatMap((page) => page.users) ?? [], [users.data]);

  return (
    <section aria-labelledby="planned-deactivations-heading">
      <h3 id="planned-deactivations-heading" className="section-heading">
        Users this sync would have deactivated
      </h3>
      {users.isPending ? (
        <p className="muted" role="status">
          Loading the planned deactivations…
        </p>
      ) : users.isError && rows.length === 0 ? (
        <div className="notice notice-error" role="alert">
          <p>The planned deactivations could not be loaded: {errorMessage(users.error)}</p>
          <button type="button" className="button" onClick={() => users.refetch()}>
            Try again
          </button>
        </div>
      ) : rows.length === 0 ? (
        <p className="muted">The list of planned deactivations was not kept for this sync.</p>
      ) : (
        <>
          <table
            className="counts-table planned-deactivations"
            aria-labelledby="planned-deactivations-heading"
          >
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">External ID</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((user) =>
                user.email === null ? (
                  <tr key={user.userId}>
                    <td colSpan={3} className="muted">
                      No longer in the directory
                    </td>
                  </tr>
                ) : (
                  <tr key={user.userId}>
                    <td>{user.name}</td>
                    <td>{user.email}</td>
                    <td>{user.externalId ?? '—'}</td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
          {users.isFetchNextPageError && (
            <p className="notice notice-error" role="alert">
              More could not be loaded: {errorMessage(users.error)}
            </p>
          )}
          <div className="table-footer">
            <p className="muted" aria-live="polite">
              Showing {formatCount(rows.length)} of {formatCount(planned)}
            </p>
            {users.hasNextPage && (
              <button
                type="button"
                className="button"
                onClick={() => users.fetchNextPage()}
                disabled={users.isFetchingNextPage}
              >
                {users.isFetchingNextPage ? 'Loading…' : 'Show more'}
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}

/** Whether support approved a blocked run's plan, when and by whom, and what became of it. */
export function ApprovalNote({ approval, timeZone }: { approval: RunApproval | null; timeZone: string }) {
  if (!approval) {
    return (
      <p className="muted" data-testid="approval">
        Not approved. Support can approve this plan within 24 hours of the sync’s end.
      </p>
    );
  }
  const at = formatDateTime(approval.approvedAt, timeZone);
  const outcome =
    approval.outcome === 'applied'
      ? ' The approved sync applied it.'
      : approval.outcome === 'plan_grew'
        ? ' The approved sync found more deactivations than were approved, and was blocked again.'
        : approval.outcome === 'lapsed'
          ? ' The approval lapsed before a sync could apply it.'
          : '';
  return (
    <p data-testid="approval">
      Approved by {approval.approvedBy} at {at.time} {at.date}: “{approval.reason}”.{outcome}
    </p>
  );
}
