import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import { generateCookie, getCookie } from 'hono/cookie';
import type { AppEnv } from './app-env.ts';
import { RequestSession } from './request-session.ts';

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

/** Names the session cookie, if any, for the handlers after it (tRPC and the downloads), read when needed. */
export function sessionMiddleware(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const session = new RequestSession(c.var.em, getCookie(c, SESSION_COOKIE));
    c.set('session', session);
    await next();
    // A cookie that no longer names a live session is removed, so the browser stops sending it.
    if (session.ended && !c.res.headers.has('set-cookie')) {
      c.res.headers.append('set-cookie', expiredSessionCookie(c));
    }
  };
}
