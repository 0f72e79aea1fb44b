import { z } from 'zod';

/** pg-boss queue names and payloads, shared by whoever sends (CLI, API) and the worker that handles them. */
export const JOB_NAMES = {
  /** Runs one queued sync run. At most one active and one queued job per configuration. */
  syncRun: 'sync-run',
  /** Fires every minute; enqueues runs of the configurations whose schedule is due. */
  syncScheduler: 'sync-scheduler',
  /** Every minute: returns runs whose worker stopped heart-beating to the queue, or ends them. */
  syncReaper: 'sync-reaper',
  /** Posts one finished run's outcome to its organisation's Slack channel (the run_notification outbox). */
  runNotify: 'run-notify',
  /** Every minute: sends run-notify for notifications still unsent a minute after their run finished. */
  runNotifySweep: 'run-notify-sweep',
  /** Answers one `/sync-logs` command or log button through its response_url, files by DM. */
  slackCommand: 'slack-command',
  /** Daily: deletes the logs, then the records, of runs past their organisation's retention. */
  logPurge: 'log-purge',
} as const;

export const SyncRunJobSchema = z.object({ runId: z.uuid() });
export type SyncRunJob = z.infer<typeof SyncRunJobSchema>;

export const RunNotifyJobSchema = z.object({ runId: z.uuid() });
export type RunNotifyJob = z.infer<typeof RunNotifyJobSchema>;

/** A `/sync-logs` command or a log button, as received and verified: the job does the work. */
export const SlackCommandJobSchema = z.object({
  teamId: z.string().min(1).max(64),
  userId: z.string().min(1).max(64),
  /** The command's text, or for a button: `<run id> csv|xlsx`. */
  text: z.string().max(4000),
  responseUrl: z.url().max(2000),
  source: z.enum(['command', 'button']),
});
export type SlackCommandJob = z.infer<typeof SlackCommandJobSchema>;

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
  // Network errors reaching Slack are retried with backoff (10 s, 20 s, 40 s, 80 s, 160 s); a rate limit
  // re-sends the job after Slack's Retry-After instead, without using a retry.
  [JOB_NAMES.runNotify]: {
    policy: 'standard',
    retryLimit: 5,
    retryDelay: 10,
    retryBackoff: true,
    expireInSeconds: 300,
  },
  [JOB_NAMES.runNotifySweep]: { policy: 'standard', retryLimit: 0, expireInSeconds: 120 },
  // A command's answer is worth little after a few minutes; response_url lasts 30.
  [JOB_NAMES.slackCommand]: { policy: 'standard', retryLimit: 2, retryDelay: 5, expireInSeconds: 900 },
  // A purge cut short (a failure, a stopping worker) is carried on by the next day's.
  [JOB_NAMES.logPurge]: { policy: 'standard', retryLimit: 0, expireInSeconds: 4 * 3600 },
} as const;

/** Seconds a notification waits for its job before the sweep sends another. */
export const NOTIFICATION_SWEEP_AFTER_SECONDS = 60;

/** Seconds without a heartbeat after which a run's worker is presumed dead. */
export const RUN_STALE_AFTER_SECONDS = 90;
/** Attempts a run gets when its worker dies, before it is ended as Cancelled. */
export const RUN_MAX_ATTEMPTS = 3;
