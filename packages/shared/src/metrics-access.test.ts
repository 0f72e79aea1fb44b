import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, metricsRequestAllowed } from './metrics-access.ts';

describe('metricsRequestAllowed', () => {
  it('lets a caller on the same machine in, token or not', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect(metricsRequestAllowed({ remoteAddress: address, authorization: undefined }, 'secret')).toBe(
        true,
      );
    }
  });

  it('lets a remote caller in only with the exact bearer token', () => {
    const remote = (authorization?: string) => ({ remoteAddress: '10.1.2.3', authorization });
    expect(metricsRequestAllowed(remote('Bearer s3cret-token'), 's3cret-token')).toBe(true);
    expect(metricsRequestAllowed(remote('Bearer s3cret-toke'), 's3cret-token')).toBe(false);
    expect(metricsRequestAllowed(remote('Bearer s3cret-token '), 's3cret-token')).toBe(false);
    expect(metricsRequestAllowed(remote('bearer s3cret-token'), 's3cret-token')).toBe(false);
    expect(metricsRequestAllowed(remote(`Bearer ${'x'.repeat(10_000)}`), 's3cret-token')).toBe(false);
    expect(metricsRequestAllowed(remote(), 's3cret-token')).toBe(false);
  });

  it('refuses every remote caller when no token is configured', () => {
    expect(metricsRequestAllowed({ remoteAddress: '10.1.2.3', authorization: 'Bearer ' }, undefined)).toBe(
      false,
    );
    expect(metricsRequestAllowed({ remoteAddress: '10.1.2.3', authorization: 'Bearer undefined' }, '')).toBe(
      false,
    );
  });

  it('does not take an address that merely starts like loopback', () => {
    expect(isLoopbackAddress('127.0.0.1.evil.example')).toBe(false);
    expect(isLoopbackAddress('::ffff:10.0.0.1')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});
