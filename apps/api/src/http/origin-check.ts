import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests sent by another site's page (CSRF). Browsers send Origin on every
 * cross-origin POST; it must name the host the browser addressed (the API's own origin, also behind a
 * TLS-terminating proxy) or a trusted origin.
 * A request with neither Origin nor Sec-Fetch-Site comes from a non-browser client, which carries no
 * ambient cookie of a victim, and is let through.
 */
export function originCheck(trustedOrigins: readonly string[]): MiddlewareHandler<AppEnv> {
  const trusted = new Set(trustedOrigins);
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const origin = c.req.header('origin');
    const fetchSite = c.req.header('sec-fetch-site');
    if (
      origin === undefined &&
      (fetchSite === undefined || fetchSite === 'same-origin' || fetchSite === 'none')
    ) {
      return next();
    }
    if (origin !== undefined && (sameHost(origin, c.req.header('host')) || trusted.has(origin)))
      return next();
    c.var.logger.warn({ origin: origin?.slice(0, 200) ?? null, fetchSite }, 'cross-site request refused');
    return c.json(
      { error: 'Cross-site request refused: this request must come from the admin page itself.' },
      403,
    );
  };
}

function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
