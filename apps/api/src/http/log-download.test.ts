import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { serve } from '@hono/node-server';
import { purgeExpiredLogs } from '@provisioning/db';
import { RUN_STATUS_INFO, type RunStatus, runLogPath } from '@provisioning/shared';
import { exportRunLog, logHeaders } from '@provisioning/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  createApiHarness,
  insertLogChunksSql,
  type SeedLogEntry,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
  type TestOrganisation,
} from '../api-harness.test-support.ts';
import { type DownloadSlot, DownloadSlots } from './download-slots.ts';
import { contentDisposition } from './log-download.ts';

// The export as the route calls it, watched: a HEAD must not call it at all.
vi.mock('@provisioning/sync', async (importOriginal) => {
  const sync = await importOriginal<typeof import('@provisioning/sync')>();
  return { ...sync, exportRunLog: vi.fn(sync.exportRunLog) };
});

let harness: ApiHarness;
let kolkata: TestOrganisation;
let configuration: string;
let browser: ReturnType<ReturnType<typeof apiClient>['browser']>;

const HOSTILE_ENTRIES: SeedLogEntry[] = [
  {
    rowNumber: 2,
    externalId: 'E001',
    email: 'ada@acme.example',
    name: '=HYPERLINK("http://evil.example","click")',
    action: 'create',
    outcome: 'applied',
  },
  {
    rowNumber: 3,
    externalId: '+441234',
    email: '@bob@acme.example',
    name: '-Bob, "the builder"',
    action: 'update',
    outcome: 'applied',
    changes: { job_title: { before: 'Engineer', after: '\tLead' } },
  },
  {
    rowNumber: 4,
    externalId: '0042',
    email: 'zoë@acme.example',
    name: 'Zoë Ünal',
    action: 'skip',
    outcome: 'warning',
    message: 'Invalid email',
  },
];

beforeAll(async () => {
  harness = await createApiHarness('api_download');
  // UTC+5:30: 22:30 UTC on the 15th is 4.00am on the 16th there.
  kolkata = await seedOrganisation(harness.owner, { name: 'Kolkata', timeZone: 'Asia/Kolkata' });
  configuration = await seedConfiguration(harness.owner, kolkata.id, 'HR file');
  browser = apiClient(harness.appOrm).browser();
  await browser.signIn(kolkata.accounts['people-admin']);
});

afterAll(async () => {
  await harness.close();
});

async function runWithLog(status: RunStatus, entries: SeedLogEntry[], startedAt = '2024-01-15T22:30:00Z') {
  const runId = await seedRun(harness.owner, {
    organisationId: kolkata.id,
    configurationId: configuration,
    status,
    queuedAt: '2024-01-15T22:29:00Z',
    startedAt,
  });
  await seedLog(harness.owner, runId, entries);
  return runId;
}

describe('log downloads', () => {
  it('streams the sync result log as CSV under its name, run start in the organisation’s time zone', async () => {
    const runId = await runWithLog('success', HOSTILE_ENTRIES);
    const response = await browser.request(runLogPath(runId, 'csv'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="Sync Logs - 16 Jan 2024 4.00am.csv"; filename*=UTF-8''Sync%20Logs%20-%2016%20Jan%202024%204.00am.csv`,
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    // The app's security headers cover downloads too: a browser must not sniff the log as HTML.
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    // response.text() would drop the BOM that Excel needs: read the bytes as they are.
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await response.arrayBuffer());
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const lines = text.slice(1).split('\r\n');
    expect(lines[0]).toBe(logHeaders('result').join(','));
    // Every cell that a spreadsheet would run is neutralised with a leading quote.
    expect(lines[1]).toBe(
      `2,E001,ada@acme.example,"'=HYPERLINK(""http://evil.example"",""click"")",Created,Applied,,`,
    );
    expect(lines[2]).toMatch(/^3,'\+441234,'@bob@acme\.example,"'-Bob, ""the builder""",Updated,Applied,/);
    expect(lines[3]).toBe('4,0042,zoë@acme.example,Zoë Ünal,Skipped,Warning,,Invalid email');
    expect(lines).toHaveLength(5);
  });

  it('streams the same log as an XLSX that Excel’s format reads back, neutralised', async () => {
    const runId = await runWithLog('needs_attention', HOSTILE_ENTRIES);
    const response = await browser.request(runLogPath(runId, 'xlsx'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(response.headers.get('content-disposition')).toContain(
      'filename="Sync Logs - 16 Jan 2024 4.00am.xlsx"',
    );
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await response.arrayBuffer());
    const sheet = workbook.worksheets[0]!;
    expect(sheet.name).toBe('Sync result log');
    const rows = sheet.getSheetValues().filter(Boolean) as unknown[][];
    expect(rows[0]!.slice(1)).toEqual([
      'Row',
      'External ID',
      'Email',
      'Name',
      'Action',
      'Outcome',
      'Changes',
      'Message',
    ]);
    expect(rows[1]!.slice(1, 7)).toEqual([
      2,
      'E001',
      'ada@acme.example',
      `'=HYPERLINK("http://evil.example","click")`,
      'Created',
      'Applied',
    ]);
    expect(rows[2]![2]).toBe("'+441234");
    expect(rows[2]![3]).toBe("'@bob@acme.example");
    expect(rows[3]!.slice(1, 5)).toEqual([4, '0042', 'zoë@acme.example', 'Zoë Ünal']);
    expect(rows).toHaveLength(4);
  });

  it('serves the error log of a data load failure', async () => {
    const runId = await runWithLog('data_load_failed', [
      {
        action: 'error',
        outcome: 'failed',
        message: 'Missing required column `email`. Found: Work Email, Name',
        hint: 'Add an email column or map one.',
      },
    ]);
    const response = await browser.request(runLogPath(runId, 'csv'));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('Missing required column `email`. Found: Work Email, Name');
    expect(text).toContain('Add an email column or map one.');
  });

  it('names the file after the queued time when the run never started', async () => {
    const runId = await runWithLog(
      'data_load_failed',
      [{ action: 'error', outcome: 'failed', message: 'x' }],
      null as unknown as string,
    );
    const response = await browser.request(runLogPath(runId, 'csv'));
    expect(response.headers.get('content-disposition')).toContain(
      'filename="Sync Logs - 16 Jan 2024 3.59am.csv"',
    );
  });

  for (const status of ['queued', 'in_progress', 'above_deactivation_threshold', 'cancelled'] as const) {
    it(`answers 409 with the reason for a run that is ${RUN_STATUS_INFO[status].label}`, async () => {
      const runId = await runWithLog(status, []);
      for (const format of ['csv', 'xlsx'] as const) {
        const response = await browser.request(runLogPath(runId, format));
        expect(response.status).toBe(409);
        expect(await response.json()).toEqual({
          error: `This run has no logs to download: it is ${RUN_STATUS_INFO[status].label}. ${RUN_STATUS_INFO[status].meaning}`,
        });
      }
    });
  }

  it('answers 409 with when and under which policy retention deleted a log, and the run says so too', async () => {
    // Ended long before the other runs here: only its log is past the retention at the purge's clock.
    const runId = await runWithLog('success', HOSTILE_ENTRIES, '2023-01-10T08:00:00Z');
    // 23:30 UTC on 1 June is 5.00am on 2 June in Kolkata.
    const outcome = await purgeExpiredLogs(harness.owner, { now: new Date('2023-06-01T23:30:00Z') });
    expect(outcome).toMatchObject({ logsPurged: 1, runsDeleted: 0 });
    const reason = 'This log was deleted on 2 Jun 2023 under the 90-day retention policy.';
    for (const format of ['csv', 'xlsx'] as const) {
      const response = await browser.request(runLogPath(runId, format));
      expect(response.status).toBe(409);
      expect(await response.json()).toEqual({ error: reason });
    }
    const details = (await browser.query('runs.get', { runId })).body.result?.data;
    expect(details).toMatchObject({
      id: runId,
      status: 'success',
      logKind: null,
      logPurge: { purgedAt: '2023-06-01T23:30:00.000Z', retentionDays: 90 },
    });
  });

  it('answers 404 for a malformed or unknown run ID and for any other file name', async () => {
    const runId = await runWithLog('success', HOSTILE_ENTRIES);
    for (const path of [
      '/api/runs/not-a-uuid/log.csv',
      "/api/runs/'%3B drop table sync_run;--/log.csv",
      '/api/runs/00000000-0000-4000-8000-000000000000/log.csv',
      `/api/runs/${runId}/log.pdf`,
      `/api/runs/${runId}/log.csv.exe`,
      `/api/runs/${runId}/..%2F..%2Fetc%2Fpasswd`,
    ]) {
      const response = await browser.request(path);
      expect(response.status, path).toBe(404);
    }
  });

  it('streams a large log completely', async () => {
    const entries = Array.from({ length: 12_000 }, (_, index) => ({
      rowNumber: index + 2,
      email: `user${index}@acme.example`,
      action: 'unchanged',
      outcome: 'no_change',
    }));
    const runId = await seedRun(harness.owner, {
      organisationId: kolkata.id,
      configurationId: configuration,
      status: 'success',
      queuedAt: '2024-02-01T10:00:00Z',
    });
    await harness.owner.em.fork().execute(
      `insert into sync_log (run_id, seq, row_number, email, action, outcome)
       select ?, i, i + 2, 'user' || i || '@acme.example', 'unchanged', 'no_change' from generate_series(0, ? - 1) i`,
      [runId, entries.length],
    );
    const response = await browser.request(runLogPath(runId, 'csv'));
    const lines = (await response.text()).split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(entries.length + 1);
    expect(lines.at(-1)).toBe(
      `${entries.length + 1},,user${entries.length - 1}@acme.example,,Unchanged,No change,,`,
    );
  });
});

describe('contentDisposition', () => {
  it('gives old clients an ASCII name and new ones the exact name (RFC 6266)', () => {
    expect(contentDisposition('Sync Logs - 15 Jan 2024 10.30pm.csv')).toBe(
      `attachment; filename="Sync Logs - 15 Jan 2024 10.30pm.csv"; filename*=UTF-8''Sync%20Logs%20-%2015%20Jan%202024%2010.30pm.csv`,
    );
    expect(contentDisposition('Zoë "quoted" \\ (1)*\r\n.csv')).toBe(
      `attachment; filename="Zo_ _quoted_ _ (1)*__.csv"; filename*=UTF-8''Zo%C3%AB%20%22quoted%22%20%5C%20%281%29%2A%0D%0A.csv`,
    );
  });
});

/** Slots that remember every slot they handed out, so a test can follow each export to its end. */
class WatchedSlots extends DownloadSlots {
  readonly handedOut: DownloadSlot[] = [];
  override acquire(sessionKey: string) {
    const slot = super.acquire(sessionKey);
    if (!('refused' in slot)) this.handedOut.push(slot);
    return slot;
  }
}

/** The app on a real loopback socket, as main.ts serves it. */
async function listen(app: ReturnType<typeof apiClient>['app']) {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A raw HTTP client that sends a download request, takes the first chunk of the answer (the status line
 * and headers, some of the file) and then reads nothing more, as a stuck or hostile client would.
 */
async function stalledDownload(port: number, path: string, cookie: string) {
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\n\r\n`);
  const [first] = (await once(socket, 'data')) as [Buffer];
  socket.pause();
  return { socket, head: first.toString('latin1', 0, 200) };
}

/** Everything the server still sends on a paused socket, once it is read again, until the server closes it. */
async function drain(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

describe('log downloads under load', () => {
  /** Lines of the large log: its file is many times what a socket's buffers can hold. */
  const LINES = 100_000;
  let largeRun: string;
  /** As many lines, as alike as a real log's, so the XLSX compresses well. */
  let repetitiveRun: string;
  let otherBrowser: ReturnType<ReturnType<typeof apiClient>['browser']>;

  beforeAll(async () => {
    largeRun = await seedRun(harness.owner, {
      organisationId: kolkata.id,
      configurationId: configuration,
      status: 'success',
      queuedAt: '2024-03-01T10:00:00Z',
    });
    // Hex digests compress poorly, so the XLSX too stays larger than the socket buffers.
    await harness.owner.em.fork().execute(
      insertLogChunksSql(`
        select ?::uuid, n, n + 1, md5(n::text), 'user' || n || '@acme.example', 'User ' || md5((n * 7)::text),
          'create', 'applied', null, md5((n * 3)::text) || md5((n * 5)::text), null
        from generate_series(1, ${LINES}) as n`),
      [largeRun],
    );
    repetitiveRun = await seedRun(harness.owner, {
      organisationId: kolkata.id,
      configurationId: configuration,
      status: 'success',
      queuedAt: '2024-03-02T10:00:00Z',
    });
    await harness.owner.em.fork().execute(
      insertLogChunksSql(`
        select ?::uuid, n, n + 1, 'E-' || n, 'user' || n || '@acme.example', 'User ' || n, 'update', 'applied',
          '{"department": {"before": "Sales", "after": "Marketing"}}'::jsonb,
          repeat('m', 100), null
        from generate_series(1, ${LINES}) as n`),
      [repetitiveRun],
    );
    // A second session of the same account: the per-session limit counts sessions, not accounts.
    otherBrowser = apiClient(harness.appOrm).browser();
    await otherBrowser.signIn(kolkata.accounts['people-admin']);
  });

  beforeEach(() => {
    vi.mocked(exportRunLog).mockClear();
  });

  it('answers HEAD with the download’s status and headers, no body, and exports nothing', async () => {
    const slots = new DownloadSlots({ perSession: 2, perProcess: 4 });
    const client = apiClient(harness.appOrm, { downloadSlots: slots });
    const head = async (path: string) =>
      client.app.request(`http://localhost${path}`, {
        method: 'HEAD',
        headers: { host: 'localhost', cookie: browser.cookie ?? '' },
      });
    for (const format of ['csv', 'xlsx'] as const) {
      const response = await head(runLogPath(largeRun, format));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(
        format === 'csv'
          ? 'text/csv; charset=utf-8'
          : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      );
      expect(response.headers.get('content-disposition')).toBe(
        contentDisposition(`Sync Logs - 1 Mar 2024 3.30pm.${format}`),
      );
      expect(response.headers.has('content-length')).toBe(false);
      expect(response.body).toBeNull();
    }
    const cancelled = await runWithLog('cancelled', []);
    expect((await head(runLogPath(cancelled, 'csv'))).status).toBe(409);
    expect((await head('/api/runs/00000000-0000-4000-8000-000000000000/log.xlsx')).status).toBe(404);
    expect(
      (await client.app.request(`http://localhost${runLogPath(largeRun, 'csv')}`, { method: 'HEAD' })).status,
    ).toBe(401);
    expect(exportRunLog).not.toHaveBeenCalled();
    expect(slots.started).toBe(0);
  });

  it('refuses a session’s third concurrent download with 429 and Retry-After, and the process’s fifth', async () => {
    const slots = new WatchedSlots({ perSession: 2, perProcess: 4 });
    const client = apiClient(harness.appOrm, { downloadSlots: slots });
    const get = (who: typeof browser, format: 'csv' | 'xlsx') =>
      client.app.request(`http://localhost${runLogPath(largeRun, format)}`, {
        headers: { host: 'localhost', cookie: who.cookie ?? '' },
      });
    // Bodies left unread: the exports wait on them, holding their slots.
    const running = [await get(browser, 'csv'), await get(browser, 'xlsx')];
    expect(running.map((response) => response.status)).toEqual([200, 200]);

    const third = await get(browser, 'csv');
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('5');
    expect(await third.json()).toEqual({
      error: 'You already have 2 log downloads in progress. Wait for one to finish, then try again.',
    });

    // Another session still has its own share, up to the process's.
    running.push(await get(otherBrowser, 'csv'), await get(otherBrowser, 'csv'));
    expect(running.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    const thirdSession = apiClient(harness.appOrm).browser();
    await thirdSession.signIn(kolkata.accounts['org-admin']);
    const busy = await get(thirdSession, 'xlsx');
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('5');
    expect((await busy.json()) as unknown).toEqual({
      error: 'The server is busy with other log downloads. Try again in a few seconds.',
    });

    for (const response of running) await response.body!.cancel();
    expect(await Promise.all(slots.handedOut.map((slot) => slot.ended))).toEqual([
      'aborted',
      'aborted',
      'aborted',
      'aborted',
    ]);
    expect(slots.active).toBe(0);
  });

  it('frees the slot of a download that completed, so the session may download again', async () => {
    const slots = new WatchedSlots({ perSession: 1, perProcess: 4 });
    const client = apiClient(harness.appOrm, { downloadSlots: slots });
    const runId = await runWithLog('success', HOSTILE_ENTRIES);
    for (const format of ['csv', 'xlsx', 'csv'] as const) {
      const response = await client.app.request(`http://localhost${runLogPath(runId, format)}`, {
        headers: { host: 'localhost', cookie: browser.cookie ?? '' },
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(await slots.handedOut.at(-1)!.ended).toBe('completed');
      expect(slots.active).toBe(0);
    }
    expect(slots.started).toBe(3);
  });

  it('frees the slot of a download whose client hung up midway, and ends its export', async () => {
    const slots = new WatchedSlots({ perSession: 1, perProcess: 4 });
    const client = apiClient(harness.appOrm, { downloadSlots: slots });
    const server = await listen(client.app);
    try {
      for (const format of ['csv', 'xlsx'] as const) {
        const { socket, head } = await stalledDownload(
          server.port,
          runLogPath(largeRun, format),
          browser.cookie!,
        );
        expect(head).toMatch(/^HTTP\/1\.1 200 /);
        expect(slots.active).toBe(1);
        socket.destroy();
        expect(await slots.handedOut.at(-1)!.ended).toBe('aborted');
        expect(slots.active).toBe(0);
      }
      // The freed slot serves the next download.
      const response = await fetch(`http://127.0.0.1:${server.port}${runLogPath(largeRun, 'csv')}`, {
        headers: { cookie: browser.cookie! },
      });
      expect(response.status).toBe(200);
      await response.body!.cancel();
    } finally {
      await server.close();
    }
  });

  it('drops a download whose client stops reading, freeing its slot and its database connection', async () => {
    const slots = new WatchedSlots({ perSession: 2, perProcess: 4 });
    const client = apiClient(harness.appOrm, { downloadSlots: slots, downloadStallTimeoutMs: 300 });
    const server = await listen(client.app);
    try {
      const { socket } = await stalledDownload(server.port, runLogPath(largeRun, 'csv'), browser.cookie!);
      const [slot] = slots.handedOut;
      expect(await slot!.ended).toBe('stalled');
      expect(slots.active).toBe(0);
      // The server closed the connection midway: what the client still gets is cut short, never a
      // complete-looking file (a chunked body ends with an empty chunk).
      const rest = await drain(socket);
      expect(rest.toString('latin1').endsWith('\r\n0\r\n\r\n')).toBe(false);
      // Between batches the export holds no transaction; dropped, it holds no query either.
      const busy = await harness.owner.em.fork().execute<{ count: string }[]>(
        `select count(*) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and (state like 'idle in transaction%' or (state = 'active' and query ilike '%sync_log_chunk%'))`,
      );
      expect(Number(busy[0]!.count)).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('holds each export a bounded way ahead of clients that read nothing, whatever the format', async () => {
    const slots = new WatchedSlots({ perSession: 2, perProcess: 4 });
    const client = apiClient(harness.appOrm, { downloadSlots: slots, downloadStallTimeoutMs: 2_000 });
    // Bodies never read: what @hono/node-server does to a response whose socket is full. Over a real
    // socket the kernel's buffers (megabytes) would take part of the file first and blur the bound.
    const responses: Response[] = [];
    for (const [who, format] of [
      [browser, 'csv'],
      [browser, 'xlsx'],
      [otherBrowser, 'csv'],
      [otherBrowser, 'xlsx'],
    ] as const) {
      const response = await client.app.request(`http://localhost${runLogPath(repetitiveRun, format)}`, {
        headers: { host: 'localhost', cookie: who.cookie ?? '' },
      });
      expect(response.status).toBe(200);
      responses.push(response);
    }
    expect(await Promise.all(slots.handedOut.map((slot) => slot.ended))).toEqual([
      'stalled',
      'stalled',
      'stalled',
      'stalled',
    ]);
    for (const slot of slots.handedOut) {
      console.log(
        `stalled download: ${slot.linesRead} of ${LINES} lines read, ${slot.bytesWritten} bytes written`,
      );
      // A batch of lines or two, and for XLSX what exceljs's zip may hold: far from the whole log.
      expect(slot.linesRead).toBeLessThan(LINES / 4);
      expect(slot.bytesWritten).toBeLessThan(3 * 2 ** 20);
    }
    // The client that finally reads finds a broken download, not a complete-looking file.
    for (const response of responses) await expect(response.arrayBuffer()).rejects.toThrow();
  });
});
