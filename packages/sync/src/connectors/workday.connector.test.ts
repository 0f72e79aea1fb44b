import { createHash } from 'node:crypto';
import { WorkdaySettingsSchema } from '@provisioning/shared';
import { generateHrRows, startWorkdayServer, type WorkdayWorker } from '@provisioning/testkit';
import { describe, expect, test } from 'vitest';
import { parseAllowList } from './host-guard.ts';
import type { SourceTable } from './source.ts';
import { loadWorkdaySource } from './workday.connector.ts';
import { failureOf, QUICK_RETRIES, rowsOf, useWorkdayTenant } from './workday-tenant.test-support.ts';

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

const tenant = useWorkdayTenant({
  user: USER,
  password: PASSWORD,
  workers: WORKERS,
  oauth: OAUTH,
  keepBodies: true,
});

function settings(overrides: Record<string, unknown> = {}) {
  return WorkdaySettingsSchema.parse({
    reportUrl: `${tenant().reportUrl}?Effective_as_of_Date=2016-02-02-08:00`,
    username: USER,
    password: PASSWORD,
    ...overrides,
  });
}

const QUICK = QUICK_RETRIES;
const failed = (load: Promise<SourceTable>) => failureOf(load, SECRETS);

describe('loading a Workday report', () => {
  test('reads every active worker as the ISU, asks for JSON and keeps the prompts, and counts the inactive ones in origin', async () => {
    const progress: number[] = [];
    const table = await loadWorkdaySource(settings(), {
      ...QUICK,
      onProgress: ({ bytes }) => progress.push(bytes),
    });
    expect(table.origin).toBe(
      `Workday report ISU_Provisioning/All_Workers on ${new URL(tenant().reportUrl).host} (20 workers; 3 inactive left out)`,
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

    expect(tenant().requests).toEqual([
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
    expect(tenant().requests.map((request) => [request.endpoint, request.auth])).toEqual([
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
    tenant().fault({ kind: 'body', body });
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
    tenant().fault({ kind: 'body', body: JSON.stringify({ Report_Entry: entries }) });
    const table = await loadWorkdaySource(settings({ statusColumn: 'Worker_Status' }), QUICK);
    expect(table.origin).toMatch(/\(4 workers; 2 inactive left out\)$/);
    expect((await rowsOf(table)).map((row) => row.values.Employee_ID)).toEqual(['E0', 'E3']);
  });
});

describe('the fingerprint of a Workday report', () => {
  /** The report bodies the tenant served, whole, in order. */
  const served = () =>
    tenant()
      .requests.filter((request) => request.endpoint === 'report' && request.body !== undefined)
      .map((request) => Buffer.from(request.body!));

  test('is the SHA-256 and size of the report as served, with the records handed on and the inactive left out', async () => {
    const table = await loadWorkdaySource(settings(), QUICK);
    expect(table.fingerprint()).toBeUndefined();
    await rowsOf(table);
    const [body] = served();
    expect(table.fingerprint()).toEqual({
      connector: 'workday',
      // The prompts of the query stay out, as anything else a query may carry.
      origin: tenant().reportUrl,
      sha256: createHash('sha256').update(body!).digest('hex'),
      bytes: body!.length,
      records: 17,
      leftOutInactive: 3,
    });
  });

  test('digests an answer that was cut short and asked again only as it finally came', async () => {
    tenant().fault({ kind: 'cut', times: 1 });
    const table = await loadWorkdaySource(settings(), QUICK);
    await rowsOf(table);
    const bodies = served();
    expect(bodies).toHaveLength(2);
    expect(table.fingerprint()).toMatchObject({
      sha256: createHash('sha256').update(bodies[1]!).digest('hex'),
      bytes: bodies[1]!.length,
    });
  });

  test('names the report without credentials or query tokens written into its URL', async () => {
    const url = new URL(tenant().reportUrl);
    url.username = 'isu';
    url.password = 'url-Pa55';
    url.search = '?Effective_as_of_Date=2016-02-02&access_token=tok-Secret-1';
    url.hash = '#sig=tok-Secret-2';
    const table = await loadWorkdaySource(settings({ reportUrl: url.href }), QUICK);
    await rowsOf(table);
    const { origin } = table.fingerprint()!;
    expect(origin).toBe(tenant().reportUrl);
    expect(origin).not.toMatch(/url-Pa55|tok-Secret|isu@/);
  });
});

describe('a Workday report that cannot be loaded', () => {
  test('a wrong password is AuthFailed, pointing at the ISU password', async () => {
    const error = await failed(loadWorkdaySource(settings({ password: 'wrong' }), QUICK));
    expect(error).toMatchObject({
      kind: 'AuthFailed',
      transient: false,
      message: `The Workday report ISU_Provisioning/All_Workers on ${new URL(tenant().reportUrl).host} refused the sign-in of the Integration System User "${USER}" (HTTP 401).`,
    });
    expect(error.hint).toMatch(/Integration System User's password/);
    expect(tenant().requests).toHaveLength(1);
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
      tenant().fault({ kind: 'status', status, body: 'Invalid prompt value: Effective_as_of_Date' });
      const error = await failed(loadWorkdaySource(settings(), QUICK));
      expect(error.kind).toBe(kind);
      expect(error.transient).toBe(false);
      expect(error.message).toMatch(message);
      expect(error.hint).toMatch(hint);
      expect(tenant().requests).toHaveLength(1);
    },
  );

  test.each([429, 500, 503])(
    'HTTP %i is retried three times, then a transient error for the run to be retried later',
    async (status) => {
      tenant().fault({ kind: 'status', status, times: 10, retryAfter: status === 500 ? undefined : '1' });
      const retries: number[] = [];
      const error = await failed(
        loadWorkdaySource(settings(), { ...QUICK, onRetry: (_error, attempt) => retries.push(attempt) }),
      );
      expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: true });
      expect(error.message).toMatch(
        new RegExp(`answered HTTP ${status} \\((too many requests|a server error)\\)`),
      );
      expect(error.hint).toMatch(status === 429 ? /limiting the requests/ : /passing Workday problem/);
      expect(retries).toEqual([1, 2, 3]);
      expect(tenant().requests).toHaveLength(4);
    },
  );

  test('a 429 answer is retried after the Retry-After it gives, not the longer backoff', async () => {
    tenant().fault({ kind: 'status', status: 429, times: 2, retryAfter: '0' });
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
    tenant().fault({ kind: 'cut', times: 1 });
    const error = await failed(loadWorkdaySource(settings(), { ...QUICK, attempts: 1 }));
    expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
    expect(error.message).toMatch(
      /^The answer of 127\.0\.0\.1:\d+ was cut short after .* of .*: the connection closed/,
    );
    expect(error.hint).toMatch(/the run is retried/);

    tenant().fault({ kind: 'cut', times: 1 });
    expect(await rowsOf(await loadWorkdaySource(settings(), QUICK))).toHaveLength(17);
  });

  test('an answer that stops arriving is given up after the inactivity timeout (transient)', async () => {
    tenant().fault({ kind: 'stall', afterBytes: 10 });
    const error = await failed(loadWorkdaySource(settings(), { ...QUICK, attempts: 1, idleTimeoutMs: 100 }));
    expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
    expect(error.message).toMatch(
      /^127\.0\.0\.1:\d+ stopped sending for 0\.1 seconds after 10 bytes of its answer\.$/,
    );
    expect(error.hint).toMatch(/the run is retried/);
  });

  test('a server slower than timeoutMs is given up (transient)', async () => {
    tenant().fault({ kind: 'slow', delayMs: 5_000 });
    const error = await failed(
      loadWorkdaySource({ ...settings(), timeoutMs: 100 }, { ...QUICK, attempts: 1 }),
    );
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: true });
    expect(error.message).toMatch(/^127\.0\.0\.1:\d+ did not answer within 0\.1 seconds\.$/);
    expect(error.hint).toMatch(/raise timeoutMs/);
  });

  test('a sign-in page with status 200 is BadResponse, quoting the page', async () => {
    tenant().fault({ kind: 'html' });
    const error = await failed(loadWorkdaySource(settings(), QUICK));
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
    ['{"Report_Entry":[{"Employee_ID":tru}]}', 'Report_Entry 1 of .* is not valid JSON'],
  ])('the answer %s is BadResponse', async (body, what) => {
    tenant().fault({ kind: 'body', body });
    const error = await failed(loadWorkdaySource(settings(), QUICK));
    expect(error.kind).toBe('BadResponse');
    expect(error.message).toMatch(
      what === null ? /^Report_Entry 1 of .* is not an object: 1\.$/ : new RegExp(`${what}`),
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
    tenant().fault({ kind: 'body', body: JSON.stringify({ Report_Entry: entries }) });
    const error = await failed(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'BadResponse', transient: false });
    expect(error.message).toMatch(
      /^Report_Entry 2 of Workday report .* has a list in Email_Address, where the sync reads one value: \["b@acme.example","c@acme.example"\]\.$/,
    );
    expect(error.hint).toMatch(/single-instance field/);

    // Mapped elsewhere, the same column is not read, and the load goes through.
    tenant().fault({
      kind: 'body',
      body: JSON.stringify({
        Report_Entry: entries.map((entry) => ({ ...entry, Work: `${entry.Employee_ID}@acme.example` })),
      }),
    });
    const rows = await rowsOf(await loadWorkdaySource(settings(), { ...QUICK, mapping: { email: 'Work' } }));
    expect(rows.map((row) => row.values.Work)).toEqual(['E1@acme.example', 'E2@acme.example']);
  });

  test('a report without entries is NoDataRows, and nothing is handed on', async () => {
    tenant().setWorkers([]);
    const error = await failed(loadWorkdaySource(settings(), QUICK));
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
    const bytes = await failed(loadWorkdaySource(settings({ maxBytes: 1000 }), QUICK));
    expect(bytes).toMatchObject({ kind: 'SizeLimitExceeded', transient: false });
    expect(bytes.message).toMatch(
      /^The answer of 127\.0\.0\.1:\d+ is \d\.\d KB, more than the 1000 bytes limit for this configuration \(maxBytes\)\.$/,
    );
    expect(bytes.hint).toMatch(/raise maxBytes/);

    const rows = await failed(loadWorkdaySource(settings({ maxRows: 19 }), QUICK));
    expect(rows).toMatchObject({ kind: 'SizeLimitExceeded', transient: false });
    expect(rows.message).toMatch(
      /returned 20 entries, more than the 19 limit for this configuration \(maxRows\)\.$/,
    );
    expect(rows.hint).toMatch(/raise maxRows/);
  });

  test('a configured status column the report lacks is MissingColumns', async () => {
    const error = await failed(loadWorkdaySource(settings({ statusColumn: 'Worker_Status' }), QUICK));
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
    const error = await failed(loadWorkdaySource(settings({ oauth }), QUICK));
    expect(error).toMatchObject({
      kind: 'AuthFailed',
      transient: false,
      message: `The Workday token endpoint of tenant acme refused the configured OAuth credentials (${reason}).`,
    });
    expect(error.hint).toMatch(hint);
    expect(tenant().requests.map((request) => request.endpoint)).toEqual(['token']);
  });

  test('a loopback host off the allow-list is refused before any request', async () => {
    const error = await failed(loadWorkdaySource(settings(), { attempts: 1 }));
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: false });
    expect(error.message).toMatch(/^127\.0\.0\.1 is a private, loopback or link-local address/);
    expect(tenant().requests).toHaveLength(0);
  });

  test('a server that is not there is SourceUnreachable (transient)', async () => {
    const down = await startWorkdayServer({ user: USER, password: PASSWORD, workers: 1 });
    await down.stop();
    const error = await failed(
      loadWorkdaySource(settings({ reportUrl: down.reportUrl }), { ...QUICK, attempts: 2 }),
    );
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: true });
    expect(error.message).toMatch(/^Could not reach 127\.0\.0\.1:\d+: the connection was refused\.$/);
    expect(error.hint).toMatch(/firewall/);
  });

  test('an abort stops a stalled answer at once with the abort reason', async () => {
    tenant().fault({ kind: 'stall' });
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
