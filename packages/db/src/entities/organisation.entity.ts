import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { SYNC_SERVICES } from '@provisioning/shared';

export const Organisation = defineEntity({
  name: 'Organisation',
  tableName: 'organisation',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.text(),
    timeZone: p.text().default('UTC'),
    provisioningEnabled: p.boolean().default(true),
    syncService: p.enum([...SYNC_SERVICES]).default('user-sync'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type Organisation = InferEntity<typeof Organisation>;
