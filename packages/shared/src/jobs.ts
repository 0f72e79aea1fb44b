import { z } from 'zod';

/** pg-boss queue names and payloads, shared by whoever sends (CLI, API) and the worker that handles them. */
export const JOB_NAMES = {
  /** Runs one queued sync run. At most one active and one queued job per configuration. */
  syncRun: 'sync-run',
  /** Fires every minute; enqueues runs of the configurations whose schedule is due. */
  syncScheduler: 'sync-scheduler',
  /** Every minute: returns runs whose worker stopped heart-beating to the queue, or ends them. */
  syncReaper: 'sync-reaper',
} as const;

export const SyncRunJobSchema = z.object({ runId: z.uuid() });
export type SyncRunJob = z.infer<typeof SyncRunJobSchema>;

export const EmptyJobSchema = z.object({}).passthrough();

/** Queue options; the worker creates the queues, and senders create them too if the worker has not yet. */
export const QUEUE_OPTIONS = {
  // Transient source errors (network) are retried with backoff: 15 s, 30 s, 60 s.
  [JOB_NAMES.syncRun]: {
    policy: 'standard',
    retryLimit: 3,
    retryDelay: 15,
    retryBackoff: true,
    expireInSeconds: 4 * 3600,
  },
  [JOB_NAMES.syncScheduler]: { policy: 'standard', retryLimit: 0, expireInSeconds: 120 },
  [JOB_NAMES.syncReaper]: { policy: 'standard', retryLimit: 0, expireInSeconds: 120 },
} as const;

/** Seconds without a heartbeat after which a run's worker is presumed dead. */
export const RUN_STALE_AFTER_SECONDS = 90;
/** Attempts a run gets when its worker dies, before it is ended as Cancelled. */
export const RUN_MAX_ATTEMPTS = 3;
