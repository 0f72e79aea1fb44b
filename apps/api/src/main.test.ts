import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '@provisioning/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  createApiHarness,
  PASSWORD,
  seedOrganisation,
  sseEvents,
  type TestOrganisation,
  testDatabaseKind,
} from './api-harness.test-support.ts';

const apiDirectory = fileURLToPath(new URL('..', import.meta.url));

const onServer = (await testDatabaseKind()) === 'server';
let harness: ApiHarness;
let acme: TestOrganisation;

beforeAll(async () => {
  harness = await createApiHarness('api_main');
  acme = await seedOrganisation(harness.owner, { name: 'Acme' });
}, 60_000);

afterAll(async () => {
  await harness.close();
});

interface ApiProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Every log line the process printed so far. */
  lines: string[];
}

/** The API as production runs it: `src/main.ts` in a process of its own, on the test database. */
async function startApi(databaseUrl = harness.database.apiUrl): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: apiDirectory,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      LOG_LEVEL: 'info',
      // Shorter than any keep-alive timeout (Node's 5 s, undici's 4 s): exiting in time means the server
      // closed the kept-alive connections itself.
      SHUTDOWN_TIMEOUT_MS: '3000',
      DATABASE_SHARED_SESSION: harness.database.kind === 'server' ? 'false' : 'true',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const output = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`the API exited with ${code} while starting:\n${lines.join('\n')}`)),
    );
    output.on('line', (line) => {
      lines.push(line);
      if (line.includes('API listening')) resolve();
    });
  });
  return { child, baseUrl: `http://127.0.0.1:${port}`, lines };
}

async function signIn(baseUrl: string, email: string): Promise<string> {
  const response = await fetch(`${baseUrl}/trpc/auth.signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.headers.getSetCookie()[0]!.split(';')[0]!;
}

/** A GET on a kept-alive connection that then stays open and idle, as a browser's does. */
async function keepAliveRequest(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the API process', () => {
  it('stops promptly on SIGTERM, ending open live views and closing kept-alive connections', async () => {
    const api = await startApi();
    try {
      const cookie = await signIn(api.baseUrl, acme.accounts['people-admin']);
      const live = await fetch(`${api.baseUrl}/trpc/runs.changes?input=${encodeURIComponent('{}')}`, {
        headers: { cookie, accept: 'text/event-stream' },
      });
      expect(live.status).toBe(200);
      // Read by hand: leaving a for-await loop would cancel the stream.
      const events = sseEvents(live);
      for (;;) {
        const { value, done } = await events.next();
        if (done) throw new Error('the live view ended before it was live');
        if (value.data.includes('"live"')) break;
      }
      const agent = new Agent({ keepAlive: true });
      expect(await keepAliveRequest(agent, `${api.baseUrl}/healthz`)).toBe(200);
      expect(agent.freeSockets).not.toEqual({});

      const exited = once(api.child, 'exit');
      api.child.kill('SIGTERM');
      // The live view ends (tRPC's `return` event) instead of holding the shutdown open.
      const after: string[] = [];
      for await (const event of events) after.push(event.event);
      const [code] = await exited;
      expect(code).toBe(0);
      expect(after).toContain('return');
      expect(api.lines.some((line) => line.includes('API stopped'))).toBe(true);
      expect(api.lines.some((line) => line.includes('did not finish in time'))).toBe(false);
      agent.destroy();
    } finally {
      if (api.child.exitCode === null) api.child.kill('SIGKILL');
    }
  }, 60_000);

  it.runIf(onServer)(
    "refuses to start on the owner's login, which row-level security does not hold, and says what to do",
    async () => {
      const failed = startApi(harness.database.url);
      await expect(failed).rejects.toThrow(
        /the API exited with 1 while starting:[\s\S]*API refused to start: DATABASE_URL must log in as a role that holds only provisioning_api, and it logs in as \\"postgres\\", a superuser\. Create one as the owner/,
      );
    },
    60_000,
  );
});
