import type { EntityManager, Orm } from '@provisioning/db';
import type { Context as HonoContext } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../http/app-env.ts';
import type { RequestSession } from '../http/request-session.ts';
import { expiredSessionCookie, sessionCookie } from '../http/session.ts';
import type { LoginRateLimiter } from '../login-rate-limit.ts';
import type { RunChangeFeed } from '../run-change-feed.ts';

/** What the API process holds for the lifetime of the server. */
export interface ApiServices {
  orm: Orm;
  loginLimiter: LoginRateLimiter;
  changeFeed: RunChangeFeed;
  /** How often an open live feed reads its session again when nothing else makes it (30 s by default). */
  liveAccessCheckIntervalMs: number;
}

export interface Context extends ApiServices {
  /** This request's own EntityManager. Long-lived subscriptions fork a fresh one per read instead. */
  em: EntityManager;
  logger: Logger;
  requestId: string;
  /** The cookie's session, read when first needed; `authedProcedure` and below see it read as `session`. */
  requestSession: RequestSession;
  clientAddress: string;
  userAgent: string | null;
  /** Sets or clears the session cookie on this request's response. */
  cookies: { setSession(token: string, maxAgeSeconds: number): void; clearSession(): void };
  /** When a refused request may be tried again (the `Retry-After` header of a 429). */
  setRetryAfter(seconds: number): void;
}

/** `resHeaders`: the headers of the response tRPC will send (the adapter's own Response). */
export function createContext(c: HonoContext<AppEnv>, resHeaders: Headers, services: ApiServices): Context {
  return {
    ...services,
    em: c.var.em,
    logger: c.var.logger,
    requestId: c.var.requestId,
    requestSession: c.var.session,
    clientAddress: c.var.clientAddress,
    userAgent: c.req.header('user-agent') ?? null,
    cookies: {
      setSession: (token, maxAgeSeconds) =>
        resHeaders.append('set-cookie', sessionCookie(c, token, maxAgeSeconds)),
      clearSession: () => resHeaders.append('set-cookie', expiredSessionCookie(c)),
    },
    setRetryAfter: (seconds) => resHeaders.set('retry-after', String(Math.max(1, Math.ceil(seconds)))),
  };
}
