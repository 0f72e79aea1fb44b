import { createHash } from 'node:crypto';
import { WorkdaySettingsSchema, type WorkdaySoapSettings } from '@provisioning/shared';
import { generateHrRows, type WorkdayWorker, workerWid } from '@provisioning/testkit';
import { describe, expect, test } from 'vitest';
import { connectorHosts } from './load-source.ts';
import type { SourceTable } from './source.ts';
import { loadWorkdaySource } from './workday.connector.ts';
import type { WorkdayLoadOptions } from './workday-requests.ts';
import { getWorkersEnvelope, parseWorkersPage } from './workday-soap.ts';
import { failureOf, QUICK_RETRIES, rowsOf, useWorkdayTenant } from './workday-tenant.test-support.ts';

const USER = 'ISU_Provisioning';
const PASSWORD = 'isu-Secret-<Pa55>&word';
const AS_OF = new Date('2024-01-15T22:30:00.000Z');

/** 25 workers, 24 and 25 terminated (Workday leaves them out when asked to). */
const WORKERS: WorkdayWorker[] = generateHrRows(25).map((row, index) => ({ ...row, active: index < 23 }));

const tenant = useWorkdayTenant({ user: USER, password: PASSWORD, workers: WORKERS, keepBodies: true });

function settings(overrides: Record<string, unknown> = {}) {
  return WorkdaySettingsSchema.parse({
    mode: 'soap',
    baseUrl: tenant().baseUrl,
    tenant: 'acme',
    username: USER,
    password: PASSWORD,
    pageSize: 10,
    ...overrides,
  });
}

const QUICK: WorkdayLoadOptions = { ...QUICK_RETRIES, asOf: AS_OF };
const failed = (load: Promise<SourceTable>) => failureOf(load, [PASSWORD]);

describe('loading workers through Get_Workers', () => {
  test('reads every page as of the run start, as user@tenant, and resolves each manager to an email', async () => {
    const table = await loadWorkdaySource(settings(), QUICK);
    expect(table.origin).toBe(
      `Workday Get_Workers of tenant acme on ${new URL(tenant().baseUrl).host} (23 workers)`,
    );
    expect(table.headers).toEqual([
      'Employee_ID',
      'Email_Address',
      'Legal_First_Name',
      'Legal_Last_Name',
      'Business_Title',
      'Supervisory_Organization',
      'Location',
      'Manager_Email',
      'Hire_Date',
      'Active',
    ]);
    const rows = await rowsOf(table);
    expect(rows).toHaveLength(23);
    const twentieth = WORKERS[19]!;
    expect(rows[19]).toEqual({
      rowNumber: 20,
      values: {
        Employee_ID: 'E000020',
        // The work address, not the home one listed before it.
        Email_Address: 'user.20@example.com',
        // The legal name, not the preferred one.
        Legal_First_Name: twentieth.first_name,
        Legal_Last_Name: twentieth.last_name,
        // The primary job, not the other one.
        Business_Title: twentieth.job_title,
        Location: twentieth.location,
        // The supervisory organisation, not the cost centre.
        Supervisory_Organization: twentieth.department,
        // Page 2's worker reports to a worker of page 1.
        Manager_Email: twentieth.manager_email,
        Hire_Date: `${twentieth.start_date}-08:00`,
        Active: '1',
      },
    });
    expect(rows[0]?.values.Manager_Email).toBe('');

    expect(tenant().requests.map((request) => [request.auth, request.soap])).toEqual(
      [1, 2, 3].map((page) => [
        `wsse:${USER}@acme`,
        {
          page,
          count: 10,
          asOfEffectiveDate: '2024-01-15',
          asOfEntryDateTime: '2024-01-15T22:30:00.000Z',
          excludeInactive: true,
        },
      ]),
    );
  });

  test('writes a Get_Workers_Request envelope with WS-Security and the password escaped', () => {
    const envelope = getWorkersEnvelope(settings({ version: 'v40.1' }) as WorkdaySoapSettings, 2, AS_OF);
    expect(envelope).toContain('<wsse:Username>ISU_Provisioning@acme</wsse:Username>');
    expect(envelope).toContain('#PasswordText">isu-Secret-&lt;Pa55&gt;&amp;word</wsse:Password>');
    expect(envelope).toContain('<bsvc:Get_Workers_Request bsvc:version="v40.1">');
    expect(envelope).toContain('<bsvc:Page>2</bsvc:Page><bsvc:Count>10</bsvc:Count>');
    expect(envelope).toContain(
      '<bsvc:Include_Management_Chain_Data>true</bsvc:Include_Management_Chain_Data>',
    );
  });

  test('takes the manager before the last one when the worker heads their own organisation', () => {
    const chainPage = (chain: string[]) =>
      '<env:Envelope xmlns:env="e" xmlns:wd="w"><env:Body><wd:Get_Workers_Response><wd:Response_Results>' +
      '<wd:Total_Results>1</wd:Total_Results><wd:Total_Pages>1</wd:Total_Pages></wd:Response_Results><wd:Response_Data>' +
      '<wd:Worker><wd:Worker_Reference><wd:ID wd:type="WID">self</wd:ID><wd:ID wd:type="Contingent_Worker_ID">C-7</wd:ID></wd:Worker_Reference>' +
      '<wd:Worker_Data><wd:Management_Chain_Data><wd:Worker_Supervisory_Management_Chain_Data>' +
      chain
        .map(
          (wid) =>
            `<wd:Management_Chain_Data><wd:Manager_Reference><wd:ID wd:type="WID">${wid}</wd:ID></wd:Manager_Reference></wd:Management_Chain_Data>`,
        )
        .join('') +
      '</wd:Worker_Supervisory_Management_Chain_Data></wd:Management_Chain_Data></wd:Worker_Data></wd:Worker>' +
      '</wd:Response_Data></wd:Get_Workers_Response></env:Body></env:Envelope>';
    const page = parseWorkersPage(chainPage(['top', 'boss', 'self']));
    expect(page).toMatchObject({
      totalPages: 1,
      workers: [{ Employee_ID: 'C-7', wid: 'self', managerWid: 'boss' }],
    });
    expect(workerWid('E000001')).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('the fingerprint of Get_Workers', () => {
  test('is the SHA-256 of every page as served, in order, with the pages and records counted', async () => {
    const table = await loadWorkdaySource(settings(), QUICK);
    await rowsOf(table);
    const pages = tenant()
      .requests.filter((request) => request.endpoint === 'soap')
      .map((request) => Buffer.from(request.body!));
    expect(pages).toHaveLength(3);
    const digest = createHash('sha256');
    for (const page of pages) digest.update(page);
    expect(table.fingerprint()).toEqual({
      connector: 'workday',
      origin: `${tenant().baseUrl}/ccx/service/acme/Human_Resources/v41.0`,
      sha256: digest.digest('hex'),
      bytes: pages.reduce((sum, page) => sum + page.length, 0),
      records: 23,
      pages: 3,
      // Get_Workers was asked to leave inactive workers out: none came to be left out here.
      leftOutInactive: 0,
    });
  });
});

describe('the host of Get_Workers settings', () => {
  test('is the web services host, as a report configuration names the report URL’s', () => {
    const soap = { mode: 'soap', baseUrl: 'https://wd2-impl-services1.workday.com', tenant: 'acme' };
    expect(connectorHosts('workday', soap)).toEqual(['wd2-impl-services1.workday.com']);
    const report = {
      reportUrl: 'https://wd3-services1.myworkday.com/ccx/service/customreport2/acme/isu/Employees',
    };
    expect(connectorHosts('workday', report)).toEqual(['wd3-services1.myworkday.com']);
  });
});

describe('Get_Workers that cannot be loaded', () => {
  test('a wrong password is AuthFailed, from the authentication SOAP Fault', async () => {
    const error = await failed(loadWorkdaySource(settings({ password: 'wrong' }), QUICK));
    expect(error).toMatchObject({ kind: 'AuthFailed', transient: false });
    expect(error.message).toMatch(
      /^Get_Workers page 1 \(tenant acme on 127\.0\.0\.1:\d+\): Workday refused the sign-in of the Integration System User "ISU_Provisioning@acme" \(SOAP-ENV:Client\.authenticationError: invalid username or password\)\.$/,
    );
    expect(error.hint).toMatch(/name and password/);
    expect(tenant().requests).toHaveLength(1);
  });

  test('another SOAP Fault is BadResponse, quoting its faultstring', async () => {
    tenant().fault({
      kind: 'soap-fault',
      faultcode: 'SOAP-ENV:Client.validationError',
      faultstring: 'The task submitted is not authorized.',
    });
    const error = await failed(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'BadResponse', transient: false });
    expect(error.message).toMatch(
      /: Workday answered with a SOAP Fault \(SOAP-ENV:Client\.validationError: The task submitted is not authorized\.\)\.$/,
    );
    expect(error.hint).toMatch(/domain security policies/);
  });

  test('a page failing after every retry fails the load (transient), saying how far the read got', async () => {
    tenant().fault({ kind: 'page-failing', page: 2, status: 503, times: 10 });
    const error = await failed(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: true });
    expect(error.message).toMatch(
      /^Get_Workers page 2 of 3 \(tenant acme on 127\.0\.0\.1:\d+\) answered HTTP 503 \(a server error\): Status 503 Pages read before it: 1; nothing was used\.$/,
    );
    expect(error.hint).toMatch(/retried later/);
    expect(tenant().requests.map((request) => request.soap?.page)).toEqual([1, 2, 2, 2, 2]);
  });

  test('a page that fails once is asked again, and the load completes', async () => {
    tenant().fault({ kind: 'page-failing', page: 3, status: 500, times: 1 });
    expect(await rowsOf(await loadWorkdaySource(settings(), QUICK))).toHaveLength(23);
    expect(tenant().requests.map((request) => request.soap?.page)).toEqual([1, 2, 3, 3]);
  });

  test('Total_Pages changing between pages fails the load (transient)', async () => {
    tenant().fault({ kind: 'total-pages-changing', fromPage: 2 });
    const error = await failed(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
    expect(error.message).toMatch(
      /said 3 pages on page 1 but 4 on page 2: the list changed while it was read\.$/,
    );
    expect(error.hint).toMatch(/the run is retried/);
  });

  test('an answer declaring a DOCTYPE (an entity expansion) is refused unread', async () => {
    const body =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' +
      '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>&lol2;</env:Body></env:Envelope>';
    tenant().fault({ kind: 'body', body, contentType: 'text/xml' });
    const error = await failed(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'BadResponse', transient: false });
    expect(error.message).toMatch(
      /the answer declares a DOCTYPE, which Workday never sends; it was refused unread/,
    );
    expect(error.hint).toMatch(/baseUrl/);
  });

  test.each([
    [
      'a sign-in page',
      { kind: 'html' } as const,
      /the answer is not XML \(a sign-in page\?\): <!DOCTYPE html>/,
    ],
    [
      'XML cut short',
      { kind: 'body', body: '<env:Envelope xmlns:env="e"><env:Body>' } as const,
      /the answer is not a readable SOAP document \(Malformed XML at character \d+: input ends before <\/env:Body>\.\)/,
    ],
    [
      'a document without Response_Results',
      { kind: 'body', body: '<env:Envelope xmlns:env="e"><env:Body/></env:Envelope>' } as const,
      /not a readable SOAP document \(the answer has no Response_Results with Total_Pages\)/,
    ],
  ])('%s is BadResponse', async (_what, fault, message) => {
    tenant().fault(fault);
    const error = await failed(loadWorkdaySource(settings(), QUICK));
    expect(error).toMatchObject({ kind: 'BadResponse', transient: false });
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(/baseUrl/);
  });

  test('a version the tenant does not serve is SourceNotFound', async () => {
    const error = await failed(loadWorkdaySource(settings({ version: '35.0' }), QUICK));
    expect(error).toMatchObject({ kind: 'SourceNotFound', transient: false });
    expect(error.message).toMatch(/: there is no such service \(HTTP 404\)\.$/);
    expect(error.hint).toMatch(/tenant and version/);
  });

  test('an answer cut mid-body is Interrupted (transient)', async () => {
    tenant().fault({ kind: 'cut', times: 10 });
    const error = await failed(loadWorkdaySource(settings(), { ...QUICK, attempts: 2 }));
    expect(error).toMatchObject({ kind: 'Interrupted', transient: true });
    expect(error.message).toMatch(/was cut short after/);
  });

  test('no workers is NoDataRows; more than maxRows is SizeLimitExceeded before the second page', async () => {
    tenant().setWorkers([]);
    const none = await failed(loadWorkdaySource(settings(), QUICK));
    expect(none).toMatchObject({ kind: 'NoDataRows', transient: false });
    expect(none.message).toMatch(/^Workday Get_Workers of tenant acme on .* returned no workers\.$/);
    expect(none.hint).toMatch(/security group may see the workers/);

    tenant().setWorkers(WORKERS);
    tenant().requests.length = 0;
    const many = await failed(loadWorkdaySource(settings({ maxRows: 20 }), QUICK));
    expect(many).toMatchObject({ kind: 'SizeLimitExceeded', transient: false });
    expect(many.message).toMatch(
      /lists 23 workers, more than the 20 limit for this configuration \(maxRows\)\.$/,
    );
    expect(tenant().requests).toHaveLength(1);
  });

  test('a page over maxBytes is SizeLimitExceeded (the limit holds for each page: pages are not kept)', async () => {
    const error = await failed(loadWorkdaySource(settings({ maxBytes: 20_000 }), QUICK));
    expect(error).toMatchObject({ kind: 'SizeLimitExceeded', transient: false });
    expect(error.message).toMatch(
      /^The answer of 127\.0\.0\.1:\d+ is \d+\.\d KB, more than the 19\.5 KB limit for this configuration \(maxBytes\)\.$/,
    );
    expect(error.hint).toMatch(/raise maxBytes/);
  });
});
