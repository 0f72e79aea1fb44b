import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError } from '@provisioning/shared';

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
