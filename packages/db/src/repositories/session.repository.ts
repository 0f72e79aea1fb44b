import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Account, Session } from '../entities/index.ts';
import { hashPassword, verifyPassword } from '../password.ts';
import { escapeLike } from './common.ts';

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

/** The account whose email and password these are, or null; the email's case does not matter. */
export async function findAccountByCredentials(
  em: EntityManager,
  email: string,
  password: string,
): Promise<Account | null> {
  const account = await em.findOne(
    Account,
    { email: { $ilike: escapeLike(email) } },
    {
      populate: ['organisation'],
    },
  );
  if (!account) {
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await verifyPassword(password, await decoyHash);
    return null;
  }
  return (await verifyPassword(password, account.passwordHash)) ? account : null;
}

export interface NewSession {
  /** Goes in the cookie; only its hash is stored. */
  token: string;
  expiresAt: Date;
}

export async function createSession(
  em: EntityManager,
  account: Account,
  client: { ipAddress?: string | null; userAgent?: string | null } = {},
  now = new Date(),
): Promise<NewSession> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_IDLE_TIMEOUT_MS);
  em.create(Session, {
    tokenHash: tokenHash(token),
    account,
    createdAt: now,
    lastSeenAt: now,
    expiresAt,
    ipAddress: client.ipAddress?.slice(0, 100) ?? null,
    userAgent: client.userAgent?.slice(0, 500) ?? null,
  });
  await em.flush();
  return { token, expiresAt };
}

/**
 * The live session behind a cookie token, with its account and organisation, or null when the token is
 * unknown, revoked or expired. Extends the idle expiry (never past the maximum age) unless `extendIdle` is
 * false: a look that is not the person's own activity (an open live feed checking it is still allowed)
 * must not keep an unattended session alive.
 */
export async function findSession(
  em: EntityManager,
  token: string,
  { now = new Date(), extendIdle = true }: { now?: Date; extendIdle?: boolean } = {},
): Promise<Session | null> {
  if (token.length === 0 || token.length > 200) return null;
  const session = await em.findOne(
    Session,
    { tokenHash: tokenHash(token) },
    { populate: ['account', 'account.organisation'] },
  );
  if (!session || session.revokedAt || session.expiresAt <= now) return null;
  const absoluteEnd = session.createdAt.getTime() + SESSION_MAX_AGE_MS;
  if (absoluteEnd <= now.getTime()) return null;
  if (extendIdle && now.getTime() - session.lastSeenAt.getTime() >= SESSION_TOUCH_INTERVAL_MS) {
    session.lastSeenAt = now;
    session.expiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_TIMEOUT_MS, absoluteEnd));
    await em.flush();
  }
  return session;
}

/** Signs one browser out. Unknown tokens are ignored: signing out twice is not an error. */
export async function revokeSession(em: EntityManager, token: string, now = new Date()): Promise<void> {
  await em.nativeUpdate(Session, { tokenHash: tokenHash(token), revokedAt: null }, { revokedAt: now });
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
