import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, type RunCounts } from '@provisioning/shared';
import { SyncRun } from '../entities/index.ts';
import { isUuid } from './common.ts';
import { getOrganisation } from './organisation.repository.ts';

export function runCounts(run: SyncRun): RunCounts {
  return {
    created: run.createdCount,
    updated: run.updatedCount,
    reactivated: run.reactivatedCount,
    deactivated: run.deactivatedCount,
    unchanged: run.unchangedCount,
    skipped: run.skippedCount,
    warnings: run.warningCount,
    errors: run.errorCount,
  };
}

/** The run as support tools see it (`pnpm provisioning runs show`); the configuration must be loaded. */
export function runView(run: SyncRun) {
  return {
    id: run.id,
    status: run.status,
    configId: run.configuration.id,
    configName: run.configuration.name,
    connector: run.configuration.connector,
    trigger: run.trigger,
    queuedAt: run.queuedAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    durationMs: run.durationMs ?? null,
    counts: runCounts(run),
    error: run.errorSummary ?? null,
  };
}

export async function getRun(em: EntityManager, id: string): Promise<SyncRun> {
  const run = isUuid(id) ? await em.findOne(SyncRun, { id }, { populate: ['configuration'] }) : null;
  if (!run) throw new DomainError('NOT_FOUND', `Run ${id} not found`);
  return run;
}

/** Newest first, as the admin page shows them; the CLI lists at most `limit`. */
export async function listRunsForSupport(
  em: EntityManager,
  organisationId: string,
  limit = 100,
): Promise<SyncRun[]> {
  const organisation = await getOrganisation(em, organisationId);
  return em.find(
    SyncRun,
    { organisation },
    { populate: ['configuration'], orderBy: [{ queuedAt: 'desc' }, { id: 'desc' }], limit },
  );
}
