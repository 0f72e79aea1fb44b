import { type EntityManager, findSession } from '@provisioning/db';
import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import { generateCookie, getCookie } from 'hono/cookie';
import type { AppEnv, SessionInfo } from './app-env.ts';

export const SESSION_COOKIE = 'provisioning_session';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Secure everywhere but a loopback address, where there is no TLS to require (the dev server, tests). */
function isSecureContext(c: HonoContext): boolean {
  const { hostname } = new URL(c.req.url);
  return !(LOCAL_HOSTS.has(hostname) || hostname.endsWith('.localhost'));
}

/** The Set-Cookie value that signs this browser in. */
export function sessionCookie(c: HonoContext, token: string, maxAgeSeconds: number): string {
  return generateCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: isSecureContext(c),
    path: '/',
    maxAge: maxAgeSeconds,
  });
}

/** The Set-Cookie value that removes the session cookie. */
export function expiredSessionCookie(c: HonoContext): string {
  return generateCookie(SESSION_COOKIE, '', {
    httpOnly: true,
    sameSite: 'Lax',
    secure: isSecureContext(c),
    path: '/',
    maxAge: 0,
  });
}

/**
 * The session a cookie token names, as procedures and downloads see it, or null when it has ended. A
 * request extends the session's idle expiry; `extendIdle: false` looks without extending it.
 */
export async function loadSession(
  em: EntityManager,
  token: string | undefined,
  options: { extendIdle?: boolean } = {},
): Promise<SessionInfo | null> {
  if (!token) return null;
  const session = await findSession(em, token, options);
  return session ? { token, ...session } : null;
}

/** Resolves the session cookie, if any, for the handlers after it (tRPC and the downloads). */
export function sessionMiddleware(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    const session = await loadSession(c.var.em, token);
    c.set('session', session);
    await next();
    // A cookie that no longer names a live session is removed, so the browser stops sending it.
    if (!session && token !== undefined && !c.res.headers.has('set-cookie')) {
      c.res.headers.append('set-cookie', expiredSessionCookie(c));
    }
  };
}
