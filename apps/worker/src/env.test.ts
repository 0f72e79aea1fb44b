import { EnvError } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app',
  PROVISIONING_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
};

/** The message parseEnv throws for `source`, or '' when it parses. */
function refusal(source: Record<string, string>): string {
  try {
    parseEnv({ ...base, ...source });
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
}

describe("the worker's parseEnv: concurrency, health and metrics", () => {
  it('fills in the defaults: one sync run at a time, port 3002 or a free one, readiness limits', () => {
    const env = parseEnv(base);
    expect(env).toMatchObject({
      WORKER_CONCURRENCY: 2,
      SYNC_RUN_CONCURRENCY: 1,
      WORKER_HTTP_HOST: '127.0.0.1',
      RUN_STALE_AFTER_SECONDS: 90,
      READY_MAX_QUEUE: 1000,
      READY_MAX_QUEUED_WAIT_SECONDS: 600,
    });
    expect(env.WORKER_HTTP_PORT).toBeUndefined();
    expect(env.METRICS_TOKEN).toBeUndefined();
  });

  it('reads each setting given in range, empty ones as unset', () => {
    expect(
      parseEnv({
        ...base,
        WORKER_CONCURRENCY: '64',
        SYNC_RUN_CONCURRENCY: '16',
        WORKER_HTTP_PORT: '0',
        WORKER_HTTP_HOST: '0.0.0.0',
        METRICS_TOKEN: 'metrics-token-0123456789',
        RUN_STALE_AFTER_SECONDS: '15',
        READY_MAX_QUEUE: '50000',
        READY_MAX_QUEUED_WAIT_SECONDS: '10',
      }),
    ).toMatchObject({
      WORKER_CONCURRENCY: 64,
      SYNC_RUN_CONCURRENCY: 16,
      WORKER_HTTP_PORT: 0,
      WORKER_HTTP_HOST: '0.0.0.0',
      METRICS_TOKEN: 'metrics-token-0123456789',
      RUN_STALE_AFTER_SECONDS: 15,
      READY_MAX_QUEUE: 50_000,
      READY_MAX_QUEUED_WAIT_SECONDS: 10,
    });
    expect(parseEnv({ ...base, WORKER_HTTP_PORT: '', READY_MAX_QUEUE: '' })).toMatchObject({
      READY_MAX_QUEUE: 1000,
    });
  });

  it.each([
    ['WORKER_CONCURRENCY', ['0', '65', '1.5', 'two', '-1']],
    ['SYNC_RUN_CONCURRENCY', ['0', '17', '1.5', 'many']],
    ['WORKER_HTTP_PORT', ['65536', '-1', '3002.5', 'http', '1e309']],
    ['RUN_STALE_AFTER_SECONDS', ['14', '3601', '90s', '0']],
    ['READY_MAX_QUEUE', ['0', '-5', 'lots', '1e21', '2.5']],
    ['READY_MAX_QUEUED_WAIT_SECONDS', ['9', 'ten minutes', '-600']],
    ['METRICS_TOKEN', ['short', 'metrics token with spaces', 'x'.repeat(4096)]],
  ])('refuses %s out of range or not a number, naming it and not echoing the value', (name, values) => {
    for (const value of values) {
      const message = refusal({ [name]: value });
      expect(message).toMatch(
        new RegExp(`^The worker cannot start, its environment is not valid:\\n  ${name}: `),
      );
      expect(message).not.toContain(value);
    }
  });
});
