import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CONNECTORS, type FieldMapping } from '@provisioning/shared';
import { Organisation } from './organisation.entity.ts';
import { createdAt, updatedAt, uuidPrimaryKey } from './properties.ts';

export const SyncConfiguration = defineEntity({
  name: 'SyncConfiguration',
  tableName: 'sync_configuration',
  properties: {
    id: uuidPrimaryKey(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    name: p.text(),
    connector: p.enum([...CONNECTORS]),
    /** Connector settings without their secrets. */
    settings: p.json<Record<string, unknown>>(),
    /** The secret settings, AES-256-GCM sealed and bound to organisation and configuration. */
    secrets: p.text().nullable(),
    mapping: p.json<FieldMapping>(),
    schedule: p.text().nullable(),
    scheduleTimeZone: p.text().nullable(),
    thresholdCount: p.integer().default(500),
    thresholdPercent: p.decimal('number').precision(5).scale(2).default(20),
    enabled: p.boolean().default(true),
    /** Data Load Failed runs in a row, kept by the trigger sync_run_circuit_breaker (see its migration). */
    consecutiveFailures: p.integer().default(0),
    alertAfterFailures: p.integer().default(3),
    pauseAfterFailures: p.integer().default(5),
    /** Set when the scheduler must queue no runs of it: by the trigger at the pause, or by support. */
    pausedAt: p.datetime().nullable(),
    pausedReason: p.text().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  checks: [
    {
      name: 'sync_configuration_circuit_check',
      expression:
        'alert_after_failures >= 1 and alert_after_failures <= 100 and pause_after_failures >= alert_after_failures and pause_after_failures <= 100',
    },
  ],
  uniques: [
    {
      name: 'sync_configuration_name_unique',
      expression:
        'create unique index "sync_configuration_name_unique" on "sync_configuration" ("organisation_id", lower("name"))',
    },
  ],
});
export type SyncConfiguration = InferEntity<typeof SyncConfiguration>;
