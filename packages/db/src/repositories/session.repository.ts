import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role, SyncService } from '@provisioning/shared';
import { Session } from '../entities/index.ts';
import { hashPassword, verifyPassword } from '../password.ts';
import { type CheckedScope, type SqlQuery, sql } from './common.ts';

/** A session ends after this long without a request... */
export const SESSION_IDLE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** ...and this long after sign-in whatever happens. */
export const SESSION_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** lastSeenAt and the idle expiry are written at most this often, not on every request. */
const SESSION_TOUCH_INTERVAL_MS = 60 * 1000;

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A hash to verify against when no account has the email, so both answers take the same time. */
let decoyHash: Promise<string> | undefined;

/**
 * The ID of the account whose email and password these are, or null; the email's case does not matter.
 * The API's database role reads no account table: `api_account_for_sign_in` hands it the one hash to check.
 */
export async function findAccountByCredentials(
  em: EntityManager,
  email: string,
  password: string,
): Promise<{ id: string } | null> {
  const [account] = await sql<{ id: string; password_hash: string }>(
    em,
    'select "id", "password_hash" from api_account_for_sign_in(?)',
    [email],
  );
  if (!account) {
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await verifyPassword(password, await decoyHash);
    return null;
  }
  return (await verifyPassword(password, account.password_hash)) ? { id: account.id } : null;
}

export interface NewSession {
  /** Goes in the cookie; only its hash is stored. */
  token: string;
  expiresAt: Date;
}

export async function createSession(
  em: EntityManager,
  account: { id: string },
  client: { ipAddress?: string | null; userAgent?: string | null } = {},
  now = new Date(),
): Promise<NewSession> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_IDLE_TIMEOUT_MS);
  await sql(em, 'select api_create_session(?, ?, ?, ?, ?, ?)', [
    tokenHash(token),
    account.id,
    now,
    expiresAt,
    client.ipAddress?.slice(0, 100) ?? null,
    client.userAgent?.slice(0, 500) ?? null,
  ]);
  return { token, expiresAt };
}

/** A live session: who is signed in, with their roles and organisation, as read on each request. */
export interface LiveSession {
  account: { id: string; email: string; name: string };
  roles: Role[];
  organisation: {
    id: string;
    name: string;
    timeZone: string;
    provisioningEnabled: boolean;
    syncService: SyncService;
  };
}

interface SessionRow {
  account_id: string;
  email: string;
  name: string;
  roles: Role[];
  organisation_id: string;
  organisation_name: string;
  time_zone: string;
  provisioning_enabled: boolean;
  sync_service: SyncService;
}

/** The statement that reads (and touches) the live session behind a token: `api_session`'s row. */
function sessionLookup(token: string, now: Date, extendIdle: boolean, columns = '*'): SqlQuery {
  return {
    sql: `select ${columns} from api_session(?, ?, ?, ?, ?, ?) s`,
    params: [
      tokenHash(token),
      now,
      SESSION_IDLE_TIMEOUT_MS,
      SESSION_MAX_AGE_MS,
      SESSION_TOUCH_INTERVAL_MS,
      extendIdle,
    ],
  };
}

/** Longer or empty cookie values are never tokens: no lookup is made for them. */
function isPlausibleToken(token: string): boolean {
  return token.length > 0 && token.length <= 200;
}

function liveSession(row: SessionRow): LiveSession {
  return {
    account: { id: row.account_id, email: row.email, name: row.name },
    roles: row.roles,
    organisation: {
      id: row.organisation_id,
      name: row.organisation_name,
      timeZone: row.time_zone,
      provisioningEnabled: row.provisioning_enabled,
      syncService: row.sync_service,
    },
  };
}

/**
 * The live session behind a cookie token, with its account and organisation, or null when the token is
 * unknown, revoked or expired: one round trip (`api_session`). Extends the idle expiry (never past the
 * maximum age) unless `extendIdle` is false: a look that is not the person's own activity (an open live
 * feed checking it is still allowed) must not keep an unattended session alive.
 */
export async function findSession(
  em: EntityManager,
  token: string,
  { now = new Date(), extendIdle = true }: { now?: Date; extendIdle?: boolean } = {},
): Promise<LiveSession | null> {
  if (!isPlausibleToken(token)) return null;
  const lookup = sessionLookup(token, now, extendIdle);
  const [row] = await sql<SessionRow>(em, lookup.sql, lookup.params);
  return row ? liveSession(row) : null;
}

/**
 * A read scoped to the organisation of the session behind `token`, checked in the read's own message
 * (`readInOrganisation`): the session is looked up (and its idle expiry extended) as `findSession` does,
 * and the organisation is named only when one of the session's roles is in `roles`. `admit` is told the
 * session found (null: none) before anything read is returned, and throws to refuse it; the read itself
 * sees nothing when no session, or a session without those roles, was found.
 */
export function sessionScope(
  token: string,
  roles: readonly Role[],
  admit: (session: LiveSession | null) => void,
  now = new Date(),
): CheckedScope {
  // An implausible token looks up a hash no session has: the read sees nothing and admit is told null.
  const lookup = sessionLookup(
    isPlausibleToken(token) ? token : '',
    now,
    true,
    `s.*, case when s.roles && string_to_array(?, ',') then set_config('app.organisation_id', s.organisation_id::text, true) end as admitted`,
  );
  return {
    check: { sql: lookup.sql, params: [roles.join(','), ...lookup.params] },
    admit: (rows) => {
      const [row] = rows as SessionRow[];
      admit(row ? liveSession(row) : null);
    },
  };
}

/** Signs one browser out. Unknown tokens are ignored: signing out twice is not an error. */
export async function revokeSession(em: EntityManager, token: string, now = new Date()): Promise<void> {
  await sql(em, 'select api_revoke_session(?, ?)', [tokenHash(token), now]);
}

/** Signs an account out everywhere (support, a password change); returns how many sessions ended. */
export async function revokeSessionsOf(
  em: EntityManager,
  accountId: string,
  now = new Date(),
): Promise<number> {
  return em.nativeUpdate(
    Session,
    { account: accountId, revokedAt: null, expiresAt: { $gt: now } },
    { revokedAt: now },
  );
}
