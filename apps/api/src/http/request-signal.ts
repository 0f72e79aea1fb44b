import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';

/**
 * tRPC reads `req.signal` on every call, to stop work for a client that went away. On @hono/node-server
 * the request is a light stand-in that builds a whole fetch Request (URL, headers, body stream) the first
 * time `signal` is read (the body limit in app.ts looks at GET and HEAD requests no more, for the same
 * reason). This gives the request a signal
 * of its own that aborts as node-server's does, when the response closes before it was all sent, so
 * tRPC never asks for the full Request. Outside node-server (`app.request` in tests) it changes nothing.
 */
export function requestSignal(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
    if (outgoing) {
      const controller = new AbortController();
      outgoing.once('close', () => {
        if (!outgoing.writableFinished) controller.abort(new Error('Client connection prematurely closed.'));
      });
      Object.defineProperty(c.req.raw, 'signal', { value: controller.signal, configurable: true });
    }
    await next();
  };
}
