import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { APPROVAL_OUTCOMES } from '@provisioning/shared';
import { uuidPrimaryKey } from './properties.ts';
import { SyncRun } from './sync-run.entity.ts';

/**
 * Support's approval of a run that ended Above Deactivation Threshold (`sync approve`): one per blocked
 * run. The run it queues (trigger `approval`) may deactivate only users of the blocked run's plan
 * (sync_run_blocked_user), once, before `expiresAt`; that run's apply marks it used in its transaction.
 */
export const SyncRunApproval = defineEntity({
  name: 'SyncRunApproval',
  tableName: 'sync_run_approval',
  properties: {
    id: uuidPrimaryKey(),
    blockedRun: p.oneToOne(SyncRun).owner().deleteRule('cascade'),
    approvedBy: p.text(),
    reason: p.text(),
    approvedAt: p.datetime(),
    expiresAt: p.datetime(),
    // Indexed for the delete rule: a run deleted clears it here.
    usedByRun: p.manyToOne(SyncRun).nullable().deleteRule('set null').index(),
    /** Null until a run settles it: applied, or refused because the plan grew or the approval lapsed. */
    outcome: p.enum([...APPROVAL_OUTCOMES]).nullable(),
  },
});
export type SyncRunApproval = InferEntity<typeof SyncRunApproval>;
