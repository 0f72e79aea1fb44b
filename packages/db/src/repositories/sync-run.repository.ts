import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, RUN_STATUS_INFO, RUN_STATUSES, type RunDetails } from '@provisioning/shared';
import { SyncRun } from '../entities/index.ts';
import { isUuid, type SqlRunner, sql } from './common.ts';
import { getOrganisation } from './organisation.repository.ts';
import { RUN_DETAILS_SELECT, type RunDetailRow, runDetailsOf } from './run-list.repository.ts';

export async function getRun(em: EntityManager, id: string): Promise<SyncRun> {
  const run = isUuid(id) ? await em.findOne(SyncRun, { id }, { populate: ['configuration'] }) : null;
  if (!run) throw new DomainError('NOT_FOUND', `Run ${id} not found`);
  return run;
}

/** What every log line and metric about a run is labelled with; null for an unknown run. */
export interface RunLabels {
  runId: string;
  configurationId: string;
  organisationId: string;
  connector: string;
}

export async function runLabels(em: EntityManager, runId: string): Promise<RunLabels | null> {
  const [row] = isUuid(runId)
    ? await sql<{ configuration_id: string; organisation_id: string; connector: string }>(
        em,
        // The run keeps its configuration's connector (sync_run.connector): no join needed.
        'select configuration_id, organisation_id, connector from sync_run where id = ?',
        [runId],
      )
    : [];
  return row
    ? {
        runId,
        configurationId: row.configuration_id,
        organisationId: row.organisation_id,
        connector: row.connector,
      }
    : null;
}

/**
 * One run as support tools show it (`runs show`): the API's RunDetails, read by ID alone (support is not
 * scoped to an organisation).
 */
export async function getRunDetailsForSupport(em: EntityManager, id: string): Promise<RunDetails> {
  const [row] = isUuid(id) ? await sql<RunDetailRow>(em, `${RUN_DETAILS_SELECT} where r.id = ?`, [id]) : [];
  if (!row) throw new DomainError('NOT_FOUND', `Run ${id} not found`);
  return runDetailsOf(row);
}

/** Newest first, as the admin page shows them; the CLI lists at most `limit`. */
export async function listRunsForSupport(
  em: EntityManager,
  organisationId: string,
  limit = 100,
): Promise<RunDetails[]> {
  const organisation = await getOrganisation(em, organisationId);
  const rows = await sql<RunDetailRow>(
    em,
    `${RUN_DETAILS_SELECT} where r.organisation_id = ? order by r.queued_at desc, r.id desc limit ?`,
    [organisation.id, limit],
  );
  return rows.map(runDetailsOf);
}

/** Statuses whose runs offer a log to download. */
const STATUSES_WITH_LOG = RUN_STATUSES.filter((status) => RUN_STATUS_INFO[status].logKind !== null);

/**
 * The organisation's newest run that has a log (by start; a log retention purged is gone), of the configuration named `configurationName`
 * (case-insensitive) when given. `configuration: false` when no configuration has that name.
 */
export async function findLatestRunWithLog(
  db: SqlRunner,
  organisationId: string,
  configurationName?: string,
): Promise<{ configuration: boolean; runId: string | null }> {
  if (configurationName !== undefined) {
    const [configuration] = await sql(
      db,
      'select 1 from sync_configuration where organisation_id = ? and lower(name) = lower(?)',
      [organisationId, configurationName],
    );
    if (!configuration) return { configuration: false, runId: null };
  }
  const [row] = await sql<{ id: string }>(
    db,
    `select r.id from sync_run r join sync_configuration c on c.id = r.configuration_id
     where r.organisation_id = ? and r.status = any(?::text[]) and r.log_purged_at is null
       and (?::text is null or lower(c.name) = lower(?))
     order by coalesce(r.started_at, r.queued_at) desc, r.id desc limit 1`,
    [organisationId, STATUSES_WITH_LOG, configurationName ?? null, configurationName ?? null],
  );
  return { configuration: true, runId: row?.id ?? null };
}
