import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppEnv } from './app-env.ts';
import { requestSignal } from './request-signal.ts';

let server: ReturnType<typeof serve> | undefined;

afterEach(() => {
  server?.close();
  server = undefined;
});

/** A real node server running `app`; its base URL. */
async function listen(app: Hono<AppEnv>): Promise<string> {
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('requestSignal', () => {
  it('aborts the request’s signal when the client goes away before the answer is sent', async () => {
    const app = new Hono<AppEnv>();
    let aborted = () => {};
    const sawAbort = new Promise<void>((resolve) => (aborted = resolve));
    let handlerStarted = () => {};
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    app.use(requestSignal());
    app.get('/slow', async (c) => {
      const { signal } = c.req.raw;
      signal.addEventListener('abort', () => aborted());
      handlerStarted();
      await sawAbort;
      return c.text(`aborted: ${signal.aborted}`);
    });
    const url = await listen(app);
    const client = httpRequest(`${url}/slow`);
    client.on('error', () => {});
    client.end();
    await started;
    client.destroy();
    await sawAbort;
  });

  it('leaves the signal alone for an answer sent in full, and is a signal of its own', async () => {
    const app = new Hono<AppEnv>();
    const signals: AbortSignal[] = [];
    app.use(requestSignal());
    app.get('/quick', (c) => {
      signals.push(c.req.raw.signal);
      return c.text('done');
    });
    const url = await listen(app);
    for (let i = 0; i < 2; i++) expect(await (await fetch(`${url}/quick`)).text()).toBe('done');
    expect(signals).toHaveLength(2);
    expect(signals[0]).not.toBe(signals[1]);
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false]);
  });

  it('changes nothing for a request made without node’s server (the tests’ app.request)', async () => {
    const app = new Hono<AppEnv>();
    app.use(requestSignal());
    app.get('/plain', (c) => c.text(String(c.req.raw.signal instanceof AbortSignal)));
    expect(await (await app.request('http://localhost/plain')).text()).toBe('true');
  });
});
