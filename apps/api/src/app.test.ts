import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { serve } from '@hono/node-server';
import { MikroORM } from '@mikro-orm/core';
import { type Orm, ormConfig } from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.ts';

const silent = pino({ level: 'silent' });

/** A logger whose JSON lines land in `lines`. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the API app against a real database', () => {
  let database: MigratedTestOrm;
  let orm: Orm;

  beforeAll(async () => {
    database = await createMigratedTestOrm('api_app');
    orm = database.orm;
  });

  afterAll(async () => {
    await database?.close();
  });

  it('answers /healthz with ok', async () => {
    const response = await createApp({ orm, logger: silent }).request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with ready when the database answers', async () => {
    const response = await createApp({ orm, logger: silent }).request('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it('serves /metrics to a caller on the same machine, with each request timed under its route', async () => {
    const app = createApp({ orm, logger: silent });
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await fetch(`${baseUrl}/api/runs/00000000-0000-4000-8000-000000000001/log.csv`);
      const response = await fetch(`${baseUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(text).toMatch(
        /provisioning_api_request_seconds_count\{method="GET",route="\/api\/runs\/:runId\/:file",status="401"\} 1/,
      );
      // The run's ID is never a label: one series per route, however many runs.
      expect(text).not.toContain('00000000-0000-4000-8000-000000000001');
    } finally {
      server.close();
    }
  });

  it('serves /metrics elsewhere only with the bearer token', async () => {
    const token = 'metrics-token-0123456789';
    // app.request has no socket: the caller is not on this machine.
    const app = createApp({ orm, logger: silent, metricsToken: token });
    expect((await app.request('/metrics')).status).toBe(403);
    expect(
      (await app.request('/metrics', { headers: { authorization: 'Bearer wrong-token-000000000' } })).status,
    ).toBe(403);
    const allowed = await app.request('/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('# TYPE provisioning_api_request_seconds histogram');
    expect((await createApp({ orm, logger: silent }).request('/metrics')).status).toBe(403);
  });

  it('echoes a well-formed X-Request-Id and logs the request with it', async () => {
    const { logger, lines } = capturingLogger();
    const response = await createApp({ orm, logger }).request('/healthz?token=secret', {
      headers: { 'X-Request-Id': 'abc-123_DEF=' },
    });
    expect(response.headers.get('X-Request-Id')).toBe('abc-123_DEF=');
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'request completed',
        requestId: 'abc-123_DEF=',
        method: 'GET',
        path: '/healthz',
        status: 200,
        durationMs: expect.any(Number),
      }),
    );
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('generates a request ID when none is sent', async () => {
    const response = await createApp({ orm, logger: silent }).request('/healthz');
    expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('replaces a hostile X-Request-Id (too long, or with unsafe characters) instead of echoing or logging it', async () => {
    const hostileIds = ['a'.repeat(5_000), 'abc\tdef', '../../etc/passwd', '<script>alert(1)</script>'];
    for (const hostile of hostileIds) {
      const { logger, lines } = capturingLogger();
      const response = await createApp({ orm, logger }).request('/healthz', {
        headers: { 'X-Request-Id': hostile },
      });
      const echoed = response.headers.get('X-Request-Id');
      expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
      expect(lines[0]?.requestId).toBe(echoed);
    }
  });

  it('replaces an X-Request-Id containing a newline', async () => {
    // Headers refuses newlines (and HTTP/1.1 cannot carry them), so the request gets a stand-in header
    // store, as a lenient server or proxy in front of the app might hand it.
    const request = new Request('http://localhost/healthz');
    const rawHeaders = {
      get: (name: string) => (name.toLowerCase() === 'x-request-id' ? 'a\r\nSet-Cookie: x=1' : null),
    };
    Object.defineProperty(request, 'headers', { value: rawHeaders });
    const response = await createApp({ orm, logger: silent }).fetch(request);
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('Set-Cookie')).toBeNull();
  });

  it('sends security headers on API answers, errors included', async () => {
    const app = createApp({ orm, logger: silent });
    for (const path of ['/healthz', '/trpc/auth.me', '/api/nothing/here']) {
      const response = await app.request(path);
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(response.headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/);
    }
  });

  it('answers an unknown path with a JSON 404', async () => {
    const response = await createApp({ orm, logger: silent }).request('/no/such/thing');
    expect(response.status).toBe(404);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: 'not found' });
  });
});

describe('the API app serving the built web page (production)', () => {
  let database: MigratedTestOrm;
  let orm: Orm;
  let webDistDir: string;

  beforeAll(async () => {
    database = await createMigratedTestOrm('api_static');
    orm = database.orm;
    webDistDir = mkdtempSync(join(tmpdir(), 'web-dist-'));
    mkdirSync(join(webDistDir, 'assets'));
    writeFileSync(join(webDistDir, 'index.html'), '<!doctype html><title>User Provisioning</title>');
    writeFileSync(join(webDistDir, 'assets', 'app-1234.js'), 'console.log("page")');
  });

  afterAll(async () => {
    rmSync(webDistDir, { recursive: true, force: true });
    await database?.close();
  });

  it('serves the page, its assets, and the page for client-side routes, from the same origin', async () => {
    const app = createApp({ orm, logger: silent, webDistDir });
    const page = await app.request('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>User Provisioning</title>');
    const asset = await app.request('/assets/app-1234.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    const route = await app.request('/provisioning?range=last7&status=success');
    expect(await route.text()).toContain('<title>User Provisioning</title>');
  });

  it('sends the page with a content security policy that runs only its own scripts and cannot be framed', async () => {
    const app = createApp({ orm, logger: silent, webDistDir });
    for (const path of ['/', '/provisioning?range=last7', '/assets/app-1234.js']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(200);
      const policy = Object.fromEntries(
        (response.headers.get('content-security-policy') ?? '').split(';').map((directive) => {
          const [name, ...values] = directive.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
      expect(policy['default-src'], path).toBe("'self'");
      expect(policy['script-src'], path).toBe("'self'");
      expect(policy['object-src'], path).toBe("'none'");
      expect(policy['base-uri'], path).toBe("'none'");
      expect(policy['frame-ancestors'], path).toBe("'none'");
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });

  it('keeps the API’s own answers: JSON health, tRPC, 404 for unknown API paths', async () => {
    const app = createApp({ orm, logger: silent, webDistDir });
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
    const me = await app.request('/trpc/auth.me');
    expect(await me.json()).toEqual({ result: { data: null } });
    const unknownApi = await app.request('/api/nothing/here');
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('does not serve files outside the built page', async () => {
    const app = createApp({ orm, logger: silent, webDistDir });
    for (const path of ['/../package.json', '/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2findex.html']) {
      const response = await app.request(path);
      expect(await response.text()).not.toContain('"name"');
    }
  });
});

describe('the API app when the database is unreachable', () => {
  let orm: Orm;
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = `postgres://postgres:s3cret-password@127.0.0.1:${await closedPort()}/nowhere`;
    // connect: false lets the ORM start without a server; the probe's query is the first connection attempt.
    orm = await MikroORM.init({ ...ormConfig({ databaseUrl }), connect: false });
  });

  afterAll(async () => {
    await orm?.close();
  });

  it('answers /readyz with 503 without revealing the connection string', async () => {
    const { logger } = capturingLogger();
    const response = await createApp({ orm, logger }).request('/readyz');
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ status: 'unavailable', error: 'database unreachable' });
    expect(body).not.toContain('s3cret-password');
    expect(body).not.toContain('127.0.0.1');
  });

  it('still answers /healthz with ok, since liveness does not depend on the database', async () => {
    const response = await createApp({ orm, logger: silent }).request('/healthz');
    expect(response.status).toBe(200);
  });
});
