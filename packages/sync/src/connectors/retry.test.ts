import { describe, expect, it } from 'vitest';
import { parseRetryAfter, withRetries } from './retry.ts';

class Flaky extends Error {
  constructor(readonly retryAfterMs?: number) {
    super('flaky');
  }
}

describe('withRetries', () => {
  it('retries a retryable failure with doubling waits until an attempt succeeds', async () => {
    const waits: number[] = [];
    const result = await withRetries(
      async (n) => {
        if (n < 3) throw new Flaky();
        return `done on ${n}`;
      },
      () => ({}),
      { retryDelayMs: 5, onRetry: (_e, _n, delay) => waits.push(delay) },
    );
    expect(result).toBe('done on 3');
    expect(waits).toEqual([5, 10]);
  });

  it("waits what the server's Retry-After asks, capped at the longest wait", async () => {
    const waits: number[] = [];
    await withRetries(
      async (n) => {
        if (n === 1) throw new Flaky(20);
        if (n === 2) throw new Flaky(5_000);
      },
      (error) => ({ retryAfterMs: (error as Flaky).retryAfterMs }),
      { retryDelayMs: 1, maxRetryDelayMs: 30, onRetry: (_e, _n, delay) => waits.push(delay) },
    );
    expect(waits).toEqual([20, 30]);
  });

  it('throws the last error once the attempts are spent', async () => {
    let calls = 0;
    const failing = withRetries(
      async () => {
        calls += 1;
        throw new Flaky();
      },
      () => ({}),
      { attempts: 4, retryDelayMs: 1 },
    );
    await expect(failing).rejects.toBeInstanceOf(Flaky);
    expect(calls).toBe(4);
  });

  it('throws a failure that is not worth retrying at once', async () => {
    let calls = 0;
    const failing = withRetries(
      async () => {
        calls += 1;
        throw new Error('bad password');
      },
      () => false,
      { retryDelayMs: 1 },
    );
    await expect(failing).rejects.toThrow('bad password');
    expect(calls).toBe(1);
  });

  it('stops waiting as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const failing = withRetries(
      async () => {
        throw new Flaky();
      },
      () => ({}),
      {
        retryDelayMs: 60_000,
        signal: controller.signal,
        onRetry: () => controller.abort(new Error('cancelled')),
      },
    );
    await expect(failing).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.parse('2026-12-02T07:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 02 Dec 2026 07:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 02 Dec 2026 06:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });
});
