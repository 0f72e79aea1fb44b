import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { SYNC_SERVICES } from '@provisioning/shared';
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
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type Organisation = InferEntity<typeof Organisation>;
