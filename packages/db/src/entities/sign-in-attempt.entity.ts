import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * Sign-in attempts counted per key (`account:<SHA-256 of the email>` or `address:<ip>`) in a fixed window. Kept in
 * PostgreSQL, not in a process, so every API replica counts against the same limit. Written only by
 * sign-in-attempt.repository.ts, one atomic upsert per attempt.
 */
export const SignInAttempt = defineEntity({
  name: 'SignInAttempt',
  tableName: 'sign_in_attempt',
  properties: {
    key: p.text().primary(),
    attempts: p.integer(),
    // Expired windows are deleted by this column.
    windowEndsAt: p.datetime().index(),
  },
});
export type SignInAttempt = InferEntity<typeof SignInAttempt>;
