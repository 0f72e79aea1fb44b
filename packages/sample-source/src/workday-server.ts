import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type HrColumn, type HrRow, iterateHrRows } from './hr-files.ts';

/**
 * A stand-in Workday tenant on 127.0.0.1 speaking Workday's wire formats, for tests and the demo:
 * - a custom report (RaaS): `GET /ccx/service/customreport2/{tenant}/{owner}/{report}?format=json`
 *   answers `{"Report_Entry":[{...}]}`, keys being the report's column aliases, an empty value's key left
 *   out (as Workday does), basic credentials of the ISU or a bearer token;
 * - OAuth: `POST /ccx/oauth2/{tenant}/token`, `grant_type=refresh_token`, the API client's ID and secret
 *   as basic credentials, answering `{"access_token", "token_type": "Bearer"}`;
 * - SOAP: `POST /ccx/service/{tenant}/Human_Resources/v{version}` with a Get_Workers_Request under
 *   WS-Security (UsernameToken `user@tenant`, PasswordText), answering pages of Worker elements;
 *   inactive workers are left out when the request asks (Exclude_Inactive_Workers). A wrong login is a
 *   SOAP Fault `SOAP-ENV:Client.authenticationError`, HTTP 500, as Workday answers it.
 * Workers come from the HR generator (iterateHrRows): Workday dates (`2016-02-02-08:00`), a WID each,
 * managers as Management_Chain_Data (top manager first, the direct one last).
 *
 * `fault(f)` makes the next requests misbehave the way real services do (see WorkdayFault).
 */

/** One worker: an HR row, and whether Workday holds it as active (default true). */
export type WorkdayWorker = HrRow & { active?: boolean };

export interface WorkdayServerOptions {
  /** Default `acme`. */
  tenant?: string;
  /** The Integration System User's name (RaaS takes it plain; SOAP as `user@tenant`). */
  user: string;
  password: string;
  /** How many generated workers (iterateHrRows), or the workers themselves. */
  workers: number | Iterable<WorkdayWorker>;
  seed?: number;
  /** The report's column alias per HR column (default WORKDAY_REPORT_ALIASES); a column left out is not in the report. */
  aliases?: Partial<Record<HrColumn, string>>;
  /** Where the report's Active column says `0` or `1`; null leaves the column out. Default `Active`. */
  statusAlias?: string | null;
  /** An API client registered for integrations: enables the token endpoint and bearer tokens. */
  oauth?: { clientId: string; clientSecret: string; refreshToken: string };
  /** Default `ISU_Provisioning` / `All_Workers`. */
  reportOwner?: string;
  reportName?: string;
  /** Default `41.0`. */
  version?: string;
  /** Keep each 200 answer's body on its request record (tests compare what a connector read); default false. */
  keepBodies?: boolean;
}

/** A report's column aliases as the test fakes and the demo use them: the connector's default names. */
export const WORKDAY_REPORT_ALIASES: Readonly<Record<HrColumn, string>> = {
  employee_id: 'Employee_ID',
  email: 'Email_Address',
  first_name: 'Legal_First_Name',
  last_name: 'Legal_Last_Name',
  job_title: 'Business_Title',
  department: 'Supervisory_Organization',
  location: 'Location',
  manager_email: 'Manager_Email',
  employee_number: 'Employee_Number',
  phone: 'Phone',
  start_date: 'Hire_Date',
};

/**
 * What `fault(f)` can make the server do. `times` (default 1) counts the requests it applies to, after
 * which the server answers normally again; `on` picks the endpoint (default: report and SOAP).
 */
export type WorkdayFault = { on?: 'report' | 'soap' | 'token' | 'any'; times?: number } & (
  | /** Answers this status, with a Retry-After header (seconds or an HTTP date) when `retryAfter` is given. */
  { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** Sends the head and the first `afterBytes` of the body (default 100), then nothing more: a stalled answer. */
  | { kind: 'stall'; afterBytes?: number }
  /** Waits `delayMs` before answering at all. */
  | { kind: 'slow'; delayMs: number }
  /** Sends the first `afterBytes` of the body (default half of it), then drops the connection. */
  | { kind: 'cut'; afterBytes?: number }
  /** 200 with a sign-in web page, as a wrong URL or a lost session gets. */
  | { kind: 'html' }
  /** 200 with this body, as given. */
  | { kind: 'body'; body: string; contentType?: string }
  /** Get_Workers: page `page` answers HTTP `status` (default 500) `times` times, with `retryAfter` if given. */
  | { kind: 'page-failing'; page: number; status?: number; retryAfter?: string }
  /** Get_Workers: from page `fromPage` on, Total_Pages says one more than before (workers added meanwhile). */
  | { kind: 'total-pages-changing'; fromPage: number }
  /** Get_Workers: a SOAP Fault with this code and text (HTTP 500). */
  | { kind: 'soap-fault'; faultcode: string; faultstring: string }
);

/** One request as the server saw it (credentials reduced to who presented them). */
export interface WorkdayRequest {
  endpoint: 'report' | 'soap' | 'token' | 'other';
  method: string;
  path: string;
  query: Record<string, string>;
  /** `basic:<user>`, `bearer`, `wsse:<user@tenant>` or null. */
  auth: string | null;
  /** Get_Workers: the Response_Filter asked for. */
  soap?: {
    page: number;
    count: number;
    asOfEffectiveDate?: string;
    asOfEntryDateTime?: string;
    excludeInactive: boolean;
  };
  status: number;
  /** With `keepBodies`: the report's or a Get_Workers page's body as meant to be sent (a fault may cut it). */
  body?: string;
}

export interface WorkdayServer {
  /** The custom report's URL (RaaS), for `reportUrl`. */
  reportUrl: string;
  /** The web services host (`http://127.0.0.1:PORT`), for `baseUrl` of Get_Workers settings. */
  baseUrl: string;
  /** Get_Workers' endpoint: `{baseUrl}/ccx/service/{tenant}/Human_Resources/v{version}`. */
  soapUrl: string;
  tokenUrl: string;
  tenant: string;
  requests: WorkdayRequest[];
  /** Makes the next requests misbehave (replacing the fault before); null ends it. */
  fault(f: WorkdayFault | null): void;
  /** Replaces the workers served from now on. */
  setWorkers(workers: number | Iterable<WorkdayWorker>): void;
  stop(): Promise<void>;
}

interface ServedWorker {
  row: WorkdayWorker;
  wid: string;
  /** WIDs from the top manager down to the direct one. */
  chain: string[];
}

/** Workday's date form: the day and the tenant's UTC offset, `2016-02-02-08:00`. */
export function workdayDate(isoDate: string): string {
  return isoDate === '' ? '' : `${isoDate}-08:00`;
}

export function workerWid(employeeId: string): string {
  return createHash('sha256').update(`wid:${employeeId}`).digest('hex').slice(0, 32);
}

function serveWorkers(workers: number | Iterable<WorkdayWorker>, seed: number | undefined): ServedWorker[] {
  const rows: WorkdayWorker[] =
    typeof workers === 'number' ? Array.from(iterateHrRows(workers, seed)) : Array.from(workers);
  const byEmail = new Map<string, ServedWorker>();
  const served = rows.map((row) => {
    const worker: ServedWorker = { row, wid: workerWid(row.employee_id), chain: [] };
    if (row.email) byEmail.set(row.email.toLowerCase(), worker);
    return worker;
  });
  const chainOf = (worker: ServedWorker, depth: number): string[] => {
    if (worker.chain.length > 0 || depth > 50) return worker.chain;
    const manager = worker.row.manager_email
      ? byEmail.get(worker.row.manager_email.toLowerCase())
      : undefined;
    if (!manager || manager === worker) return worker.chain;
    worker.chain = [...chainOf(manager, depth + 1), manager.wid];
    return worker.chain;
  };
  for (const worker of served) chainOf(worker, 0);
  return served;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return null;
  const text = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon === -1 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

const xmlEscape = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

const SIGN_IN_PAGE =
  '<!DOCTYPE html><html><head><title>Workday</title></head><body><form action="/login.flex" method="post">' +
  '<input name="userName"><input name="password" type="password"><button>Sign In</button></form></body></html>';

function soapFault(faultcode: string, faultstring: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">' +
    `<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>${xmlEscape(faultcode)}</faultcode><faultstring>${xmlEscape(faultstring)}</faultstring>` +
    '</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>'
  );
}

/** The text of the first element named `name` (any prefix) in a request body. */
function elementText(xml: string, name: string): string | undefined {
  const match = new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[\\w-]+:)?${name}>`).exec(xml);
  return match?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function workerXml(worker: ServedWorker): string {
  const { row } = worker;
  const e = xmlEscape;
  const id = row.employee_id;
  const email = row.email
    ? `<wd:Email_Address_Data><wd:Email_Address>${e(row.email)}</wd:Email_Address><wd:Usage_Data wd:Public="1">` +
      '<wd:Type_Data wd:Primary="1"><wd:Type_Reference wd:Descriptor="Work"><wd:ID wd:type="WID">1f27f250dfaa4724ab1e1617174281e4</wd:ID>' +
      '<wd:ID wd:type="Communication_Usage_Type_ID">WORK</wd:ID></wd:Type_Reference></wd:Type_Data></wd:Usage_Data></wd:Email_Address_Data>'
    : '';
  // A home address before the work one: the connector must pick by usage, not by position.
  const home = `<wd:Email_Address_Data><wd:Email_Address>home.${e(id.toLowerCase())}@mail.example</wd:Email_Address><wd:Usage_Data wd:Public="0"><wd:Type_Data wd:Primary="1"><wd:Type_Reference wd:Descriptor="Home"><wd:ID wd:type="Communication_Usage_Type_ID">HOME</wd:ID></wd:Type_Reference></wd:Type_Data></wd:Usage_Data></wd:Email_Address_Data>`;
  const org = (type: string, name: string) =>
    name
      ? `<wd:Worker_Organization_Data><wd:Organization_Data><wd:Organization_Reference_ID>${type}_${e(name).replace(/\s/g, '_')}</wd:Organization_Reference_ID>` +
        `<wd:Organization_Name>${e(name)}</wd:Organization_Name><wd:Organization_Type_Reference><wd:ID wd:type="Organization_Type_ID">${type}</wd:ID>` +
        '</wd:Organization_Type_Reference></wd:Organization_Data></wd:Worker_Organization_Data>'
      : '';
  const chain = worker.chain
    .map(
      (wid) =>
        `<wd:Management_Chain_Data><wd:Manager_Reference><wd:ID wd:type="WID">${wid}</wd:ID></wd:Manager_Reference></wd:Management_Chain_Data>`,
    )
    .join('');
  const active = row.active === false ? '0' : '1';
  return (
    `<wd:Worker><wd:Worker_Reference><wd:ID wd:type="WID">${worker.wid}</wd:ID><wd:ID wd:type="Employee_ID">${e(id)}</wd:ID></wd:Worker_Reference>` +
    `<wd:Worker_Data><wd:Worker_ID>${e(id)}</wd:Worker_ID><wd:User_ID>${e(row.email)}</wd:User_ID><wd:Personal_Data><wd:Name_Data>` +
    `<wd:Legal_Name_Data><wd:Name_Detail_Data wd:Formatted_Name="${e(`${row.first_name} ${row.last_name}`)}"><wd:First_Name>${e(row.first_name)}</wd:First_Name>` +
    `<wd:Last_Name>${e(row.last_name)}</wd:Last_Name></wd:Name_Detail_Data></wd:Legal_Name_Data>` +
    `<wd:Preferred_Name_Data><wd:Name_Detail_Data><wd:First_Name>Pref ${e(row.first_name)}</wd:First_Name><wd:Last_Name>${e(row.last_name)}</wd:Last_Name></wd:Name_Detail_Data></wd:Preferred_Name_Data>` +
    `</wd:Name_Data><wd:Contact_Data>${home}${email}</wd:Contact_Data></wd:Personal_Data>` +
    '<wd:Employment_Data><wd:Worker_Job_Data wd:Primary_Job="0"><wd:Position_Data><wd:Business_Title>Second job</wd:Business_Title>' +
    '<wd:Business_Site_Summary_Data><wd:Name>Elsewhere</wd:Name></wd:Business_Site_Summary_Data></wd:Position_Data></wd:Worker_Job_Data>' +
    `<wd:Worker_Job_Data wd:Primary_Job="1"><wd:Position_Data><wd:Business_Title>${e(row.job_title)}</wd:Business_Title>` +
    `<wd:Business_Site_Summary_Data><wd:Name>${e(row.location)}</wd:Name></wd:Business_Site_Summary_Data></wd:Position_Data></wd:Worker_Job_Data>` +
    `<wd:Worker_Status_Data><wd:Active>${active}</wd:Active><wd:Hire_Date>${workdayDate(row.start_date)}</wd:Hire_Date></wd:Worker_Status_Data>` +
    `</wd:Employment_Data><wd:Organization_Data>${org('COST_CENTER', row.department ? `CC ${row.department}` : '')}${org('SUPERVISORY', row.department)}</wd:Organization_Data>` +
    `<wd:Management_Chain_Data><wd:Worker_Supervisory_Management_Chain_Data>${chain}</wd:Worker_Supervisory_Management_Chain_Data></wd:Management_Chain_Data>` +
    '</wd:Worker_Data></wd:Worker>'
  );
}

/** Starts the server on 127.0.0.1, on `port` or any free one. */
export async function startWorkdayServer(
  options: WorkdayServerOptions & { port?: number },
): Promise<WorkdayServer> {
  const tenant = options.tenant ?? 'acme';
  const owner = options.reportOwner ?? 'ISU_Provisioning';
  const reportName = options.reportName ?? 'All_Workers';
  const version = options.version ?? '41.0';
  const aliases = options.aliases ?? WORKDAY_REPORT_ALIASES;
  const statusAlias = options.statusAlias === undefined ? 'Active' : options.statusAlias;
  const tokens = new Set<string>();
  const requests: WorkdayRequest[] = [];
  let workers = serveWorkers(options.workers, options.seed);
  /** The workers Get_Workers lists when inactive ones are excluded, worked out once per set of workers. */
  let activeWorkers: ServedWorker[] | undefined;
  let current: (WorkdayFault & { left: number }) | null = null;
  const sockets = new Set<Socket>();

  const reportPath = `/ccx/service/customreport2/${encodeURIComponent(tenant)}/${encodeURIComponent(owner)}/${encodeURIComponent(reportName)}`;
  const soapPath = `/ccx/service/${encodeURIComponent(tenant)}/Human_Resources/v${version}`;
  const tokenPath = `/ccx/oauth2/${encodeURIComponent(tenant)}/token`;

  /** The fault for this request, counted as used, or null. */
  function takeFault(endpoint: WorkdayRequest['endpoint'], page?: number): WorkdayFault | null {
    if (!current || current.left <= 0) return null;
    const on =
      current.on ??
      (current.kind === 'page-failing' || current.kind === 'total-pages-changing' ? 'soap' : undefined);
    const applies =
      on === 'any' || (on === undefined ? endpoint === 'report' || endpoint === 'soap' : on === endpoint);
    if (!applies) return null;
    if (current.kind === 'page-failing' && page !== current.page) return null;
    if (current.kind === 'total-pages-changing')
      return page !== undefined && page >= current.fromPage ? current : null;
    current.left--;
    return current;
  }

  async function send(
    res: ServerResponse,
    status: number,
    body: string,
    contentType: string,
    fault: WorkdayFault | null,
  ) {
    const bytes = Buffer.from(body);
    if (fault?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(bytes.length) });
    if (fault?.kind === 'cut' || fault?.kind === 'stall') {
      const cutAt = Math.min(
        bytes.length - 1,
        fault.afterBytes ?? (fault.kind === 'cut' ? Math.floor(bytes.length / 2) : 100),
      );
      // A stall keeps the connection open and silent; a cut drops it once the part is out.
      res.write(bytes.subarray(0, cutAt), () => {
        if (fault.kind === 'cut') res.socket?.destroy();
      });
      return;
    }
    // Large bodies go out in slices, with backpressure, as a real server streams them.
    const slice = 1024 * 1024;
    for (let offset = 0; offset < bytes.length; offset += slice) {
      if (!res.write(bytes.subarray(offset, offset + slice))) await once(res, 'drain');
    }
    res.end();
  }

  /** Answers the misbehaviour a fault asks for, if it is one that replaces the answer; true when it did. */
  async function answerFault(
    res: ServerResponse,
    fault: WorkdayFault | null,
    record: WorkdayRequest,
  ): Promise<boolean> {
    if (!fault) return false;
    if (fault.kind === 'status' || fault.kind === 'page-failing') {
      const status = fault.kind === 'status' ? fault.status : (fault.status ?? 500);
      record.status = status;
      const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
      if (fault.retryAfter !== undefined) headers['Retry-After'] = fault.retryAfter;
      res.writeHead(status, headers);
      res.end(fault.kind === 'status' && fault.body !== undefined ? fault.body : `Status ${status}`);
      return true;
    }
    if (fault.kind === 'html') {
      await send(res, 200, SIGN_IN_PAGE, 'text/html; charset=utf-8', null);
      return true;
    }
    if (fault.kind === 'body') {
      await send(res, 200, fault.body, fault.contentType ?? 'application/json', null);
      return true;
    }
    if (fault.kind === 'soap-fault') {
      record.status = 500;
      await send(res, 500, soapFault(fault.faultcode, fault.faultstring), 'text/xml; charset=utf-8', null);
      return true;
    }
    return false;
  }

  function reportBody(): string {
    const columns = Object.entries(aliases) as [HrColumn, string][];
    const parts: string[] = [];
    for (const { row } of workers) {
      const entry: Record<string, string> = {};
      for (const [column, alias] of columns) {
        const value = column === 'start_date' ? workdayDate(row.start_date) : row[column];
        if (value) entry[alias] = value;
      }
      if (statusAlias) entry[statusAlias] = row.active === false ? '0' : '1';
      parts.push(JSON.stringify(entry));
    }
    return `{"Report_Entry":[${parts.join(',')}]}`;
  }

  async function handleReport(req: IncomingMessage, res: ServerResponse, record: WorkdayRequest, url: URL) {
    const header = req.headers.authorization;
    const basic = basicCredentials(header);
    const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    record.auth = basic ? `basic:${basic.user}` : bearer ? 'bearer' : null;
    const fault = takeFault('report');
    if (await answerFault(res, fault, record)) return;
    const signedIn = basic
      ? basic.user === options.user && sameSecret(basic.password, options.password)
      : bearer !== undefined && tokens.has(bearer);
    if (!signedIn) {
      record.status = 401;
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Basic realm="Workday"' });
      res.end('Unauthorized');
      return;
    }
    if (url.searchParams.get('format') !== 'json') {
      record.status = 400;
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('This fake serves format=json only');
      return;
    }
    const body = reportBody();
    if (options.keepBodies) record.body = body;
    await send(res, 200, body, 'application/json;charset=UTF-8', fault);
  }

  async function handleToken(
    req: IncomingMessage,
    res: ServerResponse,
    record: WorkdayRequest,
    body: string,
  ) {
    const client = basicCredentials(req.headers.authorization);
    record.auth = client ? `basic:${client.user}` : null;
    const fault = takeFault('token');
    if (await answerFault(res, fault, record)) return;
    const form = new URLSearchParams(body);
    const json = (status: number, value: unknown) => {
      record.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const oauth = options.oauth;
    if (
      !oauth ||
      !client ||
      client.user !== oauth.clientId ||
      !sameSecret(client.password, oauth.clientSecret)
    ) {
      json(401, { error: 'invalid_client', error_description: 'Invalid client credentials' });
    } else if (form.get('grant_type') !== 'refresh_token') {
      json(400, { error: 'unsupported_grant_type' });
    } else if (!sameSecret(form.get('refresh_token') ?? '', oauth.refreshToken)) {
      json(400, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
    } else {
      const token = randomBytes(24).toString('base64url');
      tokens.add(token);
      json(200, { access_token: token, token_type: 'Bearer', refresh_token: oauth.refreshToken });
    }
  }

  /** Total_Pages as the last first page said it, for total-pages-changing. */
  let announcedPages: number | undefined;

  async function handleSoap(res: ServerResponse, record: WorkdayRequest, body: string) {
    const user = elementText(body, 'Username');
    const password = elementText(body, 'Password');
    record.auth = user === undefined ? null : `wsse:${user}`;
    const page = Number(elementText(body, 'Page') ?? '1');
    const count = Number(elementText(body, 'Count') ?? '100');
    const excludeInactive = /^(1|true)$/.test(elementText(body, 'Exclude_Inactive_Workers') ?? '');
    record.soap = {
      page,
      count,
      asOfEffectiveDate: elementText(body, 'As_Of_Effective_Date'),
      asOfEntryDateTime: elementText(body, 'As_Of_Entry_DateTime'),
      excludeInactive,
    };
    const fault = takeFault('soap', page);
    if (await answerFault(res, fault, record)) return;
    if (user !== `${options.user}@${tenant}` || !sameSecret(password ?? '', options.password)) {
      record.status = 500;
      await send(
        res,
        500,
        soapFault('SOAP-ENV:Client.authenticationError', 'invalid username or password'),
        'text/xml; charset=utf-8',
        null,
      );
      return;
    }
    if (!/Get_Workers_Request/.test(body) || !(count >= 1 && count <= 999) || !(page >= 1)) {
      record.status = 500;
      await send(
        res,
        500,
        soapFault(
          'SOAP-ENV:Client.validationError',
          'Validation error occurred. Invalid Get_Workers_Request',
        ),
        'text/xml; charset=utf-8',
        null,
      );
      return;
    }
    activeWorkers ??= workers.filter((worker) => worker.row.active !== false);
    const listed = excludeInactive ? activeWorkers : workers;
    let totalPages = Math.max(1, Math.ceil(listed.length / count));
    if (page === 1) announcedPages = totalPages;
    if (fault?.kind === 'total-pages-changing') totalPages = (announcedPages ?? totalPages) + 1;
    const slice = listed.slice((page - 1) * count, page * count);
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
      `<env:Body><wd:Get_Workers_Response xmlns:wd="urn:com.workday/bsvc" wd:version="v${version}">` +
      `<wd:Request_Criteria><wd:Exclude_Inactive_Workers>${excludeInactive ? 'true' : 'false'}</wd:Exclude_Inactive_Workers></wd:Request_Criteria>` +
      `<wd:Response_Filter><wd:Page>${page}</wd:Page><wd:Count>${count}</wd:Count></wd:Response_Filter>` +
      `<wd:Response_Results><wd:Total_Results>${listed.length}</wd:Total_Results><wd:Total_Pages>${totalPages}</wd:Total_Pages>` +
      `<wd:Page_Results>${slice.length}</wd:Page_Results><wd:Page>${page}</wd:Page></wd:Response_Results>` +
      `<wd:Response_Data>${slice.map(workerXml).join('')}</wd:Response_Data></wd:Get_Workers_Response></env:Body></env:Envelope>`;
    if (options.keepBodies) record.body = xml;
    await send(res, 200, xml, 'text/xml; charset=utf-8', fault);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const endpoint: WorkdayRequest['endpoint'] =
      req.method === 'GET' && url.pathname === reportPath
        ? 'report'
        : req.method === 'POST' && url.pathname === soapPath
          ? 'soap'
          : req.method === 'POST' && url.pathname === tokenPath
            ? 'token'
            : 'other';
    const record: WorkdayRequest = {
      endpoint,
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      auth: null,
      status: 200,
    };
    requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const handled =
        endpoint === 'report'
          ? handleReport(req, res, record, url)
          : endpoint === 'soap'
            ? handleSoap(res, record, body)
            : endpoint === 'token'
              ? handleToken(req, res, record, body)
              : (async () => {
                  record.status = 404;
                  res.writeHead(404, { 'Content-Type': 'text/plain' });
                  res.end('Not Found');
                })();
      handled.catch(() => res.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The Workday fake has no port');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    reportUrl: `${baseUrl}${reportPath}`,
    baseUrl,
    soapUrl: `${baseUrl}${soapPath}`,
    tokenUrl: `${baseUrl}${tokenPath}`,
    tenant,
    requests,
    fault(f) {
      current = f === null ? null : { ...f, left: f.times ?? 1 };
    },
    setWorkers(next) {
      workers = serveWorkers(next, options.seed);
      activeWorkers = undefined;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
