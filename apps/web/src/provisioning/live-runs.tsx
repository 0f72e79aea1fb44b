import {
  RUN_STATUS_INFO,
  type RunChangeEvent,
  type RunListFilter,
  type RunListRow,
} from '@provisioning/shared';
import { type QueryClient, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { isRetryable, type RouterOutputs, useTRPC } from '../api/trpc.ts';
import { applyRunChange, type RunsData } from './run-changes.ts';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

/** Pauses before subscribing again after the feed ended or failed, growing while it keeps failing. */
const RESUBSCRIBE_DELAYS_MS = [250, 1_000, 2_000, 5_000, 10_000];

/**
 * Keeps every loaded runs list and run details current from the live feed of run changes, and says how
 * the feed is doing. A dropped connection reconnects by itself with the last event ID (the server replays
 * what was missed, or says `resync` and the lists are fetched again). A feed the server ended (it stops
 * for a deploy) or that failed is subscribed again from the last event seen.
 */
export function useLiveRuns(): { state: LiveState; retry: () => void } {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [caughtUp, setCaughtUp] = useState(false);
  const wasLive = useRef(false);
  const lastEventId = useRef<string | null>(null);
  const [resumeFrom, setResumeFrom] = useState<string | null>(null);
  const failures = useRef(0);

  const onData = useCallback(
    ({ id, data: event }: { id: string; data: RunChangeEvent }) => {
      if (id) lastEventId.current = id;
      if (event.type === 'live') {
        wasLive.current = true;
        failures.current = 0;
        setCaughtUp(true);
      } else if (event.type === 'resync') {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.runs.get.pathKey() });
      } else {
        applyToLists(queryClient, trpc.runs.list.pathKey(), event.run);
        const detailsKey = trpc.runs.get.queryKey({ runId: event.run.id });
        const before = queryClient.getQueryData<RouterOutputs['runs']['get']>(detailsKey);
        if (before) {
          queryClient.setQueryData<RouterOutputs['runs']['get']>(detailsKey, { ...before, ...event.run });
          // Counts, error summary and threshold figures come with the run's end: fetch them then.
          if (before.status !== event.run.status && RUN_STATUS_INFO[event.run.status].final) {
            void queryClient.invalidateQueries({ queryKey: detailsKey, exact: true });
          }
        }
      }
    },
    [queryClient, trpc],
  );

  const subscription = useSubscription(
    trpc.runs.changes.subscriptionOptions(resumeFrom === null ? {} : { lastEventId: resumeFrom }, { onData }),
  );
  const { status, reset } = subscription;
  // A refusal (session ended, access changed) is not retried; the shell learns of it through `auth.me`.
  const finalError = status === 'error' && !isRetryable(subscription.error);

  useEffect(() => {
    if (status !== 'pending') setCaughtUp(false);
  }, [status]);

  useEffect(() => {
    if (finalError) {
      // The session ended or the access changed: the shell follows `auth.me`.
      void queryClient.invalidateQueries({ queryKey: trpc.auth.me.queryKey() });
      return;
    }
    if (status !== 'idle' && status !== 'error') return;
    const delay = RESUBSCRIBE_DELAYS_MS[Math.min(failures.current, RESUBSCRIBE_DELAYS_MS.length - 1)];
    const timer = setTimeout(() => {
      failures.current += 1;
      // A new input starts a new subscription; the same input is started again by `reset`.
      if (lastEventId.current !== null && lastEventId.current !== resumeFrom)
        setResumeFrom(lastEventId.current);
      else reset();
    }, delay);
    return () => clearTimeout(timer);
  }, [status, finalError, resumeFrom, reset, queryClient, trpc]);

  let state: LiveState;
  if (finalError) state = 'stopped';
  else if (status === 'pending' && caughtUp) state = 'live';
  else state = wasLive.current ? 'reconnecting' : 'connecting';
  return { state, retry: reset };
}

function applyToLists(queryClient: QueryClient, listKey: readonly unknown[], run: RunListRow) {
  for (const query of queryClient.getQueryCache().findAll({ queryKey: listKey })) {
    const data = query.state.data as RunsData | undefined;
    const input = (query.queryKey[1] as { input?: { filter?: RunListFilter } } | undefined)?.input;
    if (!data || !input?.filter) continue;
    const outcome = applyRunChange(data, input.filter, run);
    if (outcome.kind === 'updated') {
      if (outcome.data !== data) queryClient.setQueryData(query.queryKey, outcome.data);
    } else {
      void queryClient.invalidateQueries({ queryKey: query.queryKey, exact: true });
    }
  }
}

const LIVE_LABELS: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  stopped: 'Live updates stopped',
};

export function LiveIndicator({ state, onRetry }: { state: LiveState; onRetry: () => void }) {
  return (
    <div className="live" data-state={state}>
      <span className="live-dot" aria-hidden="true" />
      <span role="status" className="live-label" title="Runs update here as they change, without reloading">
        {LIVE_LABELS[state]}
      </span>
      {state === 'stopped' && (
        <button type="button" className="button button-link" onClick={onRetry}>
          Reconnect
        </button>
      )}
    </div>
  );
}
