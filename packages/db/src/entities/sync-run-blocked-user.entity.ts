import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { SyncRun } from './sync-run.entity.ts';

/**
 * Every user a run that ended Above Deactivation Threshold would have deactivated: what support approves
 * and what the run's details list. Written with the run's final status, in its transaction. The user ID
 * is kept as it was (no reference): a user deleted since still was in the plan.
 */
export const SyncRunBlockedUser = defineEntity({
  name: 'SyncRunBlockedUser',
  tableName: 'sync_run_blocked_user',
  properties: {
    // Checked per statement, not per row (see the statement_level_references migration): up to every
    // managed user of a configuration is written at once.
    run: p.manyToOne(SyncRun).primary().deleteRule('cascade').createForeignKeyConstraint(false),
    userId: p.uuid().primary(),
  },
  primaryKeys: ['run', 'userId'],
});
export type SyncRunBlockedUser = InferEntity<typeof SyncRunBlockedUser>;
