import type { WorkdaySettings } from '@provisioning/shared';
import { exchange, type GuardedAgents, type HttpAnswer, quoteBody } from './http-request.ts';
import { parseRetryAfter, withRetries } from './retry.ts';
import { type LoadOptions, SourceError } from './source.ts';

/**
 * How the Workday connector talks to Workday, whichever way it reads it: one request at a time through
 * the guarded agents, retried on 429, 5xx and network trouble (honouring Retry-After), then a transient
 * SourceError for the run to be retried later; basic credentials of the ISU or an OAuth bearer token.
 */

export interface WorkdayLoadOptions extends LoadOptions {
  /** Attempts per request in all, the first included, for 429, 5xx and network trouble. Default 4. */
  attempts?: number;
  /** Wait before the first retry; doubles on each further one, unless the server says (Retry-After). Default 1 s. */
  retryDelayMs?: number;
  /** The longest wait between attempts, Retry-After included. Default 60 s. */
  maxRetryDelayMs?: number;
  /** The longest an answer may go without a byte arriving before it is given up (transient). Default 60 s. */
  idleTimeoutMs?: number;
  /** Told about each failed attempt that will be retried, with the wait before the next. */
  onRetry?: (error: SourceError, attempt: number, delayMs: number) => void;
  /** The run's start, which every Get_Workers page is read as of. Default now. */
  asOf?: Date;
}

/** What both readings share while a load runs: agents, limits, retries, progress. */
export interface WorkdayCall {
  settings: WorkdaySettings;
  agents: GuardedAgents;
  options: WorkdayLoadOptions;
  /** Bytes received so far over every request of the load. */
  bytes: { total: number };
}

/**
 * Sends one request with retries: network trouble, 429 and 5xx (the last two through `classify`, which
 * returns a transient SourceError for them) are tried again, honouring Retry-After; after the last
 * attempt the transient SourceError is thrown, for the run to be retried later.
 */
export async function sendWithRetries<T>(
  call: WorkdayCall,
  request: () => Parameters<typeof exchange>[0],
  classify: (answer: HttpAnswer) => T,
): Promise<T> {
  const { options, settings } = call;
  return withRetries(
    async () => {
      const answer = await exchange(request(), call.agents, {
        timeoutMs: settings.timeoutMs,
        idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
        maxBytes: settings.maxBytes,
        signal: options.signal,
        onBytes: (bytes) => {
          call.bytes.total += bytes;
          options.onProgress?.({ bytes: call.bytes.total });
        },
      });
      return classify(answer);
    },
    (error) =>
      error instanceof SourceError && error.transient
        ? { retryAfterMs: (error as RetryableError).retryAfterMs }
        : false,
    {
      attempts: options.attempts ?? 4,
      retryDelayMs: options.retryDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs,
      signal: options.signal,
      onRetry: (error, attempt, delayMs) => options.onRetry?.(error as SourceError, attempt, delayMs),
    },
  );
}

/** A transient SourceError that carries the server's Retry-After. */
type RetryableError = SourceError & { retryAfterMs?: number };

/**
 * The error for an answer that is throttled (429) or failed on the server's side (5xx): transient,
 * carrying Retry-After for the next attempt. Null for any other status.
 */
export function busyAnswer(answer: HttpAnswer, service: string): SourceError | null {
  if (answer.status !== 429 && answer.status < 500) return null;
  const throttled = answer.status === 429;
  const error: RetryableError = new SourceError(
    'SourceUnreachable',
    `${service} answered HTTP ${answer.status} (${throttled ? 'too many requests' : 'a server error'})${quoted(answer)}`,
    {
      hint: throttled
        ? 'Workday is limiting the requests of this tenant: the run is retried later. If it keeps happening, schedule the sync away from other integrations.'
        : 'Usually a passing Workday problem (maintenance windows are announced on the Workday status page): the run is retried later.',
      transient: true,
    },
  );
  error.retryAfterMs = parseRetryAfter(answer.headers['retry-after'] as string | undefined);
  return error;
}

export const quoted = (answer: HttpAnswer) => {
  const text = quoteBody(answer.body);
  return text === '' ? '.' : `: ${text}`;
};

/** `Authorization` for a request: the ISU's basic credentials, or the bearer token OAuth gave. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** The host's OAuth token endpoint: `/ccx/oauth2/{tenant}/token`. */
export function workdayTokenUrl(origin: string, tenant: string): URL {
  return new URL(`/ccx/oauth2/${encodeURIComponent(tenant)}/token`, origin);
}

/**
 * Exchanges the configured refresh token for an access token (an API client registered for integrations,
 * `grant_type=refresh_token`, the client's ID and secret as basic credentials).
 */
async function accessToken(call: WorkdayCall, origin: string, tenant: string): Promise<string> {
  const oauth = call.settings.oauth!;
  const url = workdayTokenUrl(origin, tenant);
  const service = `The Workday token endpoint of tenant ${tenant}`;
  return sendWithRetries(
    call,
    () => ({
      method: 'POST',
      url,
      headers: {
        Authorization: basicAuthorization(oauth.clientId, oauth.clientSecret),
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: oauth.refreshToken,
      }).toString(),
    }),
    (answer) => {
      const busy = busyAnswer(answer, service);
      if (busy) throw busy;
      const body = parseJson(answer.body) as { access_token?: unknown; error?: unknown } | undefined;
      if (answer.status >= 200 && answer.status < 300 && typeof body?.access_token === 'string') {
        return body.access_token;
      }
      const reason = typeof body?.error === 'string' ? body.error : `HTTP ${answer.status}`;
      if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
        throw new SourceError(
          'AuthFailed',
          `${service} refused the configured OAuth credentials (${reason}).`,
          {
            hint:
              reason === 'invalid_grant'
                ? 'The refresh token has expired or was revoked: generate a new one for the API client in Workday (View API Clients → Manage Refresh Tokens for Integrations) and enter it in the configuration.'
                : 'Check the OAuth client ID and secret in the configuration against the API client registered for integrations in Workday.',
          },
        );
      }
      throw new SourceError(
        'BadResponse',
        `${service} answered HTTP ${answer.status} without an access token${quoted(answer)}`,
        { hint: 'Check the host of the configuration; if it is right, contact support.' },
      );
    },
  );
}

/** How requests authenticate: basic credentials of the ISU, or a bearer token when OAuth is configured. */
export async function authorization(call: WorkdayCall, origin: string, tenant: string): Promise<string> {
  const { settings } = call;
  if (settings.oauth) return `Bearer ${await accessToken(call, origin, tenant)}`;
  return basicAuthorization(settings.username, settings.password ?? '');
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
