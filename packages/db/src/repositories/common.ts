import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError } from '@provisioning/shared';
import type { Knex } from 'knex';
import { API_DATABASE_ROLE } from '../orm.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** IDs are UUIDs; anything else cannot name a row, and must not reach PostgreSQL as a uuid cast error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Where a raw statement runs: an EntityManager (inside its transaction, if it has one) or knex / a knex transaction. */
export type SqlRunner = EntityManager | Knex | Knex.Transaction;

/**
 * The one way raw SQL runs: `?` placeholders (`?::type[]` for arrays: pg sends a JS array as a PostgreSQL
 * array, which knex's binding types do not describe), the rows back.
 */
export async function sql<T = Record<string, unknown>>(
  db: SqlRunner,
  text: string,
  params: readonly unknown[] = [],
): Promise<T[]> {
  const knex =
    'getConnection' in db
      ? ((db.getTransactionContext() as Knex.Transaction | undefined) ?? db.getConnection().getKnex())
      : db;
  const result = (await knex.raw(text, params as readonly Knex.RawBinding[])) as { rows: T[] };
  return result.rows;
}

/**
 * Whether an error is PostgreSQL's unique violation (SQLSTATE 23505), of `constraint` when one is named:
 * raw driver errors and MikroORM's exceptions (which copy the driver error's fields) alike.
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = error as { code?: unknown; constraint?: unknown } | null;
  return (
    typeof pgError === 'object' &&
    pgError !== null &&
    pgError.code === '23505' &&
    (constraint === undefined || pgError.constraint === constraint)
  );
}

/**
 * Flushes, turning a unique-index violation into CONFLICT: the check before an insert cannot see a
 * concurrent insert, the index can. The raw error would carry the SQL and its values.
 */
export async function flushOrConflict(em: EntityManager, conflictMessage: string): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', conflictMessage);
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
    await sql(tx, `select set_config('role', ?, true), set_config('app.organisation_id', ?, true)`, [
      API_DATABASE_ROLE,
      organisationId,
    ]);
    return fn(tx);
  });
}
