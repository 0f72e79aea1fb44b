import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { type FieldChanges, LOG_ACTIONS, LOG_OUTCOMES } from '@provisioning/shared';
import { SyncRun } from './sync-run.entity.ts';

/** One line of a run's log: a source row, a deactivation, or a load error. Ordered by `seq`. */
export const SyncLogEntry = defineEntity({
  name: 'SyncLogEntry',
  tableName: 'sync_log',
  properties: {
    run: p.manyToOne(SyncRun).primary().deleteRule('cascade').createForeignKeyConstraint(false),
    seq: p.integer().primary(),
    rowNumber: p.integer().nullable(),
    externalId: p.text().nullable(),
    email: p.text().nullable(),
    name: p.text().nullable(),
    action: p.enum([...LOG_ACTIONS]),
    outcome: p.enum([...LOG_OUTCOMES]),
    changes: p.json<FieldChanges>().nullable(),
    message: p.text().nullable(),
    /** For load errors: what to do about it. */
    hint: p.text().nullable(),
  },
  primaryKeys: ['run', 'seq'],
});
export type SyncLogEntry = InferEntity<typeof SyncLogEntry>;
