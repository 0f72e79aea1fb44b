import { EnvError } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

describe('parseEnv', () => {
  it('fills in the defaults when only DATABASE_URL is set', () => {
    expect(parseEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app' })).toEqual({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app',
      PORT: 3000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'development',
      TRUSTED_ORIGINS: [],
      TRUST_PROXY: false,
      TRUSTED_PROXY_HOPS: 1,
      DATABASE_SHARED_SESSION: false,
      LIVE_POLL_INTERVAL_MS: 500,
      LIVE_ACCESS_CHECK_INTERVAL_MS: 30_000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      LOG_DOWNLOADS_PER_SESSION: 2,
      LOG_DOWNLOADS_PER_PROCESS: 4,
      LOG_DOWNLOAD_STALL_TIMEOUT_MS: 30_000,
    });
  });

  it('says how to set DATABASE_URL or use pnpm start when it is missing or empty', () => {
    for (const source of [{}, { DATABASE_URL: '' }]) {
      expect(() => parseEnv(source)).toThrow(EnvError);
      expect(() => parseEnv(source)).toThrow(/DATABASE_URL is not set.*`pnpm start`/s);
    }
  });

  it('reads trusted origins as a list and refuses anything that is not an origin', () => {
    const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app' };
    expect(
      parseEnv({ ...base, TRUSTED_ORIGINS: 'https://a.example, http://b.example:8080' }).TRUSTED_ORIGINS,
    ).toEqual(['https://a.example', 'http://b.example:8080']);
    for (const bad of ['a.example', 'https://a.example/path', '*']) {
      expect(() => parseEnv({ ...base, TRUSTED_ORIGINS: bad })).toThrow(/TRUSTED_ORIGINS/);
    }
    expect(() => parseEnv({ ...base, TRUST_PROXY: 'yes' })).toThrow(/TRUST_PROXY must be true or false/);
    expect(parseEnv({ ...base, TRUSTED_PROXY_HOPS: '2' }).TRUSTED_PROXY_HOPS).toBe(2);
    for (const bad of ['0', '-1', '1.5', 'two', '11']) {
      expect(() => parseEnv({ ...base, TRUSTED_PROXY_HOPS: bad })).toThrow(/TRUSTED_PROXY_HOPS/);
    }
  });

  it('refuses intervals and timeouts that are not whole milliseconds in range', () => {
    const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app' };
    expect(parseEnv({ ...base, SHUTDOWN_TIMEOUT_MS: '30000' }).SHUTDOWN_TIMEOUT_MS).toBe(30_000);
    for (const bad of ['soon', '50', '-1', '1.5', '9999999']) {
      expect(() => parseEnv({ ...base, SHUTDOWN_TIMEOUT_MS: bad })).toThrow(/SHUTDOWN_TIMEOUT_MS/);
      expect(() => parseEnv({ ...base, LIVE_POLL_INTERVAL_MS: bad })).toThrow(/LIVE_POLL_INTERVAL_MS/);
      expect(() => parseEnv({ ...base, LIVE_ACCESS_CHECK_INTERVAL_MS: bad })).toThrow(
        /LIVE_ACCESS_CHECK_INTERVAL_MS/,
      );
    }
    // An open feed must never go on for longer than 30 s after its access ended.
    expect(() => parseEnv({ ...base, LIVE_ACCESS_CHECK_INTERVAL_MS: '30001' })).toThrow(
      /LIVE_ACCESS_CHECK_INTERVAL_MS/,
    );
  });

  it('names a bad variable without echoing its value', () => {
    let message = '';
    try {
      parseEnv({ DATABASE_URL: 'mysql://root:hunter2@db/app', PORT: 'eighty' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL must be a PostgreSQL URL/);
    expect(message).toMatch(/PORT /);
    expect(message).not.toContain('hunter2');
  });
});
