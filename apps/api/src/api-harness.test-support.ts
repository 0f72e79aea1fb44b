import { API_DATABASE_ROLE, createOrm, type Orm } from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm, SEED_PASSWORD } from '@provisioning/db/testing';
import { pino } from 'pino';
import { createApp } from './app.ts';
import type { DownloadSlots } from './http/download-slots.ts';
import { RequestSession, type SessionInfo } from './http/request-session.ts';
import { LoginRateLimiter } from './login-rate-limit.ts';
import type { RunChangeFeed } from './run-change-feed.ts';
import type { Context } from './trpc/context.ts';
import { appRouter } from './trpc/router.ts';
import { createCallerFactory } from './trpc/trpc.ts';

// The seeders, under the names these tests use.
export * from '@provisioning/db/testing';
export {
  SEED_PASSWORD as PASSWORD,
  type SeededOrganisation as TestOrganisation,
} from '@provisioning/db/testing';

/**
 * A migrated database of the test file's own, an owner ORM for seeding (row-level security does not
 * apply to it) and an app ORM that connects as the API's role, exactly as the API process does.
 */
export interface ApiHarness {
  database: MigratedTestOrm;
  owner: Orm;
  appOrm: Orm;
  close(): Promise<void>;
}

export async function createApiHarness(label: string): Promise<ApiHarness> {
  const database = await createMigratedTestOrm(label);
  // The embedded database serves one session for all connections: there the role is switched per
  // transaction only (inOrganisation), as the API does on it.
  const appOrm = await createApiOrm(database);
  return {
    database,
    owner: database.orm,
    appOrm,
    async close() {
      await appOrm.close(true);
      await database.close();
    },
  };
}

/** Another connection pool as the API's role: what a second API replica on the same database has. */
export function createApiOrm(database: MigratedTestOrm): Promise<Orm> {
  return createOrm({
    databaseUrl: database.apiUrl,
    ...(database.kind === 'server' ? { role: API_DATABASE_ROLE } : {}),
  });
}

const silent = pino({ level: 'silent' });

/**
 * The API app on the app ORM, driven with fetch-style requests (`app.request`), with a cookie jar per
 * client so each test signs in as a real browser would.
 */
export function apiClient(
  appOrm: Orm,
  options: {
    changeFeed?: RunChangeFeed;
    loginLimiter?: LoginRateLimiter;
    trustedOrigins?: string[];
    trustProxy?: boolean;
    trustedProxyHops?: number;
    downloadSlots?: DownloadSlots;
    downloadStallTimeoutMs?: number;
  } = {},
) {
  const app = createApp({
    orm: appOrm,
    logger: silent,
    loginLimiter:
      options.loginLimiter ??
      new LoginRateLimiter({ maxFailuresPerAccount: 1000, maxFailuresPerAddress: 1000 }),
    ...(options.changeFeed ? { changeFeed: options.changeFeed } : {}),
    trustedOrigins: options.trustedOrigins ?? [],
    trustProxy: options.trustProxy ?? false,
    ...(options.trustedProxyHops === undefined ? {} : { trustedProxyHops: options.trustedProxyHops }),
    ...(options.downloadSlots ? { downloadSlots: options.downloadSlots } : {}),
    ...(options.downloadStallTimeoutMs ? { downloadStallTimeoutMs: options.downloadStallTimeoutMs } : {}),
  });
  return {
    app,
    /** A browser: keeps the session cookie between requests. */
    browser() {
      let cookie: string | null = null;
      async function request(path: string, init: RequestInit = {}) {
        const headers = new Headers(init.headers);
        headers.set('host', 'localhost');
        if (cookie) headers.set('cookie', cookie);
        const response = await app.request(`http://localhost${path}`, { ...init, headers });
        const setCookie = response.headers.get('set-cookie');
        if (setCookie) {
          const [pair] = setCookie.split(';');
          cookie = pair!.endsWith('=') ? null : pair!;
        }
        return response;
      }
      return {
        request,
        get cookie() {
          return cookie;
        },
        /** A tRPC query; returns the HTTP status and the parsed body. */
        async query(path: string, input?: unknown) {
          const search = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
          const response = await request(`/trpc/${path}${search}`);
          return { status: response.status, body: (await response.json()) as TrpcBody };
        },
        async mutate(path: string, input?: unknown, headers: Record<string, string> = {}) {
          const response = await request(`/trpc/${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', origin: 'http://localhost', ...headers },
            body: input === undefined ? undefined : JSON.stringify(input),
          });
          return {
            status: response.status,
            headers: response.headers,
            body: (await response.json()) as TrpcBody,
          };
        },
        async signIn(email: string, password = SEED_PASSWORD) {
          const result = await this.mutate('auth.signIn', { email, password });
          if (result.status !== 200)
            throw new Error(`sign-in as ${email} failed: ${JSON.stringify(result.body)}`);
          return result;
        },
      };
    },
  };
}

/** What a `createCaller` context is built on: the API's ORM and its live feed. */
export interface CallerSetup {
  orm: Orm;
  changeFeed: RunChangeFeed;
  liveAccessCheckIntervalMs: number;
}

const createCaller = createCallerFactory(appRouter);

/** The context a request would get, without HTTP: tRPC's inner context for `createCaller`. */
export function innerContext(
  setup: CallerSetup,
  session: SessionInfo | RequestSession | null,
  onSession: (token: string) => void = () => {},
): Context {
  return {
    orm: setup.orm,
    loginLimiter: new LoginRateLimiter({ maxFailuresPerAccount: 1000, maxFailuresPerAddress: 1000 }),
    changeFeed: setup.changeFeed,
    liveAccessCheckIntervalMs: setup.liveAccessCheckIntervalMs,
    em: setup.orm.em.fork(),
    logger: silent,
    requestId: 'test',
    requestSession: session instanceof RequestSession ? session : RequestSession.of(session),
    clientAddress: '127.0.0.1',
    userAgent: null,
    cookies: { setSession: onSession, clearSession: () => {} },
    setRetryAfter: () => {},
  };
}

/** A caller signed in as `email`, through the sign-in procedure itself. */
export async function callerAs(setup: CallerSetup, email: string, signal?: AbortSignal) {
  let token: string | undefined;
  await createCaller(innerContext(setup, null, (given) => (token = given))).auth.signIn({
    email,
    password: SEED_PASSWORD,
  });
  // Read when a procedure first needs it, as a request's is (the hot reads check it in their own message).
  const session = new RequestSession(setup.orm.em.fork(), token);
  return createCaller(innerContext(setup, session), signal ? { signal } : {});
}

export interface TrpcBody {
  result?: { data: unknown };
  error?: {
    message: string;
    code: number;
    data: {
      code: string;
      httpStatus: number;
      path?: string;
      fieldErrors: Record<string, string[]> | null;
      accessDenial: string | null;
    };
  };
}

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

/** Server-sent events of a response, as a browser's EventSource would split them. */
export async function* sseEvents(response: Response): AsyncGenerator<SseEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { event: 'message', id: null, data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const field = line.slice(0, colon);
          const text = line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event.event = text;
          else if (field === 'id') event.id = text;
          else if (field === 'data') data.push(text);
        }
        event.data = data.join('\n');
        yield event;
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
