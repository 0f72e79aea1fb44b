import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { LOG_RETENTION_DAYS_DEFAULT, RUN_RETENTION_DAYS_DEFAULT, SYNC_SERVICES } from '@provisioning/shared';
import { createdAt, updatedAt, uuidPrimaryKey } from './properties.ts';

export const Organisation = defineEntity({
  name: 'Organisation',
  tableName: 'organisation',
  properties: {
    id: uuidPrimaryKey(),
    name: p.text(),
    timeZone: p.text().default('UTC'),
    provisioningEnabled: p.boolean().default(true),
    syncService: p.enum([...SYNC_SERVICES]).default('user-sync'),
    /** Days after its end a final run's log lines are kept (the log-purge job); checked 7-3650. */
    logRetentionDays: p.integer().default(LOG_RETENTION_DAYS_DEFAULT),
    /** Days after its end a final run's record is kept; checked 7-3650 and at least logRetentionDays. */
    runRetentionDays: p.integer().default(RUN_RETENTION_DAYS_DEFAULT),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  checks: [
    {
      name: 'organisation_log_retention_days_check',
      expression: 'log_retention_days >= 7 and log_retention_days <= 3650',
    },
    {
      name: 'organisation_run_retention_days_check',
      expression:
        'run_retention_days >= 7 and run_retention_days <= 3650 and run_retention_days >= log_retention_days',
    },
  ],
});
export type Organisation = InferEntity<typeof Organisation>;
