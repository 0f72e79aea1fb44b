import type { WorkdaySoapSettings } from '@provisioning/shared';
import { decodeXmlText, readAttributes, XmlScanner } from '../files/xml-scanner.ts';
import type { HttpAnswer } from './http-request.ts';
import { quoteBody } from './http-request.ts';
import { type ConnectorTable, SourceError } from './source.ts';
import { fingerprintOrigin, SourceDigest } from './source-fingerprint.ts';
import { entriesTable, heldEntries } from './workday-records.ts';
import { busyAnswer, sendWithRetries, type WorkdayCall } from './workday-requests.ts';

/**
 * Workday's Human_Resources service, Get_Workers: a SOAP 1.1 request under WS-Security (UsernameToken,
 * `isu@tenant`, PasswordText), read page by page, every page as of the same moment (the run's start), so
 * that the pages are one consistent snapshot. Each Worker becomes a record under the column names a
 * report would use (WORKDAY_DEFAULT_COLUMNS). The manager is the last manager of the worker's
 * supervisory management chain, a WID resolved to that worker's email once every page is read.
 */

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const PASSWORD_TEXT =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

/** The columns of a worker record, in order. */
const WORKER_COLUMNS = [
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
] as const;
type WorkerColumn = (typeof WORKER_COLUMNS)[number];
type WorkerRecord = Record<WorkerColumn, string> & { wid: string; managerWid: string };

const escapeXml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );

/** The Get_Workers endpoint: `{baseUrl}/ccx/service/{tenant}/Human_Resources/v{version}`. */
export function getWorkersUrl(settings: WorkdaySoapSettings): URL {
  return new URL(
    `/ccx/service/${encodeURIComponent(settings.tenant)}/Human_Resources/v${settings.version}`,
    settings.baseUrl,
  );
}

/** SOAP takes the ISU as `name@tenant`. */
export function soapUsername(settings: WorkdaySoapSettings): string {
  return settings.username.includes('@') ? settings.username : `${settings.username}@${settings.tenant}`;
}

/** One page's Get_Workers_Request envelope. */
export function getWorkersEnvelope(settings: WorkdaySoapSettings, page: number, asOf: Date): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV}" xmlns:bsvc="urn:com.workday/bsvc">` +
    `<soapenv:Header><wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="${WSSE}"><wsse:UsernameToken>` +
    `<wsse:Username>${escapeXml(soapUsername(settings))}</wsse:Username>` +
    `<wsse:Password Type="${PASSWORD_TEXT}">${escapeXml(settings.password ?? '')}</wsse:Password>` +
    '</wsse:UsernameToken></wsse:Security></soapenv:Header>' +
    `<soapenv:Body><bsvc:Get_Workers_Request bsvc:version="v${settings.version}">` +
    '<bsvc:Request_Criteria><bsvc:Exclude_Inactive_Workers>true</bsvc:Exclude_Inactive_Workers></bsvc:Request_Criteria>' +
    '<bsvc:Response_Filter>' +
    `<bsvc:As_Of_Effective_Date>${asOf.toISOString().slice(0, 10)}</bsvc:As_Of_Effective_Date>` +
    `<bsvc:As_Of_Entry_DateTime>${asOf.toISOString()}</bsvc:As_Of_Entry_DateTime>` +
    `<bsvc:Page>${page}</bsvc:Page><bsvc:Count>${settings.pageSize}</bsvc:Count>` +
    '</bsvc:Response_Filter>' +
    '<bsvc:Response_Group><bsvc:Include_Reference>true</bsvc:Include_Reference>' +
    '<bsvc:Include_Personal_Information>true</bsvc:Include_Personal_Information>' +
    '<bsvc:Include_Employment_Information>true</bsvc:Include_Employment_Information>' +
    '<bsvc:Include_Organizations>true</bsvc:Include_Organizations>' +
    '<bsvc:Include_Management_Chain_Data>true</bsvc:Include_Management_Chain_Data>' +
    '</bsvc:Response_Group></bsvc:Get_Workers_Request></soapenv:Body></soapenv:Envelope>'
  );
}

/** What one page says. */
export interface WorkersPage {
  totalResults: number;
  totalPages: number;
  workers: WorkerRecord[];
}

/** A SOAP Fault's code and text, when the document is one. */
interface Fault {
  faultcode: string;
  faultstring: string;
}

/**
 * Reads one Get_Workers_Response (or a SOAP Fault) with the streaming scanner, which refuses a DOCTYPE so
 * that no entity can expand. Throws the scanner's Error for XML that is not well formed.
 */
export function parseWorkersPage(xml: string): WorkersPage | Fault {
  const stack: string[] = [];
  let text = '';
  const results: Partial<Record<'Total_Results' | 'Total_Pages', string>> = {};
  const fault: Partial<Fault> = {};
  const workers: WorkerRecord[] = [];
  let worker: WorkerRecord | undefined;
  /** The `wd:type` of the ID element open now. */
  let idType = '';
  // Per worker: the email addresses with their usage, the jobs, the organisations and the chain.
  let email: { address: string; work: boolean; primary: boolean } | undefined;
  let emails: { address: string; work: boolean; primary: boolean }[] = [];
  let job: { primary: boolean; title: string; location: string } | undefined;
  let jobs: { primary: boolean; title: string; location: string }[] = [];
  let organisation: { name: string; type: string } | undefined;
  let chain: string[] = [];
  let seenResults = false;

  const inside = (name: string) => stack.includes(name);
  const parent = (depth = 1) => stack[stack.length - 1 - depth];

  const scanner = new XmlScanner({
    open(name, attributes) {
      stack.push(name);
      text = '';
      if (name === 'Worker' && parent() === 'Response_Data') {
        worker = Object.fromEntries(
          [...WORKER_COLUMNS, 'wid', 'managerWid'].map((c) => [c, '']),
        ) as WorkerRecord;
        emails = [];
        jobs = [];
        chain = [];
      } else if (name === 'ID' || name === 'Worker_Job_Data' || name === 'Type_Data') {
        let type = '';
        let primary = false;
        readAttributes(attributes, (attribute, value) => {
          const local = attribute.slice(attribute.indexOf(':') + 1);
          if (local === 'type') type = value;
          if (local === 'Primary_Job' || local === 'Primary') primary = value === '1' || value === 'true';
        });
        if (name === 'ID') idType = type;
        else if (name === 'Worker_Job_Data') job = { primary, title: '', location: '' };
        else if (email) email.primary ||= primary;
      } else if (name === 'Email_Address_Data') {
        email = { address: '', work: false, primary: false };
      } else if (name === 'Organization_Data' && parent() === 'Worker_Organization_Data') {
        organisation = { name: '', type: '' };
      } else if (name === 'Response_Results') {
        seenResults = true;
      }
    },
    text(raw) {
      text += decodeXmlText(raw);
    },
    cdata(data) {
      text += data;
    },
    close(name) {
      stack.pop();
      const value = text.trim();
      text = '';
      if (name === 'faultcode' || name === 'faultstring') fault[name] = value;
      else if ((name === 'Total_Results' || name === 'Total_Pages') && parent(0) === 'Response_Results') {
        results[name] = value;
      }
      if (!worker) return;
      switch (name) {
        case 'ID':
          if (parent(0) === 'Worker_Reference' && parent(1) === 'Worker') {
            if (idType === 'WID') worker.wid = value;
            else if (idType === 'Employee_ID' || idType === 'Contingent_Worker_ID')
              worker.Employee_ID = value;
          } else if (
            parent(0) === 'Manager_Reference' &&
            inside('Worker_Supervisory_Management_Chain_Data') &&
            idType === 'WID'
          ) {
            chain.push(value);
          } else if (parent(0) === 'Type_Reference' && email && idType === 'Communication_Usage_Type_ID') {
            email.work ||= value.toUpperCase() === 'WORK';
          } else if (
            parent(0) === 'Organization_Type_Reference' &&
            organisation &&
            idType === 'Organization_Type_ID'
          ) {
            organisation.type = value;
          }
          break;
        case 'Email_Address':
          if (email) email.address = value;
          break;
        case 'Email_Address_Data':
          if (email) emails.push(email);
          email = undefined;
          break;
        case 'First_Name':
          if (inside('Legal_Name_Data')) worker.Legal_First_Name = value;
          break;
        case 'Last_Name':
          if (inside('Legal_Name_Data')) worker.Legal_Last_Name = value;
          break;
        case 'Business_Title':
          if (job && parent(0) === 'Position_Data') job.title = value;
          break;
        case 'Name':
          if (job && parent(0) === 'Business_Site_Summary_Data') job.location = value;
          break;
        case 'Worker_Job_Data':
          if (job) jobs.push(job);
          job = undefined;
          break;
        case 'Organization_Name':
          if (organisation) organisation.name = value;
          break;
        case 'Organization_Data':
          if (organisation && organisation.type === 'SUPERVISORY' && worker.Supervisory_Organization === '') {
            worker.Supervisory_Organization = organisation.name;
          }
          if (parent(0) === 'Worker_Organization_Data') organisation = undefined;
          break;
        case 'Active':
          if (parent(0) === 'Worker_Status_Data') worker.Active = value;
          break;
        case 'Hire_Date':
          if (parent(0) === 'Worker_Status_Data') worker.Hire_Date = value;
          break;
        case 'Worker':
          if (parent(0) !== 'Response_Data') break;
          finishWorker(worker, emails, jobs, chain);
          workers.push(worker);
          worker = undefined;
          break;
      }
    },
  });
  scanner.write(xml);
  scanner.close();
  if (fault.faultcode !== undefined || fault.faultstring !== undefined) {
    return { faultcode: fault.faultcode ?? '', faultstring: fault.faultstring ?? '' };
  }
  if (!seenResults || results.Total_Pages === undefined) {
    throw new Error('the answer has no Response_Results with Total_Pages');
  }
  const totalPages = Number(results.Total_Pages);
  const totalResults = Number(results.Total_Results ?? Number.NaN);
  if (!Number.isInteger(totalPages) || totalPages < 0 || !Number.isInteger(totalResults)) {
    throw new Error(
      `Total_Pages "${results.Total_Pages}" or Total_Results "${results.Total_Results}" is not a count`,
    );
  }
  return { totalPages, totalResults, workers };
}

/**
 * A copy of `text` that does not keep the page it was cut from alive: V8 cuts a substring of 13 or more
 * characters as a view of its parent, so a worker's values would hold every page's XML in memory.
 */
const detach = (text: string) => (text.length < 13 ? text : ` ${text}`.slice(1));

function finishWorker(
  worker: WorkerRecord,
  emails: { address: string; work: boolean; primary: boolean }[],
  jobs: { primary: boolean; title: string; location: string }[],
  chain: string[],
): void {
  const work = emails.filter((email) => email.work && email.address !== '');
  worker.Email_Address = (work.find((email) => email.primary) ?? work[0])?.address ?? '';
  const job = jobs.find((candidate) => candidate.primary) ?? jobs[0];
  worker.Business_Title = job?.title ?? '';
  worker.Location = job?.location ?? '';
  // A manager heads their own organisation: the manager above them is the one before in the chain.
  const managers = chain.filter((wid) => wid !== worker.wid);
  worker.managerWid = managers.at(-1) ?? '';
  for (const column of WORKER_COLUMNS) worker[column] = detach(worker[column]);
  worker.wid = detach(worker.wid);
  worker.managerWid = detach(worker.managerWid);
}

/** Reads every page of Get_Workers and hands the workers on, their managers resolved to emails. */
export async function loadWorkers(
  call: WorkdayCall & { settings: WorkdaySoapSettings },
): Promise<ConnectorTable> {
  const { settings, options } = call;
  const url = getWorkersUrl(settings);
  const asOf = options.asOf ?? new Date();
  const host = url.host;
  const source = `Workday Get_Workers of tenant ${settings.tenant} on ${host}`;
  // The records, and beside them each worker's WID and manager's WID (not columns of the records).
  const records: Record<WorkerColumn, string>[] = [];
  const wids: string[] = [];
  const managerWids: string[] = [];
  const digest = new SourceDigest();
  let totalPages: number | undefined;
  for (let page = 1; totalPages === undefined || page <= totalPages; page++) {
    const name = `Get_Workers page ${page}${totalPages === undefined ? '' : ` of ${totalPages}`} (tenant ${settings.tenant} on ${host})`;
    let result: WorkersPage;
    try {
      result = await sendWithRetries(
        call,
        () => ({
          method: 'POST',
          url,
          headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '""', Accept: 'text/xml' },
          body: getWorkersEnvelope(settings, page, asOf),
        }),
        // maxBytes holds for each page: a page is parsed and let go before the next is asked for.
        (answer) => {
          const parsed = workersPage(answer, name, settings);
          digest.addPage(answer.body);
          return parsed;
        },
      );
    } catch (error) {
      if (page === 1 || !(error instanceof SourceError)) throw error;
      throw new SourceError(
        error.kind,
        `${error.message} Pages read before it: ${page - 1}; nothing was used.`,
        {
          hint: error.hint,
          transient: error.transient,
          cause: error,
        },
      );
    }
    if (totalPages === undefined) {
      totalPages = result.totalPages;
      if (result.totalResults > settings.maxRows)
        throw tooManyWorkers(source, result.totalResults, settings.maxRows);
    } else if (result.totalPages !== totalPages) {
      throw new SourceError(
        'Interrupted',
        `${source} said ${totalPages} pages on page 1 but ${result.totalPages} on page ${page}: the list changed while it was read.`,
        {
          hint: 'Usually workers hired or changed during the read: the run is retried. If it keeps happening, schedule the sync outside Workday business process peaks.',
          transient: true,
        },
      );
    }
    for (const { wid, managerWid, ...record } of result.workers) {
      records.push(record);
      wids.push(wid);
      managerWids.push(managerWid);
    }
    if (records.length > settings.maxRows) throw tooManyWorkers(source, records.length, settings.maxRows);
    if (result.workers.length === 0) break;
  }
  digest.complete = true;
  if (records.length === 0) {
    throw new SourceError('NoDataRows', `${source} returned no workers.`, {
      hint: "Check that the Integration System User's security group may see the workers (domain security policies for Worker Data), and the tenant name. Nothing was changed.",
    });
  }
  const emailOf = new Map(wids.map((wid, index) => [wid, records[index]!.Email_Address]));
  for (const [index, record] of records.entries()) {
    const managerWid = managerWids[index]!;
    record.Manager_Email = managerWid === '' ? '' : (emailOf.get(managerWid) ?? '');
  }
  return entriesTable(heldEntries(records), {
    source,
    settings,
    mapping: options.mapping,
    entryName: 'Worker',
    read: { origin: fingerprintOrigin(url), digest, paged: true },
  });
}

function tooManyWorkers(source: string, count: number, maxRows: number): SourceError {
  return new SourceError(
    'SizeLimitExceeded',
    `${source} lists ${count.toLocaleString('en-US')} workers, more than the ${maxRows.toLocaleString('en-US')} limit for this configuration (maxRows).`,
    { hint: 'If that many workers are expected, raise maxRows in the configuration.' },
  );
}

/** One page's workers, or the error its status, fault or body calls for. */
function workersPage(answer: HttpAnswer, name: string, settings: WorkdaySoapSettings): WorkersPage {
  const text = answer.body.toString('utf8');
  let parsed: WorkersPage | Fault | undefined;
  let malformed: Error | undefined;
  // XML, a DOCTYPE included (refused by the scanner); not a web page.
  if (/^\s*(<\?xml[^>]*\?>\s*)?<(?!!DOCTYPE html|html)/i.test(text)) {
    try {
      parsed = parseWorkersPage(text);
    } catch (error) {
      malformed = error as Error;
    }
  }
  if (parsed && 'faultcode' in parsed) {
    const quotedFault = `${parsed.faultcode}: ${parsed.faultstring}`.slice(0, 300);
    if (/authenticat/i.test(`${parsed.faultcode} ${parsed.faultstring}`)) {
      throw new SourceError(
        'AuthFailed',
        `${name}: Workday refused the sign-in of the Integration System User "${soapUsername(settings)}" (${quotedFault}).`,
        {
          hint: "Check the Integration System User's name and password in the configuration (and that the password has not expired), and that the user may sign in to web services.",
        },
      );
    }
    throw new SourceError('BadResponse', `${name}: Workday answered with a SOAP Fault (${quotedFault}).`, {
      hint: /permission|not authorized|security/i.test(parsed.faultstring)
        ? "Give the Integration System User's security group Get access to Worker Data (domain security policies), then activate the pending security policy changes."
        : 'Check version and tenant in the configuration; if they are right, contact support with this message.',
    });
  }
  const busy = busyAnswer(answer, name);
  if (busy) throw busy;
  if (answer.status === 401 || answer.status === 403) {
    throw new SourceError('AuthFailed', `${name}: Workday refused the request (HTTP ${answer.status}).`, {
      hint: "Check the Integration System User's name and password in the configuration, and that it may use the Human_Resources web service.",
    });
  }
  if (answer.status === 404) {
    throw new SourceError('SourceNotFound', `${name}: there is no such service (HTTP 404).`, {
      hint: 'Check tenant and version in the configuration (the version as Workday names it, e.g. 41.0), and baseUrl: the web services host of the tenant.',
    });
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw new SourceError(
      'BadResponse',
      `${name}: Workday answered HTTP ${answer.status}: ${quoteBody(answer.body)}`,
      {
        hint: 'Check baseUrl, tenant and version in the configuration; if they are right, contact support with this message.',
      },
    );
  }
  if (malformed && /DOCTYPE/.test(malformed.message)) {
    throw new SourceError(
      'BadResponse',
      `${name}: the answer declares a DOCTYPE, which Workday never sends; it was refused unread so that no entity in it could expand.`,
      {
        hint: 'Check baseUrl: it must be the Workday web services host itself, not a proxy or another server.',
      },
    );
  }
  if (!parsed) {
    throw new SourceError(
      'BadResponse',
      malformed
        ? `${name}: the answer is not a readable SOAP document (${malformed.message})`
        : `${name}: the answer is not XML (a sign-in page?): ${quoteBody(answer.body)}`,
      {
        hint: 'Check baseUrl: it must be the web services host of the tenant (e.g. https://wd2-impl-services1.workday.com). If it is, the answer was probably damaged on the way: contact support if it keeps happening.',
      },
    );
  }
  return parsed;
}
