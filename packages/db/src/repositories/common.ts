import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError } from '@provisioning/shared';
import { API_DATABASE_ROLE } from '../orm.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** IDs are UUIDs; anything else cannot name a row, and must not reach PostgreSQL as a uuid cast error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Flushes, turning a unique-index violation into CONFLICT: the check before an insert cannot see a
 * concurrent insert, the index can. The raw error would carry the SQL and its values.
 */
export async function flushOrConflict(em: EntityManager, conflictMessage: string): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException)
      throw new DomainError('CONFLICT', conflictMessage);
    throw error;
  }
}

/**
 * Runs `fn` in a transaction scoped to one organisation: it switches to the API's database role for the
 * transaction (`set local role`, so also where the connection itself has not switched) and names the
 * organisation that role's row-level security policies let through. Inside, only that organisation's
 * configurations, runs and logs exist.
 */
export async function inOrganisation<T>(
  em: EntityManager,
  organisationId: string,
  fn: (em: EntityManager) => Promise<T>,
): Promise<T> {
  if (!isUuid(organisationId)) throw new DomainError('NOT_FOUND', `Organisation ${organisationId} not found`);
  return em.transactional(async (tx) => {
    // `set local role` and the organisation in one round trip: set_config('role') is SET ROLE.
    await tx.execute(`select set_config('role', ?, true), set_config('app.organisation_id', ?, true)`, [
      API_DATABASE_ROLE,
      organisationId,
    ]);
    return fn(tx);
  });
}
