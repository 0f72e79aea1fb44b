import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { SyncRun } from './sync-run.entity.ts';

/**
 * Up to a thousand consecutive lines of a run's log (a source row, a deactivation, or a load error each),
 * as a JSON array of lines, each line an array of its fields in this order: seq, row number, external
 * ID, email, name, action, outcome, changes, message, hint. The `sync_log` view shows one row per line.
 */
export const SyncLogChunk = defineEntity({
  name: 'SyncLogChunk',
  tableName: 'sync_log_chunk',
  properties: {
    run: p.manyToOne(SyncRun).primary().deleteRule('cascade').createForeignKeyConstraint(false),
    firstSeq: p.integer().primary(),
    lastSeq: p.integer(),
    lines: p.json<unknown[][]>(),
  },
  primaryKeys: ['run', 'firstSeq'],
});
export type SyncLogChunk = InferEntity<typeof SyncLogChunk>;
