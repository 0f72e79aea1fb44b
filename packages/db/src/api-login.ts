import { randomBytes } from 'node:crypto';
import { MIGRATIONS } from './migrations/index.ts';
import { API_DATABASE_ROLE, type Orm } from './orm.ts';
import { sql } from './repositories/common.ts';

/**
 * The API logs in as a role of its own that holds `provisioning_api` and nothing else: neither the
 * tables' owner nor a superuser, nor able to become either. Row-level security then holds even against a
 * statement slipped into one of the API's queries (`reset role` leads back to this login, not to the
 * owner). Migrations, the worker and the CLI use the owner's connection.
 */

/** The login role `pnpm start` and the tests create for the API on a PostgreSQL server. */
export const API_LOGIN_ROLE = 'provisioning_api_login';

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Creates the API's login role if it is missing and grants it the API's role (as the owner, which needs
 * CREATEROLE); with `password`, sets it. Roles belong to the whole server: processes doing this at once
 * may collide, so a collision is tried again.
 */
export async function ensureApiLoginRole(
  orm: Orm,
  { name = API_LOGIN_ROLE, password }: { name?: string; password?: string } = {},
): Promise<void> {
  // ALTER ROLE takes no bind parameters: only a password that needs no quoting is accepted.
  if (password !== undefined && !/^[A-Za-z0-9_-]{16,200}$/.test(password)) {
    throw new Error('The API login password must be 16 to 200 letters, digits, _ or -');
  }
  const role = quoteIdentifier(name);
  for (let attempt = 1; ; attempt++) {
    try {
      await sql(
        orm.em,
        `do $$ begin create role ${role} login; exception when duplicate_object then null; end $$`,
      );
      await sql(orm.em, `grant ${quoteIdentifier(API_DATABASE_ROLE)} to ${role}`);
      if (password !== undefined) await sql(orm.em, `alter role ${role} password '${password}'`);
      return;
    } catch (error) {
      // "tuple concurrently updated" (XX000) or a unique violation on pg_authid/pg_auth_members.
      const code = (error as { code?: string }).code;
      if (attempt >= 5 || (code !== 'XX000' && code !== '23505')) throw error;
    }
  }
}

/** A random password for the API's login role, as `pnpm start` sets it on each start. */
export function newApiLoginPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** `databaseUrl` with the API's login role (and password) in place of the owner's. */
export function apiLoginUrl(databaseUrl: string, password?: string, name = API_LOGIN_ROLE): string {
  const url = new URL(databaseUrl);
  url.username = encodeURIComponent(name);
  url.password = password === undefined ? '' : encodeURIComponent(password);
  return url.toString();
}

interface LoginRow {
  login: string;
  superuser: boolean;
  bypass_rls: boolean;
  owner: boolean;
  api: boolean;
  others: string[];
}

/**
 * Why the connection's login role must not serve the API, or null when it may: it is a superuser,
 * bypasses row-level security, owns the tables (or may become their owner), does not hold the API's
 * role, or holds other roles besides it (`pg_read_all_data`, say).
 */
export async function apiLoginProblem(orm: Orm): Promise<string | null> {
  const [row] = await sql<LoginRow>(
    orm.em,
    `select r.rolname as login, r.rolsuper as superuser, r.rolbypassrls as bypass_rls,
            pg_has_role(r.oid, c.relowner, 'MEMBER') as owner,
            pg_has_role(r.oid, ?, 'MEMBER') as api,
            array(select o.rolname from pg_roles o
                   where o.oid <> r.oid and o.rolname <> ? and pg_has_role(r.oid, o.oid, 'MEMBER')
                   order by o.rolname)::text[] as others
       from pg_roles r, pg_class c
      where r.rolname = session_user and c.oid = 'public.sync_run'::regclass`,
    [API_DATABASE_ROLE, API_DATABASE_ROLE],
  );
  if (!row) return 'the database has no sync_run table: migrate it first';
  const login = quoteIdentifier(row.login);
  if (row.superuser) return `it logs in as ${login}, a superuser`;
  if (row.bypass_rls) return `it logs in as ${login}, which bypasses row-level security`;
  if (row.owner) return `it logs in as ${login}, which owns the tables or may become their owner`;
  if (!row.api) return `it logs in as ${login}, which does not hold the role ${API_DATABASE_ROLE}`;
  if (row.others.length > 0) {
    return `it logs in as ${login}, which may also act as ${row.others.map(quoteIdentifier).join(', ')}`;
  }
  return null;
}

/**
 * The migrations this code knows that the database has not applied, oldest first (all of them when the
 * database was never migrated). The API checks this at start-up: it does not migrate, its login cannot.
 */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  const table = orm.config.get('migrations').tableName ?? 'mikro_orm_migrations';
  let applied: Set<string>;
  try {
    const rows = await sql<{ name: string }>(orm.em, `select "name" from "${table}"`);
    applied = new Set(rows.map((row) => row.name));
  } catch (error) {
    // No table yet (42P01), or one this login may not read yet (42501): an older schema.
    const code = (error as { code?: string }).code;
    if (code !== '42P01' && code !== '42501') throw error;
    applied = new Set();
  }
  return MIGRATIONS.map((migration) => migration.name).filter((name) => !applied.has(name));
}
