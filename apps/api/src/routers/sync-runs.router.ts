import { getRunDetails, listPlannedDeactivations, listRuns, runChangesSince } from '@provisioning/db';
import {
  PlannedDeactivationsInputSchema,
  type RunChangeEvent,
  RunChangesInputSchema,
  RunIdInputSchema,
  RunListInputSchema,
} from '@provisioning/shared';
import { tracked } from '@trpc/server';
import type { RunChangeFeed } from '../run-change-feed.ts';
import { checkedReadFor, procedureFor } from '../trpc/procedures.ts';
import { router } from '../trpc/trpc.ts';

const viewProcedure = procedureFor('provisioning.view');
/** The page's most frequent reads: the session is checked in the read's own round trip. */
const viewRead = checkedReadFor('provisioning.view');

export const syncRunsRouter = router({
  list: viewRead.input(RunListInputSchema).query(({ ctx, input }) => listRuns(ctx.em, ctx.scope, input)),

  get: viewRead
    .input(RunIdInputSchema)
    .query(({ ctx, input }) => getRunDetails(ctx.em, ctx.scope, input.runId)),

  /**
   * A page of the users a run blocked by the deactivation threshold would have deactivated, for the
   * administrator to check before calling support; not a log download (a blocked run has none).
   */
  plannedDeactivations: viewProcedure
    .input(PlannedDeactivationsInputSchema)
    .query(({ ctx, input }) => listPlannedDeactivations(ctx.em, ctx.session.organisation.id, input)),

  /**
   * Pushes each run of the organisation as it changes (server-sent events). Every event's ID is a resume
   * point: the client reconnects with the last one it got and receives every change since (or `resync`
   * when too many happened to replay). A run may come twice; the newest copy wins.
   *
   * Access is checked again before every batch and at least every `liveAccessCheckIntervalMs`: once the
   * session ended or the permission went, the feed ends with the error a new request would get
   * (UNAUTHORIZED, or FORBIDDEN with the table's reason), which the page already answers.
   */
  changes: viewProcedure.input(RunChangesInputSchema).subscription(async function* ({ ctx, input, signal }) {
    const organisationId = ctx.session.organisation.id;
    const checkEveryMs = ctx.liveAccessCheckIntervalMs;
    const wakeup = new Wakeup(ctx.changeFeed, organisationId, signal);
    try {
      let cursor = input.lastEventId ?? null;
      /** Changes already sent ahead of the cursor: run ID → change stamp. */
      const sentAhead = new Map<string, string>();
      let caughtUp = false;
      let checkedAt = -Infinity;
      while (!signal?.aborted && !ctx.changeFeed.closed) {
        wakeup.reset();
        const changes = await runChangesSince(ctx.orm.em.fork(), organisationId, cursor);
        // Checked after the read: a change committed once access had ended is never sent.
        const somethingToSend = !caughtUp || changes.overflow || changes.runs.length > 0;
        if (somethingToSend || performance.now() - checkedAt >= checkEveryMs) {
          await ctx.recheckAccess();
          checkedAt = performance.now();
        }
        const previous = cursor ?? changes.resumeFrom;
        cursor = changes.resumeFrom;
        if (changes.overflow) {
          sentAhead.clear();
          yield tracked(cursor, { type: 'resync' } satisfies RunChangeEvent);
        } else {
          const fresh = changes.runs.flatMap((run, index) => {
            const stamp = changes.stamps[index]!;
            return sentAhead.get(run.id) === stamp ? [] : [{ run, stamp }];
          });
          for (const [index, { run, stamp }] of fresh.entries()) {
            // Only the batch's last event may carry the new resume point: a client that drops the
            // connection halfway through the batch must get the rest again.
            const id = index === fresh.length - 1 ? cursor : previous;
            yield tracked(id, { type: 'run', run } satisfies RunChangeEvent);
            if (BigInt(stamp) >= BigInt(cursor)) sentAhead.set(run.id, stamp);
          }
          for (const [runId, stamp] of sentAhead) if (BigInt(stamp) < BigInt(cursor)) sentAhead.delete(runId);
        }
        if (!caughtUp) {
          caughtUp = true;
          yield tracked(cursor, { type: 'live' } satisfies RunChangeEvent);
        }
        await wakeup.wait(checkedAt + checkEveryMs - performance.now());
      }
    } finally {
      wakeup.close();
    }
  }),
});

/**
 * Resolves `wait(maxMs)` on a change notification for the organisation, the poll interval, `maxMs`, or the
 * end.
 */
class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;
  readonly #unsubscribe: () => void;
  readonly #feed: RunChangeFeed;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.#fire();

  constructor(feed: RunChangeFeed, organisationId: string, signal: AbortSignal | undefined) {
    this.#feed = feed;
    this.#signal = signal;
    this.#unsubscribe = feed.subscribe(organisationId, () => this.#fire());
    signal?.addEventListener('abort', this.#onAbort);
  }

  /** Forgets wake-ups so far: the read that follows sees everything they announced. */
  reset() {
    this.#pending = false;
  }

  async wait(maxMs: number): Promise<void> {
    if (this.#pending || this.#signal?.aborted) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#resolve = resolve;
      timer = setTimeout(resolve, Math.max(0, Math.min(this.#feed.pollIntervalMs, maxMs)));
    });
    clearTimeout(timer);
    this.#resolve = undefined;
  }

  close() {
    this.#unsubscribe();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#fire();
  }

  #fire() {
    this.#pending = true;
    this.#resolve?.();
  }
}
