import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from './account.entity.ts';

/** A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here. */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'session',
  properties: {
    tokenHash: p.text().primary(),
    account: p.manyToOne(Account).deleteRule('cascade').index(),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastSeenAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    ipAddress: p.text().nullable(),
    userAgent: p.text().nullable(),
  },
});
export type Session = InferEntity<typeof Session>;
