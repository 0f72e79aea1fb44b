import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { FieldChanges } from '@provisioning/shared';
import { SyncRun } from './sync-run.entity.ts';

/**
 * A log line that changed or skipped a person, indexed by the person's lower-cased email and external ID
 * for their history across runs (`people.history`), with what the history shows of it.
 * Written by the run's apply, in its transaction; deleted with the run or its purged log.
 */
export const SyncLogPerson = defineEntity({
  name: 'SyncLogPerson',
  tableName: 'sync_log_person',
  properties: {
    // Checked per statement, not per row (see the statement_level_references migration): a first import
    // writes a row per user.
    run: p.manyToOne(SyncRun).primary().deleteRule('cascade').createForeignKeyConstraint(false),
    seq: p.integer().primary(),
    // No reference of its own: the run's organisation, kept here for row-level security and the lookup.
    organisationId: p.uuid(),
    /** The apply's clock after the organisation's lock: orders the organisation's entries. */
    appliedAt: p.datetime(),
    email: p.text().nullable(),
    externalId: p.text().nullable(),
    // What the history shows of the line, copied from it (see the person_history migration).
    // LogAction and LogOutcome, as the log's own lines hold them (unchecked here: the apply writes both).
    action: p.text(),
    outcome: p.text(),
    name: p.text().nullable(),
    changes: p.json<FieldChanges>().nullable(),
    message: p.text().nullable(),
  },
  primaryKeys: ['run', 'seq'],
  indexes: [
    {
      name: 'sync_log_person_email_index',
      expression: 'create index "sync_log_person_email_index" on "sync_log_person" using hash ("email")',
    },
    {
      name: 'sync_log_person_external_id_index',
      expression:
        'create index "sync_log_person_external_id_index" on "sync_log_person" using hash ("external_id")',
    },
  ],
});
export type SyncLogPerson = InferEntity<typeof SyncLogPerson>;
