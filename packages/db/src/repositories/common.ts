import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError } from '@provisioning/shared';
import type { Knex } from 'knex';
import { escapeLiteral } from 'pg';
import { API_DATABASE_ROLE } from '../orm.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** IDs are UUIDs; anything else cannot name a row, and must not reach PostgreSQL as a uuid cast error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A timestamptz as PostgreSQL writes it in UTC (DateStyle ISO): date, time, up to 6 fractional digits, +00. */
const PG_UTC_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

/**
 * A timestamp read from PostgreSQL (the ORM's driver hands timestamptz over as text) as the API writes
 * times: `Date.prototype.toISOString`, milliseconds truncated. Text in UTC is rewritten directly: parsing
 * it into a Date was the runs list's largest cost of its own (150 timestamps a page). Anything else goes
 * through Date.
 */
export function isoTime(value: Date | string): string {
  if (typeof value === 'string') {
    const utc = PG_UTC_TIMESTAMP.exec(value);
    if (utc) return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
    return new Date(value).toISOString();
  }
  return value.toISOString();
}

/** An SQL text with `?` placeholders and its values, in order. */
export interface SqlQuery {
  sql: string;
  params: readonly unknown[];
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

const EXPRESSION = Symbol('SQL expression');

/**
 * An SQL expression that stands where a value would in a statement read by `readInOrganisation` (written
 * in as it is, not as a literal). Only this module makes them (the key is its own): `SCOPED_ORGANISATION`.
 */
export interface SqlExpression {
  readonly [EXPRESSION]: string;
}

/** The organisation the message's check named (`app.organisation_id`), as row-level security reads it. */
export const SCOPED_ORGANISATION: SqlExpression = {
  [EXPRESSION]: `nullif(current_setting('app.organisation_id', true), '')::uuid`,
};

/**
 * A read's organisation, named by a check made in the same message rather than by its ID: the API's hot
 * reads check the session that way (`sessionScope` in session.repository.ts). `check` runs after the role
 * is set; it sets `app.organisation_id` when it admits the read and returns its rows. `admit` is told
 * those rows before any result is returned and throws to refuse them. A check that does not admit leaves
 * no organisation set, so the statements see nothing under row-level security.
 */
export interface CheckedScope {
  check: SqlQuery;
  admit(rows: unknown[]): void;
}

/** Whose rows a read sees: the organisation with this ID, or the one a check in the same message names. */
export type ReadScope = string | CheckedScope;

/** What a read's statements compare `organisation_id` with: the ID, or the organisation the check set. */
export function scopeOrganisation(scope: ReadScope): string | SqlExpression {
  return typeof scope === 'string' ? scope : SCOPED_ORGANISATION;
}

/** A value as an SQL literal: strings and dates quoted by pg's `escapeLiteral`, numbers and booleans bare. */
function literal(value: unknown): string {
  if (typeof value === 'object' && value !== null && EXPRESSION in value)
    return (value as SqlExpression)[EXPRESSION];
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    // A message is a C string: a NUL would end it early. As a parameter it would be refused anyway.
    if (value.includes('\0')) throw new DomainError('BAD_INPUT', 'Text with a NUL character cannot be read');
    return escapeLiteral(value);
  }
  if (value instanceof Date) return escapeLiteral(value.toISOString());
  if (typeof value === 'boolean') return String(value);
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint')
    return String(value);
  throw new Error(`No literal form for a value of type ${typeof value}`);
}

/**
 * A statement's `?` placeholders written out as literals. A quoted literal is untyped until its context
 * (or a cast) types it, as an untyped parameter is. Only for statement texts built here, whose `?` are all
 * placeholders (none inside their own string literals).
 */
function withLiterals({ sql: text, params }: SqlQuery): string {
  let next = 0;
  const written = text.replace(/\?/g, () => {
    if (next >= params.length) throw new Error('More placeholders than values in a statement');
    return literal(params[next++]);
  });
  if (next !== params.length) throw new Error('More values than placeholders in a statement');
  return written;
}

/**
 * `inOrganisation` for reads, in one round trip: the role and the organisation are set and `statements`
 * run in one simple-protocol message, which PostgreSQL runs as one implicit transaction (so
 * `set_config(..., true)` holds to its end, and a failure rolls all of it back). The simple protocol
 * takes no parameters, so the values are written in as literals (`withLiterals`). Each statement's rows
 * come back in order. Inside a caller's transaction it runs them there, as `inOrganisation` does.
 *
 * With a `CheckedScope` the check runs first in the same message and names the organisation (statements
 * then compare with `scopeOrganisation(scope)`); its rows go to `admit` before anything is returned.
 *
 * The API's hot paths (the runs list and a run's details) use it: a transaction of its own costs four
 * round trips (begin, the settings, the read, commit) where this costs one, the session check included.
 */
export async function readInOrganisation<T extends unknown[][]>(
  em: EntityManager,
  scope: ReadScope,
  statements: { [K in keyof T]: SqlQuery },
): Promise<T> {
  if (typeof scope !== 'string') return readChecked(em, scope, statements);
  if (!isUuid(scope)) throw new DomainError('NOT_FOUND', `Organisation ${scope} not found`);
  if (em.getTransactionContext()) {
    return inOrganisation(em, scope, async (tx) => {
      const results: unknown[][] = [];
      for (const statement of statements) results.push(await sql(tx, statement.sql, statement.params));
      return results as T;
    });
  }
  const results = await sendOneMessage(em, [
    {
      sql: `select set_config('role', ?, true), set_config('app.organisation_id', ?, true)`,
      params: [API_DATABASE_ROLE, scope],
    },
    ...statements,
  ]);
  return results.slice(1) as T;
}

async function readChecked<T extends unknown[][]>(
  em: EntityManager,
  scope: CheckedScope,
  statements: readonly SqlQuery[],
): Promise<T> {
  // The check names the organisation for this message only: never inside a transaction that goes on.
  if (em.getTransactionContext()) throw new Error('A checked read cannot run inside a transaction');
  const [, checked, ...results] = await sendOneMessage(em, [
    {
      sql: `select set_config('role', ?, true), set_config('app.organisation_id', '', true)`,
      params: [API_DATABASE_ROLE],
    },
    scope.check,
    ...statements,
  ]);
  scope.admit(checked ?? []);
  return results as T;
}

/** Statements as one simple-protocol message (see readInOrganisation); each one's rows, in order. */
async function sendOneMessage(em: EntityManager, statements: readonly SqlQuery[]): Promise<unknown[][]> {
  const message = statements.map(withLiterals).join(';\n');
  // No bindings: knex passes the text through untouched and pg sends it as one simple query.
  const results = (await em.getConnection().getKnex().raw(message)) as
    | { rows: unknown[] }
    | { rows: unknown[] }[];
  // pg answers one statement with its result, several with an array of them.
  return (Array.isArray(results) ? results : [results]).map((result) => result.rows);
}
