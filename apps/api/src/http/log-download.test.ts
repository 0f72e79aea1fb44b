import { RUN_STATUS_INFO, type RunStatus, runLogPath } from '@provisioning/shared';
import { logHeaders } from '@provisioning/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  createApiHarness,
  type SeedLogEntry,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
  type TestOrganisation,
} from '../api-harness.test-support.ts';
import { contentDisposition } from './log-download.ts';

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
