import { describe, expect, it } from 'vitest';
import { readinessFromResponse } from './readiness.ts';

describe('readinessFromResponse', () => {
  it('reports ready when /readyz answers 200 with status ready', () => {
    expect(readinessFromResponse(200, { status: 'ready' })).toBe('ready');
  });

  it('reports the database unreachable when the API answers 503 with status unavailable', () => {
    expect(readinessFromResponse(503, { status: 'unavailable', error: 'database unreachable' })).toBe(
      'database-unreachable',
    );
  });

  it('reports the API unreachable when the request failed or the proxy answered instead of the API', () => {
    expect(readinessFromResponse(null, undefined)).toBe('api-unreachable');
    expect(readinessFromResponse(502, '')).toBe('api-unreachable');
    expect(readinessFromResponse(503, 'Service Unavailable')).toBe('api-unreachable');
    expect(readinessFromResponse(200, '<!doctype html>')).toBe('api-unreachable');
  });
});
