import { setTimeout as sleep } from 'node:timers/promises';

/** How a connector retries a request that failed in a way worth retrying (network trouble, 429, 5xx). */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 4 (three retries). */
  attempts?: number;
  /** Wait before the first retry; doubles on each further one. Default 1 s. */
  retryDelayMs?: number;
  /** The longest wait, also when the server asks for more (Retry-After). Default 60 s. */
  maxRetryDelayMs?: number;
  /** Stops the waiting, and the attempts, at once. */
  signal?: AbortSignal;
}

/** What the caller decides about a failed attempt. */
export type RetryVerdict =
  /** Not worth retrying: the error is thrown as it is. */
  | false
  /** Retry, after the server's Retry-After (ms) when it gave one, else after the doubling delay. */
  | { retryAfterMs?: number };

/**
 * Runs `attempt` until it succeeds, `verdict` says an error is not worth retrying, or the attempts are
 * spent (the last error is thrown: the caller's SourceError says whether the run may be retried later).
 * `onRetry` hears about each failed attempt that will be retried, with the wait before the next.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  verdict: (error: unknown) => RetryVerdict,
  options: RetryOptions & { onRetry?: (error: unknown, attemptNumber: number, delayMs: number) => void } = {},
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 4);
  const maxDelay = options.maxRetryDelayMs ?? 60_000;
  for (let attemptNumber = 1; ; attemptNumber++) {
    options.signal?.throwIfAborted();
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      options.signal?.throwIfAborted();
      const retry = verdict(error);
      if (retry === false || attemptNumber >= attempts) throw error;
      const delay = Math.min(
        maxDelay,
        retry.retryAfterMs ?? (options.retryDelayMs ?? 1_000) * 2 ** (attemptNumber - 1),
      );
      options.onRetry?.(error, attemptNumber, delay);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}

/**
 * An HTTP Retry-After header in milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; Date.parse alone would read `-5` as a year.
  const date = /^[A-Za-z]{3}, /.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
