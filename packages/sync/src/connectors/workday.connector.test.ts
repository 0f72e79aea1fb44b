import { WorkdaySettingsSchema } from '@provisioning/shared';
import {
  generateHrRows,
  startWorkdayServer,
  type WorkdayServer,
  type WorkdayWorker,
} from '@provisioning/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parseAllowList } from './host-guard.ts';
import { SourceError, type SourceRecord, type SourceTable } from './source.ts';
import { loadWorkdaySource } from './workday.connector.ts';
import { WORKDAY_BATCH_SIZE } from './workday-records.ts';
import type { WorkdayLoadOptions } from './workday-requests.ts';

const USER = 'ISU_Provisioning';
const PASSWORD = 'isu-Secret-Pa55word';
const OAUTH = {
  clientId: 'api-client-1',
  clientSecret: 'client-Secret-42',
  refreshToken: 'refresh-Token-99',
};
const SECRETS = [PASSWORD, OAUTH.clientSecret, OAUTH.refreshToken];
const LOOPBACK = parseAllowList('127.0.0.1/32');

/** 20 workers; 3, 7 and 12 terminated; worker 5 without an email. */
const WORKERS: WorkdayWorker[] = generateHrRows(20).map((row, index) => ({
  ...row,
  email: index === 4 ? '' : row.email,
  active: ![2, 6, 11].includes(index),
}));

let server: WorkdayServer;

beforeAll(async () => {
  server = await startWorkdayServer({ user: USER, password: PASSWORD, workers: WORKERS, oauth: OAUTH });
});

afterEach(() => {
  server.fault(null);
  server.setWorkers(WORKERS);
  server.requests.length = 0;
});

afterAll(async () => {
  await server?.stop();
});

function settings(overrides: Record<string, unknown> = {}) {
  return WorkdaySettingsSchema.parse({
    reportUrl: `${server.reportUrl}?Effective_as_of_Date=2016-02-02-08:00`,
    username: USER,
    password: PASSWORD,
    ...overrides,
  });
}

/** Quick retries: the waits are not what these tests are about. */
const QUICK: WorkdayLoadOptions = { allowList: LOOPBACK, retryDelayMs: 1, maxRetryDelayMs: 5 };

async function rowsOf(table: SourceTable): Promise<SourceRecord[]> {
  const rows: SourceRecord[] = [];
  try {
    for await (const batch of table.batches) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(WORKDAY_BATCH_SIZE);
      rows.push(...batch);
    }
  } finally {
    await table.close();
  }
  return rows;
}

/** The SourceError a load (and the reading of its rows) ends with; its text never holds a secret. */
async function failureOf(load: Promise<SourceTable>): Promise<SourceError> {
  try {
    await rowsOf(await load);
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    const text = `${(error as SourceError).message} ${(error as SourceError).hint}`;
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8}|Bearer \S/);
    return error as SourceError;
  }
  throw new Error('the load succeeded');
}

describe('loading a Workday report', () => {
  test('reads every active worker as the ISU, asks for JSON and keeps the prompts, and counts the inactive ones in origin', async () => {
    const progress: number[] = [];
    const table = await loadWorkdaySource(settings(), {
      ...QUICK,
      onProgress: ({ bytes }) => progress.push(bytes),
    });
    expect(table.origin).toBe(
      `Workday report ISU_Provisioning/All_Workers on ${new URL(server.reportUrl).host} (20 workers; 3 inactive left out)`,
    );
    expect(table.headers).toEqual([
      'Employee_ID',
      'Email_Address',
      'Legal_First_Name',
      'Legal_Last_Name',
      'Business_Title',
      'Supervisory_Organization',
      'Location',
      'Employee_Number',
      'Phone',
      'Hire_Date',
      'Active',
      'Manager_Email',
    ]);
    expect(table.defaultColumns?.email).toEqual(['Email_Address', 'Work_Email', 'primaryWorkEmail']);
    const rows = await rowsOf(table);
    expect(rows.map((row) => row.rowNumber)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 1).filter((n) => ![3, 7, 12].includes(n)),
    );
    const first = WORKERS[0]!;
    expect(rows[0]?.values).toEqual({
      Employee_ID: 'E000001',
      Email_Address: 'user.1@example.com',
      Legal_First_Name: first.first_name,
      Legal_Last_Name: first.last_name,
      Business_Title: first.job_title,
      Supervisory_Organization: first.department,
      Location: first.location,
      Employee_Number: first.employee_number,
      Phone: first.phone,
      Hire_Date: `${first.start_date}-08:00`,
      Active: '1',
    });
    // Worker 5 has no email: Workday leaves the key out.
    expect(rows.find((row) => row.rowNumber === 5)?.values).not.toHaveProperty('Email_Address');

    expect(server.requests).toEqual([
      expect.objectContaining({
        endpoint: 'report',
        auth: `basic:${USER}`,
        query: { Effective_as_of_Date: '2016-02-02-08:00', format: 'json' },
      }),
    ]);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  test('exchanges the refresh token for a bearer token when OAuth is configured', async () => {
    const rows = await rowsOf(
      await loadWorkdaySource(settings({ password: undefined, oauth: OAUTH }), QUICK),
    );
    expect(rows).toHaveLength(17);
    expect(server.requests.map((request) => [request.endpoint, request.auth])).toEqual([
      ['token', `basic:${OAUTH.clientId}`],
      ['report', 'bearer'],
    ]);
  });

  test('reads numbers and booleans as text, null as empty, and ignores an object in a column the sync does not read', async () => {
    const body = JSON.stringify({
      Report_Entry: [
        {
          Employee_ID: 1001,
          Email_Address: 'a@acme.example',
          Legal_First_Name: 'Ada',
          Legal_Last_Name: 'Lovelace',
          Location: null,
          Active: true,
          Dependants: [{ Name: 'Byron' }],
        },
      ],
    });
    server.fault({ kind: 'body', body });
    const rows = await rowsOf(await loadWorkdaySource(settings(), QUICK));
    expect(rows[0]?.values).toEqual({
      Employee_ID: '1001',
      Email_Address: 'a@acme.example',
      Legal_First_Name: 'Ada',
      Legal_Last_Name: 'Lovelace',
      Active: 'true',
    });
  });

  test('leaves out the workers the configured status column calls Terminated or Inactive', async () => {
    const entries = ['Active', 'Terminated', 'inactive', 'On Leave'].map((status, index) => ({
      Employee_ID: `E${index}`,
      Email_Address: `w${index}@acme.example`,
      Legal_First_Name: 'W',
      Legal_Last_Name: String(index),
      Worker_Status: status,
      Active: '0',
    }));
    server.fault({ kind: 'body', body: JSON.stringify({ Report_Entry: entries }) });
    const table = await loadWorkdaySource(settings({ statusColumn: 'Worker_Status' }), QUICK);
    expect(table.origin).toMatch(/\(4 workers; 2 inactive left out\)$/);
    expect((await rowsOf(table)).map((row) => row.values.Employee_ID)).toEqual(['E0', 'E3']);
  });
});

describe('a Workday report that cannot be loaded', () => {
  test('a wrong password is AuthFailed, pointing at the ISU password', async () => {
    const error = await failureOf(loadWorkdaySource(settings({ password: 'wrong' }), QUICK));
    expect(error).toMatchObject({
      kind: 'AuthFailed',
      transient: false,
      message: `The Workday report ISU_Provisioning/All_Workers on ${new URL(server.reportUrl).host} refused the sign-in of the Integration System User "${USER}" (HTTP 401).`,
    });
    expect(error.hint).toMatch(/Integration System User's password/);
    expect(server.requests).toHaveLength(1);
  });

  test.each([
    [
      401,
      'AuthFailed',
      /refused the sign-in of the Integration System User "ISU_Provisioning" \(HTTP 401\)\.$/,
      /Integration System User's password/,
    ],
    [
      403,
      'AuthFailed',
      /may not be read by the Integration System User "ISU_Provisioning" \(HTTP 403\)\.$/,
      /Share the report with the Integration System User's security group, and enable it as a web service/,
    ],
    [404, 'SourceNotFound', /All_Workers on .* does not exist \(HTTP 404\)\.$/, /owner and report name/],
    [
      400,
      'BadResponse',
      /refused the request \(HTTP 400\): Invalid prompt value: Effective_as_of_Date$/,
      /prompt values/,
    ],
  ] as const)(
    'HTTP %i is %s, with a message and hint that say what to fix',
    async (status, kind, message, hint) => {
      server.fault({ kind: 'status', status, body: 'Invalid prompt value: Effective_as_of_Date' });
      const error = await failureOf(loadWorkdaySource(settings(), QUICK));
      expect(error.kind).toBe(kind);
      expect(error.transient).toBe(false);
      expect(error.message).toMatch(message);
      expect(error.hint).toMatch(hint);
      expect(server.requests).toHaveLength(1);
    },
  );

  test.each([429, 500, 503])(
    'HTTP %i is retried three times, then a transient error for the run to be retried later',
    async (status) => {
      server.fault({ kind: 'status', status, times: 10, retryAfter: status === 500 ? undefined : '1' });
      const retries: number[] = [];
      const error = await failureOf(
        loadWorkdaySource(settings(), { ...QUICK, onRetry: (_error, attempt) => retries.push(attempt) }),
      );
      expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: true });
      expect(error.message).toMatch(
        new RegExp(`answered HTTP ${status} \\((too many requests|a server error)\\)`),
      );
      expect(error.hint).toMatch(status === 429 ? /limiting the requests/ : /passing Workday problem/);
      expect(retries).toEqual([1, 2, 3]);
      expect(server.requests).toHaveLength(4);
    },
  );

  test('a 429 answer is retried after the Retry-After it gives, not the longer backoff', async () => {
    server.fault({ kind: 'status', status: 429, times: 2, retryAfter: '0' });
    const delays: number[] = [];
    const rows = await rowsOf(
      await loadWorkdaySource(settings(), {
        allowList: LOOPBACK,
        retryDelayMs: 600_000,
        onRetry: (_error, _attempt, delayMs) => delays.push(delayMs),
      }),
    );
    expect(rows).toHaveLength(17);
    expect(delays).toEqual([0, 0]);
  });

  test('an answer cut short is Interrupted (transient); a retry that gets it whole loads it', async () => {
    server.fault({ kind: 'cut', times: 1 });
    const error = await failureOf(loadWorkdaySource(settings(), { ...QUICK, attempts: 1 }));
    expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
    expect(error.message).toMatch(
      /^The answer of 127\.0\.0\.1:\d+ was cut short after .* of .*: the connection closed/,
    );
    expect(error.hint).toMatch(/the run is retried/);

    server.fault({ kind: 'cut', times: 1 });
    expect(await rowsOf(await loadWorkdaySource(settings(), QUICK))).toHaveLength(17);
  });

  test('an answer that stops arriving is given up after the inactivity timeout (transient)', async () => {
    server.fault({ kind: 'stall', afterBytes: 10 });
    const error = await failureOf(
      loadWorkdaySource(settings(), { ...QUICK, attempts: 1, idleTimeoutMs: 100 }),
    );
    expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
    expect(error.message).toMatch(
      /^127\.0\.0\.1:\d+ stopped sending for 0\.1 seconds after 10 bytes of its answer\.$/,
    );
    expect(error.hint).toMatch(/the run is retried/);
  });

  test('a server slower than timeoutMs is given up (transient)', async () => {
    server.fault({ kind: 'slow', delayMs: 5_000 });
    const error = await failureOf(
      loadWorkdaySource({ ...settings(), timeoutMs: 100 }, { ...QUICK, attempts: 1 }),
    );
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: true });
    expect(error.message).toMatch(/^127\.0\.0\.1:\d+ did not answer within 0\.1 seconds\.$/);
    expect(error.hint).toMatch(/raise timeoutMs/);
  });

  test('a sign-in page with status 200 is BadResponse, quoting the page', async () => {
    server.fault({ kind: 'html' });
    const error = await failureOf(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'BadResponse', transient: false });
    expect(error.message).toMatch(
      /answered with a web page instead of JSON \(a sign-in page\?\): <!DOCTYPE html>/,
    );
    expect(error.hint).toMatch(/enabled as a web service/);
  });

  test.each([
    ['{"data":[]}', 'has no Report_Entry list'],
    ['{"Report_Entry":{"Employee_ID":"1"}}', 'has a Report_Entry that is not a list'],
    ['[1,2]', 'is not a JSON object'],
    ['{"Report_Entry":[1]}', null],
  ])('the answer %s is BadResponse', async (body, what) => {
    server.fault({ kind: 'body', body });
    const error = await failureOf(loadWorkdaySource(settings(), QUICK));
    expect(error.kind).toBe('BadResponse');
    expect(error.message).toMatch(
      what === null ? /^Report_Entry 1 of .* is not an object: 1\.$/ : new RegExp(`${what}: `),
    );
    expect(error.hint).not.toBe('');
  });

  test('an object or a list in a column the sync reads fails the load, naming the entry and the column', async () => {
    const entries = [
      { Employee_ID: 'E1', Email_Address: 'a@acme.example', Legal_First_Name: 'A', Legal_Last_Name: 'B' },
      {
        Employee_ID: 'E2',
        Email_Address: ['b@acme.example', 'c@acme.example'],
        Legal_First_Name: 'C',
        Legal_Last_Name: 'D',
      },
    ];
    server.fault({ kind: 'body', body: JSON.stringify({ Report_Entry: entries }) });
    const error = await failureOf(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'BadResponse', transient: false });
    expect(error.message).toMatch(
      /^Report_Entry 2 of Workday report .* has a list in Email_Address, where the sync reads one value: \["b@acme.example","c@acme.example"\]\.$/,
    );
    expect(error.hint).toMatch(/single-instance field/);

    // Mapped elsewhere, the same column is not read, and the load goes through.
    server.fault({
      kind: 'body',
      body: JSON.stringify({
        Report_Entry: entries.map((entry) => ({ ...entry, Work: `${entry.Employee_ID}@acme.example` })),
      }),
    });
    const rows = await rowsOf(await loadWorkdaySource(settings(), { ...QUICK, mapping: { email: 'Work' } }));
    expect(rows.map((row) => row.values.Work)).toEqual(['E1@acme.example', 'E2@acme.example']);
  });

  test('a report without entries is NoDataRows, and nothing is handed on', async () => {
    server.setWorkers([]);
    const error = await failureOf(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({
      kind: 'NoDataRows',
      transient: false,
      message: expect.stringMatching(
        /All_Workers on .* returned no entries \(an empty Report_Entry list\)\.$/,
      ),
    });
    expect(error.hint).toMatch(/filters and prompt values/);
  });

  test('an answer over maxBytes and a report over maxRows are SizeLimitExceeded', async () => {
    const bytes = await failureOf(loadWorkdaySource(settings({ maxBytes: 1000 }), QUICK));
    expect(bytes).toMatchObject({ kind: 'SizeLimitExceeded', transient: false });
    expect(bytes.message).toMatch(
      /^The answer of 127\.0\.0\.1:\d+ is \d\.\d KB, more than the 1000 bytes limit for this configuration \(maxBytes\)\.$/,
    );
    expect(bytes.hint).toMatch(/raise maxBytes/);

    const rows = await failureOf(loadWorkdaySource(settings({ maxRows: 19 }), QUICK));
    expect(rows).toMatchObject({ kind: 'SizeLimitExceeded', transient: false });
    expect(rows.message).toMatch(
      /returned 20 entries, more than the 19 limit for this configuration \(maxRows\)\.$/,
    );
    expect(rows.hint).toMatch(/raise maxRows/);
  });

  test('a configured status column the report lacks is MissingColumns', async () => {
    const error = await failureOf(loadWorkdaySource(settings({ statusColumn: 'Worker_Status' }), QUICK));
    expect(error).toMatchObject({ kind: 'MissingColumns', transient: false });
    expect(error.message).toMatch(
      /^The status column Worker_Status \(statusColumn\) is not in Workday report/,
    );
    expect(error.hint).toMatch(/correct statusColumn/);
  });

  test.each([
    [{ ...OAUTH, refreshToken: 'revoked' }, 'invalid_grant', /refresh token has expired or was revoked/],
    [{ ...OAUTH, clientSecret: 'wrong' }, 'invalid_client', /OAuth client ID and secret/],
  ])('refused OAuth credentials are AuthFailed (%#)', async (oauth, reason, hint) => {
    const error = await failureOf(loadWorkdaySource(settings({ oauth }), QUICK));
    expect(error).toMatchObject({
      kind: 'AuthFailed',
      transient: false,
      message: `The Workday token endpoint of tenant acme refused the configured OAuth credentials (${reason}).`,
    });
    expect(error.hint).toMatch(hint);
    expect(server.requests.map((request) => request.endpoint)).toEqual(['token']);
  });

  test('a loopback host off the allow-list is refused before any request', async () => {
    const error = await failureOf(loadWorkdaySource(settings(), { attempts: 1 }));
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: false });
    expect(error.message).toMatch(/^127\.0\.0\.1 is a private, loopback or link-local address/);
    expect(server.requests).toHaveLength(0);
  });

  test('a server that is not there is SourceUnreachable (transient)', async () => {
    const down = await startWorkdayServer({ user: USER, password: PASSWORD, workers: 1 });
    await down.stop();
    const error = await failureOf(
      loadWorkdaySource(settings({ reportUrl: down.reportUrl }), { ...QUICK, attempts: 2 }),
    );
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: true });
    expect(error.message).toMatch(/^Could not reach 127\.0\.0\.1:\d+: the connection was refused\.$/);
    expect(error.hint).toMatch(/firewall/);
  });

  test('an abort stops a stalled answer at once with the abort reason', async () => {
    server.fault({ kind: 'stall' });
    const abort = new AbortController();
    const reason = new Error('cancel requested');
    const load = loadWorkdaySource(settings(), {
      ...QUICK,
      signal: abort.signal,
      onProgress: () => abort.abort(reason),
    });
    await expect(load).rejects.toBe(reason);
  });
});
