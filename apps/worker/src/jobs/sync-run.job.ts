import { finishCancelled, requeueRun, sendRunNotifyJob, sendSyncRunJob } from '@provisioning/db';
import {
  JOB_NAMES,
  QUEUE_OPTIONS,
  RUN_STATUS_INFO,
  type RunStatus,
  SyncRunJobSchema,
} from '@provisioning/shared';
import { RetryLater, runSync } from '@provisioning/sync';
import type { RunPhase } from '../metrics.ts';
import type { JobDefinition } from './job-definition.ts';
import { labelLogWithRun } from './run-log-labels.ts';

/**
 * Times a run's phases from runSync's phase events: load (start to loaded), plan (loaded to planned, the
 * first plan) and apply (applying to the final status). A run that stops earlier reports what it reached.
 */
function phaseTimer(observe: (phase: RunPhase, seconds: number) => void) {
  let mark = performance.now();
  let current: RunPhase | null = 'load';
  const end = (next: RunPhase | null) => {
    const now = performance.now();
    if (current) observe(current, (now - mark) / 1000);
    mark = now;
    current = next;
  };
  return {
    reached(phase: 'loaded' | 'planned' | 'applying') {
      if (phase === 'loaded') end('plan');
      else if (phase === 'planned' && current === 'plan') end(null);
      else if (phase === 'applying') {
        mark = performance.now();
        current = 'apply';
      }
    },
    finished() {
      if (current === 'apply') end(null);
    },
  };
}

/** Seconds before a run that found its configuration busy asks again. */
const BUSY_RETRY_SECONDS = 15;

export const syncRunJob: JobDefinition<typeof SyncRunJobSchema> = {
  name: JOB_NAMES.syncRun,
  payload: SyncRunJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.syncRun],
  async handle({ runId }, context) {
    const { orm, boss, secretKey, retryCount, retryLimit, em, signal, allowList, metrics, logger } = context;
    const lastTry = retryCount >= retryLimit;
    const labels = await labelLogWithRun(em, logger, runId);
    try {
      const timer = phaseTimer((phase, seconds) => labels && metrics.phase(labels.connector, phase, seconds));
      const result = await runSync(runId, {
        orm,
        secretKey,
        canRetry: !lastTry,
        signal,
        allowList,
        onPhase: timer.reached,
      });
      if (RUN_STATUS_INFO[result.status as RunStatus]?.final) timer.finished();
      if (result.status === 'stopped') {
        // The worker is stopping: another worker takes the run from the queue, from the start.
        const outcome = await requeueRun(
          orm,
          boss,
          { runId, attempt: result.attempt },
          'The worker running this sync was stopped while a newer run of this configuration was already queued, so this one was stopped without changes.',
        );
        logger.info({ outcome }, 'worker stopping: run handed back');
        return;
      }
      if (result.status === 'busy') {
        // Another run of this configuration is in progress; this one waits its turn without using a retry.
        await sendSyncRunJob(boss, { runId }, { startAfter: BUSY_RETRY_SECONDS });
        logger.info('configuration busy with another run; trying again shortly');
        return;
      }
      if (labels && RUN_STATUS_INFO[result.status as RunStatus]?.final) {
        metrics.runFinished(result.status, labels.connector);
      }
      logger.info(result, 'sync run finished');
      if (result.status !== 'not_run' && RUN_STATUS_INFO[result.status].final) {
        // The outcome's notification row was written with the status (a trigger); this posts it now
        // rather than at the next sweep.
        await sendRunNotifyJob(boss, { runId });
      }
    } catch (error) {
      if (error instanceof RetryLater) {
        logger.warn({ err: error.sourceError }, 'source unavailable; pg-boss retries with backoff');
        throw error;
      }
      if (lastTry) {
        const ended = await finishCancelled(
          em,
          runId,
          null,
          `The sync stopped because of an internal error and was not applied: ${(error as Error).message}. Contact support.`,
        );
        if (ended) await sendRunNotifyJob(boss, { runId });
      }
      throw error;
    }
  },
};
