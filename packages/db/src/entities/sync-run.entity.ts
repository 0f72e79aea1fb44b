import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CONNECTORS, RUN_STATUSES, RUN_TRIGGERS, type SourceFingerprint } from '@provisioning/shared';
import { Organisation } from './organisation.entity.ts';
import { uuidPrimaryKey } from './properties.ts';
import { SyncConfiguration } from './sync-configuration.entity.ts';

/** What the threshold guard found when it blocked a run; kept for support, never downloadable. */
export interface ThresholdDetails {
  plannedDeactivations: number;
  activeManagedUsers: number;
  thresholdCount: number;
  thresholdPercent: number;
  /** The first would-be deactivations (external ID / email), capped, for support. */
  sample: { externalId: string | null; email: string }[];
  /**
   * SHA-256 (hex) of the would-be deactivated user IDs, sorted and joined by line feeds: names the exact
   * plan support approves. Every ID is in sync_run_blocked_user. Absent on runs blocked before approvals.
   */
  planDigest?: string;
}

/** One sync of one configuration: the run ledger that the admin page lists. */
export const SyncRun = defineEntity({
  name: 'SyncRun',
  tableName: 'sync_run',
  properties: {
    id: uuidPrimaryKey(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    configuration: p.manyToOne(SyncConfiguration).deleteRule('cascade'),
    /**
     * The source the run loads from: its configuration's connector, copied when the run is queued (a
     * trigger fills it and refuses any other), so the runs list filters by source from an index of this
     * table alone.
     */
    connector: p.enum([...CONNECTORS]),
    status: p.enum([...RUN_STATUSES]).default('queued'),
    trigger: p.enum([...RUN_TRIGGERS]),
    queuedAt: p.datetime().onCreate(() => new Date()),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    durationMs: p.integer().nullable(),
    createdCount: p.integer().default(0),
    updatedCount: p.integer().default(0),
    reactivatedCount: p.integer().default(0),
    deactivatedCount: p.integer().default(0),
    unchangedCount: p.integer().default(0),
    skippedCount: p.integer().default(0),
    warningCount: p.integer().default(0),
    errorCount: p.integer().default(0),
    rowsRead: p.integer().default(0),
    rowsPlanned: p.integer().default(0),
    rowsApplied: p.integer().default(0),
    errorSummary: p.text().nullable(),
    thresholdDetails: p.json<ThresholdDetails>().nullable(),
    /** The exact source the run read, written with its final status once the source was read to the end. */
    source: p.json<SourceFingerprint>().nullable(),
    /** Incremented each time a worker takes the run; a stale attempt can never commit (fencing). */
    attempt: p.integer().default(0),
    heartbeatAt: p.datetime().nullable(),
    cancelRequestedAt: p.datetime().nullable(),
    /** The transaction that last changed the run (set by a trigger): the live feed's resume point. */
    changeXid: p.bigint().nullable(),
    /**
     * Trigger `approval` only: the sync_run_approval it runs under. A plain column (that table refers to
     * its runs, so a relation here would make the two entities refer to each other); deleting the
     * approval clears it (a statement-level trigger, see the support_approval migration).
     */
    approvalId: p.uuid().nullable(),
    /** When the log-purge job deleted the run's log lines, and under which retention (days); both or neither. */
    logPurgedAt: p.datetime().nullable(),
    logPurgeRetentionDays: p.integer().nullable(),
  },
  checks: [
    {
      name: 'sync_run_log_purge_check',
      expression: '(log_purged_at is null) = (log_purge_retention_days is null)',
    },
  ],
  indexes: [
    { name: 'sync_run_organisation_queued_at_index', properties: ['organisation', 'queuedAt', 'id'] },
    {
      name: 'sync_run_organisation_status_queued_at_index',
      properties: ['organisation', 'status', 'queuedAt', 'id'],
    },
    {
      name: 'sync_run_organisation_connector_queued_at_index',
      properties: ['organisation', 'connector', 'queuedAt', 'id'],
    },
    {
      name: 'sync_run_organisation_connector_status_queued_at_index',
      properties: ['organisation', 'connector', 'status', 'queuedAt', 'id'],
    },
    { name: 'sync_run_configuration_queued_at_index', properties: ['configuration', 'queuedAt', 'id'] },
    { name: 'sync_run_organisation_change_xid_index', properties: ['organisation', 'changeXid'] },
    {
      // A second trigger while a run is queued joins that run instead of piling up.
      name: 'sync_run_one_queued_per_configuration',
      expression:
        'create unique index "sync_run_one_queued_per_configuration" on "sync_run" ("configuration_id") where "status" = \'queued\'',
    },
    {
      // At most one run of a configuration is in progress: a second worker cannot take another one.
      name: 'sync_run_one_in_progress_per_configuration',
      expression:
        'create unique index "sync_run_one_in_progress_per_configuration" on "sync_run" ("configuration_id") where "status" = \'in_progress\'',
    },
    {
      name: 'sync_run_approval_id_index',
      expression:
        'create index "sync_run_approval_id_index" on "sync_run" ("approval_id") where "approval_id" is not null',
    },
    {
      // The log-purge job's look-up: final runs whose log is still kept, by organisation and end.
      name: 'sync_run_log_kept_index',
      expression:
        'create index "sync_run_log_kept_index" on "sync_run" ("organisation_id", "finished_at") where "log_purged_at" is null and "status" not in (\'queued\', \'in_progress\')',
    },
    {
      // The run-retention delete's look-up: runs whose log is gone (always first), by organisation and end.
      name: 'sync_run_log_purged_index',
      expression:
        'create index "sync_run_log_purged_index" on "sync_run" ("organisation_id", "finished_at") where "log_purged_at" is not null',
    },
    {
      name: 'sync_run_unfinished_index',
      expression:
        'create index "sync_run_unfinished_index" on "sync_run" ("status", "heartbeat_at") where "status" in (\'queued\', \'in_progress\')',
    },
  ],
});
export type SyncRun = InferEntity<typeof SyncRun>;
