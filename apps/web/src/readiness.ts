export type Readiness = 'checking' | 'ready' | 'database-unreachable' | 'api-unreachable';

/**
 * What a /readyz answer says about the back end. A 503 carrying the API's own body means the API runs but
 * its database does not answer; anything else that is not a 200 "ready" (the dev proxy's 502/504 when
 * nothing listens, a network error passed as `null`) means the API itself is not there.
 */
export function readinessFromResponse(status: number | null, body: unknown): Readiness {
  const reported = typeof body === 'object' && body !== null && 'status' in body ? body.status : undefined;
  if (status === 200 && reported === 'ready') return 'ready';
  if (status === 503 && reported === 'unavailable') return 'database-unreachable';
  return 'api-unreachable';
}

export const READINESS_MESSAGES: Record<Readiness, string> = {
  checking: 'Checking the API…',
  ready: 'API ready: the API and its database are up.',
  'database-unreachable': 'API running, but its database is unreachable.',
  'api-unreachable': 'API unreachable — is `pnpm start` running?',
};
