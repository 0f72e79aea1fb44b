import {
  API_DATABASE_ROLE,
  createAccount,
  createOrganisation,
  createOrm,
  migrate,
  type Orm,
} from '@provisioning/db';
import { ROLES, type Role, type RunStatus, type SyncService } from '@provisioning/shared';
import { createTestDatabase, type TestDatabase } from '@provisioning/testkit';
import { pino } from 'pino';
import { createApp } from './app.ts';
import { LoginRateLimiter } from './login-rate-limit.ts';
import type { RunChangeFeed } from './run-change-feed.ts';

export const PASSWORD = 'correct horse battery staple';

export interface TestOrganisation {
  id: string;
  /** Account email per role. */
  accounts: Record<Role, string>;
}

/**
 * A migrated database of the test file's own, an owner ORM for seeding (row-level security does not
 * apply to it) and an app ORM that connects as the API's role, exactly as the API process does.
 */
export interface ApiHarness {
  database: TestDatabase;
  owner: Orm;
  appOrm: Orm;
  close(): Promise<void>;
}

export async function createApiHarness(label: string): Promise<ApiHarness> {
  const database = await createTestDatabase(label);
  const owner = await createOrm({ databaseUrl: database.url });
  await migrate(owner);
  // The embedded database serves one session for all connections: there the role is switched per
  // transaction only (inOrganisation), as the API does on it.
  const appOrm = await createOrm({
    databaseUrl: database.url,
    ...(database.kind === 'server' ? { role: API_DATABASE_ROLE } : {}),
  });
  return {
    database,
    owner,
    appOrm,
    async close() {
      await appOrm.close(true);
      await owner.close(true);
      await database.drop();
    },
  };
}

let emailCounter = 0;

/** An organisation with one account per role (each with PASSWORD). */
export async function seedOrganisation(
  owner: Orm,
  options: { name: string; timeZone?: string; provisioningEnabled?: boolean; syncService?: SyncService },
): Promise<TestOrganisation> {
  const organisation = await createOrganisation(owner.em.fork(), {
    name: options.name,
    timeZone: options.timeZone ?? 'UTC',
    provisioningEnabled: options.provisioningEnabled ?? true,
    syncService: options.syncService ?? 'user-sync',
  });
  const accounts = {} as Record<Role, string>;
  for (const role of ROLES) {
    emailCounter += 1;
    const email = `${role}.${emailCounter}@${options.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
    await createAccount(owner.em.fork(), {
      organisationId: organisation.id,
      email,
      name: `${role} of ${options.name}`,
      password: PASSWORD,
      roles: [role],
    });
    accounts[role] = email;
  }
  return { id: organisation.id, accounts };
}

export async function seedConfiguration(
  owner: Orm,
  organisationId: string,
  name: string,
  connector: 'sftp' | 'workday' | 'google-workspace' = 'sftp',
): Promise<string> {
  const [row] = await owner.em.fork().execute<{ id: string }[]>(
    `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
     values (gen_random_uuid(), ?, ?, ?, '{}', '{}', now(), now()) returning id`,
    [organisationId, name, connector],
  );
  return row!.id;
}

export interface SeedRun {
  organisationId: string;
  configurationId: string;
  status: RunStatus;
  queuedAt: string | Date;
  startedAt?: string | Date | null;
  durationMs?: number | null;
  errorSummary?: string | null;
  thresholdDetails?: unknown;
}

export async function seedRun(owner: Orm, run: SeedRun): Promise<string> {
  const queuedAt = new Date(run.queuedAt);
  const startedAt =
    run.startedAt === undefined
      ? new Date(queuedAt.getTime() + 1000)
      : run.startedAt && new Date(run.startedAt);
  const final = !['queued', 'in_progress'].includes(run.status);
  const [row] = await owner.em.fork().execute<{ id: string }[]>(
    `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at, finished_at,
       duration_ms, error_summary, threshold_details)
     values (gen_random_uuid(), ?, ?, ?, 'schedule', ?, ?, ?, ?, ?, ?) returning id`,
    [
      run.organisationId,
      run.configurationId,
      run.status,
      queuedAt,
      run.status === 'queued' ? null : startedAt,
      final && startedAt ? new Date(startedAt.getTime() + (run.durationMs ?? 4000)) : null,
      final ? (run.durationMs ?? 4000) : null,
      run.errorSummary ?? null,
      run.thresholdDetails === undefined ? null : JSON.stringify(run.thresholdDetails),
    ],
  );
  return row!.id;
}

export interface SeedLogEntry {
  rowNumber?: number | null;
  externalId?: string | null;
  email?: string | null;
  name?: string | null;
  action: string;
  outcome: string;
  message?: string | null;
  hint?: string | null;
  changes?: unknown;
}

export async function seedLog(owner: Orm, runId: string, entries: SeedLogEntry[]): Promise<void> {
  const em = owner.em.fork();
  for (const [seq, entry] of entries.entries()) {
    await em.execute(
      `insert into sync_log (run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        runId,
        seq,
        entry.rowNumber ?? null,
        entry.externalId ?? null,
        entry.email ?? null,
        entry.name ?? null,
        entry.action,
        entry.outcome,
        entry.changes === undefined ? null : JSON.stringify(entry.changes),
        entry.message ?? null,
        entry.hint ?? null,
      ],
    );
  }
}

const silent = pino({ level: 'silent' });

/**
 * The API app on the app ORM, driven with fetch-style requests (`app.request`), with a cookie jar per
 * client so each test signs in as a real browser would.
 */
export function apiClient(
  appOrm: Orm,
  options: { changeFeed?: RunChangeFeed; loginLimiter?: LoginRateLimiter; trustedOrigins?: string[] } = {},
) {
  const app = createApp({
    orm: appOrm,
    logger: silent,
    loginLimiter:
      options.loginLimiter ??
      new LoginRateLimiter({ maxFailuresPerAccount: 1000, maxFailuresPerAddress: 1000 }),
    ...(options.changeFeed ? { changeFeed: options.changeFeed } : {}),
    trustedOrigins: options.trustedOrigins ?? [],
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
          return { status: response.status, body: (await response.json()) as TrpcBody };
        },
        async signIn(email: string, password = PASSWORD) {
          const result = await this.mutate('auth.signIn', { email, password });
          if (result.status !== 200)
            throw new Error(`sign-in as ${email} failed: ${JSON.stringify(result.body)}`);
          return result;
        },
      };
    },
  };
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
