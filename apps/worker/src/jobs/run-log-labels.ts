import { type EntityManager, type RunLabels, runLabels } from '@provisioning/db';
import type { Logger } from 'pino';

/**
 * Names the run, and once read its configuration, organisation and connector, on a job's own logger
 * (JobContext.logger, this job's alone): every line the job writes about the run carries them, the
 * worker's "job failed" line included. Lines then need not repeat `runId` (pino would write it twice).
 */
export async function labelLogWithRun(
  em: EntityManager,
  logger: Logger,
  runId: string,
): Promise<RunLabels | null> {
  logger.setBindings({ runId });
  const labels = await runLabels(em, runId);
  if (labels) {
    const { runId: _, ...more } = labels;
    logger.setBindings(more);
  }
  return labels;
}
