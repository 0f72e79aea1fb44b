import {
  type DirectoryField,
  type FieldMapping,
  parseWorkdayReportUrl,
  type WorkdayRaasSettings,
  type WorkdaySettings,
} from '@provisioning/shared';
import { resolveColumns } from '../engine/columns.ts';
import { parseAllowList } from './host-guard.ts';
import { exchange, type GuardedAgents, guardedAgents, type HttpAnswer, quoteBody } from './http-request.ts';
import { parseRetryAfter, withRetries } from './retry.ts';
import { type LoadOptions, SourceError, type SourceRecord, type SourceTable } from './source.ts';

/**
 * Workday, read two ways. A custom report (RaaS, the default): one JSON document
 * `{"Report_Entry":[{...}]}` whose keys are the report's column aliases. Or the Human_Resources SOAP
 * service's Get_Workers, page by page (workday-soap.ts). Either way inactive workers are left out, so
 * the plan deactivates them (the threshold guard still applies), and `origin` says how many.
 */

export interface WorkdayLoadOptions extends LoadOptions {
  /** Attempts per request in all, the first included, for 429, 5xx and network trouble. Default 4. */
  attempts?: number;
  /** Wait before the first retry; doubles on each further one, unless the server says (Retry-After). Default 1 s. */
  retryDelayMs?: number;
  /** The longest wait between attempts, Retry-After included. Default 60 s. */
  maxRetryDelayMs?: number;
  /** The longest an answer may go without a byte arriving before it is given up (transient). Default 60 s. */
  idleTimeoutMs?: number;
  /** Told about each failed attempt that will be retried, with the wait before the next. */
  onRetry?: (error: SourceError, attempt: number, delayMs: number) => void;
  /** The run's start, which every Get_Workers page is read as of. Default now. */
  asOf?: Date;
}

/** Records handed out per batch. */
export const WORKDAY_BATCH_SIZE = 256;

/**
 * The column names of a typical Workday report (and of the records Get_Workers gives), tried for a
 * directory field the configuration's mapping and the header-name fallback leave unresolved.
 */
export const WORKDAY_DEFAULT_COLUMNS: Partial<Record<DirectoryField, readonly string[]>> = {
  employee_id: ['Employee_ID', 'Worker_ID'],
  email: ['Email_Address', 'Work_Email', 'primaryWorkEmail'],
  first_name: ['Legal_First_Name', 'First_Name'],
  last_name: ['Legal_Last_Name', 'Last_Name'],
  job_title: ['Business_Title'],
  department: ['Supervisory_Organization', 'Cost_Center', 'Department'],
  location: ['Location'],
  manager_email: ['Manager_Email'],
  start_date: ['Hire_Date'],
};

/** Where a worker's status is read when statusColumn is not set: the first of these the report has. */
const STATUS_COLUMNS = ['Active', 'Worker_Status'];
const INACTIVE_VALUES = new Set(['0', 'false', 'terminated', 'inactive']);

/** Whether a status value says the worker is not active (`0`, `false`, `Terminated`, `Inactive`). */
export function isInactiveStatus(value: string): boolean {
  return INACTIVE_VALUES.has(value.trim().toLowerCase());
}

/** What both readings share while a load runs: agents, limits, retries, progress. */
export interface WorkdayCall {
  settings: WorkdaySettings;
  agents: GuardedAgents;
  options: WorkdayLoadOptions;
  /** Bytes received so far over every request of the load. */
  bytes: { total: number };
}

/**
 * Sends one request with retries: network trouble, 429 and 5xx (the last two through `classify`, which
 * returns a transient SourceError for them) are tried again, honouring Retry-After; after the last
 * attempt the transient SourceError is thrown, for the run to be retried later.
 */
export async function sendWithRetries<T>(
  call: WorkdayCall,
  request: () => Parameters<typeof exchange>[0],
  classify: (answer: HttpAnswer) => T,
): Promise<T> {
  const { options, settings } = call;
  return withRetries(
    async () => {
      const answer = await exchange(request(), call.agents, {
        timeoutMs: settings.timeoutMs,
        idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
        maxBytes: settings.maxBytes,
        signal: options.signal,
        onBytes: (bytes) => {
          call.bytes.total += bytes;
          options.onProgress?.({ bytes: call.bytes.total });
        },
      });
      return classify(answer);
    },
    (error) =>
      error instanceof SourceError && error.transient
        ? { retryAfterMs: (error as RetryableError).retryAfterMs }
        : false,
    {
      attempts: options.attempts ?? 4,
      retryDelayMs: options.retryDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs,
      signal: options.signal,
      onRetry: (error, attempt, delayMs) => options.onRetry?.(error as SourceError, attempt, delayMs),
    },
  );
}

/** A transient SourceError that carries the server's Retry-After. */
type RetryableError = SourceError & { retryAfterMs?: number };

/**
 * The error for an answer that is throttled (429) or failed on the server's side (5xx): transient,
 * carrying Retry-After for the next attempt. Null for any other status.
 */
export function busyAnswer(answer: HttpAnswer, service: string): SourceError | null {
  if (answer.status !== 429 && answer.status < 500) return null;
  const throttled = answer.status === 429;
  const error: RetryableError = new SourceError(
    'SourceUnreachable',
    `${service} answered HTTP ${answer.status} (${throttled ? 'too many requests' : 'a server error'})${quoted(answer)}`,
    {
      hint: throttled
        ? 'Workday is limiting the requests of this tenant: the run is retried later. If it keeps happening, schedule the sync away from other integrations.'
        : 'Usually a passing Workday problem (maintenance windows are announced on the Workday status page): the run is retried later.',
      transient: true,
    },
  );
  error.retryAfterMs = parseRetryAfter(answer.headers['retry-after'] as string | undefined);
  return error;
}

const quoted = (answer: HttpAnswer) => {
  const text = quoteBody(answer.body);
  return text === '' ? '.' : `: ${text}`;
};

/** `Authorization` for a request: the ISU's basic credentials, or the bearer token OAuth gave. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** The host's OAuth token endpoint: `/ccx/oauth2/{tenant}/token`. */
export function workdayTokenUrl(origin: string, tenant: string): URL {
  return new URL(`/ccx/oauth2/${encodeURIComponent(tenant)}/token`, origin);
}

/**
 * Exchanges the configured refresh token for an access token (an API client registered for integrations,
 * `grant_type=refresh_token`, the client's ID and secret as basic credentials).
 */
async function accessToken(call: WorkdayCall, origin: string, tenant: string): Promise<string> {
  const oauth = call.settings.oauth!;
  const url = workdayTokenUrl(origin, tenant);
  const service = `The Workday token endpoint of tenant ${tenant}`;
  return sendWithRetries(
    call,
    () => ({
      method: 'POST',
      url,
      headers: {
        Authorization: basicAuthorization(oauth.clientId, oauth.clientSecret),
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: oauth.refreshToken,
      }).toString(),
    }),
    (answer) => {
      const busy = busyAnswer(answer, service);
      if (busy) throw busy;
      const body = parseJson(answer.body) as { access_token?: unknown; error?: unknown } | undefined;
      if (answer.status >= 200 && answer.status < 300 && typeof body?.access_token === 'string') {
        return body.access_token;
      }
      const reason = typeof body?.error === 'string' ? body.error : `HTTP ${answer.status}`;
      if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
        throw new SourceError(
          'AuthFailed',
          `${service} refused the configured OAuth credentials (${reason}).`,
          {
            hint:
              reason === 'invalid_grant'
                ? 'The refresh token has expired or was revoked: generate a new one for the API client in Workday (View API Clients → Manage Refresh Tokens for Integrations) and enter it in the configuration.'
                : 'Check the OAuth client ID and secret in the configuration against the API client registered for integrations in Workday.',
          },
        );
      }
      throw new SourceError(
        'BadResponse',
        `${service} answered HTTP ${answer.status} without an access token${quoted(answer)}`,
        { hint: 'Check the host of the configuration; if it is right, contact support.' },
      );
    },
  );
}

/** How requests authenticate: basic credentials of the ISU, or a bearer token when OAuth is configured. */
export async function authorization(call: WorkdayCall, origin: string, tenant: string): Promise<string> {
  const { settings } = call;
  if (settings.oauth) return `Bearer ${await accessToken(call, origin, tenant)}`;
  return basicAuthorization(settings.username, settings.password ?? '');
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Loads the configured Workday source: the custom report (RaaS) or Get_Workers (SOAP). */
export async function loadWorkdaySource(
  settings: WorkdaySettings,
  options: WorkdayLoadOptions = {},
): Promise<SourceTable> {
  const agents = guardedAgents(options.allowList ?? parseAllowList(undefined));
  const call: WorkdayCall = { settings, agents, options, bytes: { total: 0 } };
  try {
    if (settings.mode === 'soap') {
      throw new SourceError('BadResponse', 'Reading Workday through Get_Workers is not available yet', {
        hint: 'Use a custom report (mode "raas") for now.',
      });
    }
    return await loadReport(call as WorkdayCall & { settings: WorkdayRaasSettings });
  } finally {
    // Everything is read before the table is handed out: no connection is needed after this.
    agents.destroy();
  }
}

/** The report URL as requested: the configured one (prompts kept) with `format=json`. */
function reportRequestUrl(reportUrl: string): URL {
  const url = new URL(reportUrl);
  url.searchParams.set('format', 'json');
  return url;
}

async function loadReport(call: WorkdayCall & { settings: WorkdayRaasSettings }): Promise<SourceTable> {
  const { settings, options } = call;
  const parts = parseWorkdayReportUrl(settings.reportUrl)!;
  const host = new URL(settings.reportUrl).host;
  const report = `${parts.owner}/${parts.report}`;
  const name = `The Workday report ${report} on ${host}`;
  const auth = await authorization(call, parts.origin, parts.tenant);
  const url = reportRequestUrl(settings.reportUrl);
  const entries = await sendWithRetries(
    call,
    () => ({ method: 'GET', url, headers: { Authorization: auth, Accept: 'application/json' } }),
    (answer) => reportEntries(answer, name, settings),
  );
  if (entries.length === 0) {
    throw new SourceError('NoDataRows', `${name} returned no entries (an empty Report_Entry list).`, {
      hint: "Check the report's filters and prompt values in Workday: it found no workers. Nothing was changed.",
    });
  }
  if (entries.length > settings.maxRows) {
    throw new SourceError(
      'SizeLimitExceeded',
      `${name} returned ${entries.length.toLocaleString('en-US')} entries, more than the ${settings.maxRows.toLocaleString('en-US')} limit for this configuration (maxRows).`,
      {
        hint: 'If that many workers are expected, raise maxRows in the configuration; otherwise check the report filters.',
      },
    );
  }
  return entriesTable(entries, {
    source: `Workday report ${report} on ${host}`,
    settings,
    mapping: options.mapping,
    entryName: 'Report_Entry',
  });
}

/** The entries of a report answer, or the error its status or body calls for. */
function reportEntries(answer: HttpAnswer, name: string, settings: WorkdayRaasSettings): unknown[] {
  const busy = busyAnswer(answer, name);
  if (busy) throw busy;
  const { status } = answer;
  const bearer = settings.oauth !== undefined;
  if (status === 401) {
    throw new SourceError(
      'AuthFailed',
      bearer
        ? `${name} refused the access token obtained with the configured OAuth credentials (HTTP 401).`
        : `${name} refused the sign-in of the Integration System User "${settings.username}" (HTTP 401).`,
      {
        hint: bearer
          ? "Check that the API client's scope includes the report's functional area, and that the refresh token belongs to the Integration System User."
          : "Check the Integration System User's password in the configuration (and that the password has not expired or been reset in Workday).",
      },
    );
  }
  if (status === 403) {
    throw new SourceError(
      'AuthFailed',
      `${name} may not be read by the Integration System User "${settings.username}" (HTTP 403).`,
      {
        hint: "Share the report with the Integration System User's security group, and enable it as a web service (report definition → Advanced → Enable As a Web Service).",
      },
    );
  }
  if (status === 404) {
    throw new SourceError('SourceNotFound', `${name} does not exist (HTTP 404).`, {
      hint: 'Check the owner and report name in reportUrl: they are the last two parts of the URL, spelled as in Workday (spaces as _).',
    });
  }
  if (status === 400) {
    throw new SourceError('BadResponse', `${name} refused the request (HTTP 400)${quoted(answer)}`, {
      hint: "Check the prompt values in reportUrl's query against the report's prompts (dates as 2016-02-02-08:00).",
    });
  }
  if (status < 200 || status >= 300) {
    throw new SourceError('BadResponse', `${name} answered HTTP ${status}${quoted(answer)}`, {
      hint: 'Check reportUrl in the configuration: it must be the report’s web service URL (…/ccx/service/customreport2/…).',
    });
  }
  let document: unknown;
  try {
    document = JSON.parse(answer.body.toString('utf8'));
  } catch {
    const html = /^\s*</.test(answer.body.subarray(0, 64).toString('utf8'));
    throw new SourceError(
      'BadResponse',
      html
        ? `${name} answered with a web page instead of JSON (a sign-in page?): ${quoteBody(answer.body)}`
        : `${name} answered with something that is not JSON: ${quoteBody(answer.body)}`,
      {
        hint: 'Check reportUrl: it must be the report’s web service URL (…/ccx/service/customreport2/{tenant}/{owner}/{report}), not a link to the report in the Workday page, and the report must be enabled as a web service.',
      },
    );
  }
  const entries = (document as { Report_Entry?: unknown } | null)?.Report_Entry;
  if (!Array.isArray(entries)) {
    const what =
      document === null || typeof document !== 'object' || Array.isArray(document)
        ? 'is not a JSON object'
        : entries === undefined
          ? 'has no Report_Entry list'
          : 'has a Report_Entry that is not a list';
    throw new SourceError('BadResponse', `The answer of ${name} ${what}: ${quoteBody(answer.body)}`, {
      hint: 'Check that reportUrl names an advanced custom report enabled as a web service; if it does, contact support with this message.',
    });
  }
  return entries;
}

interface EntriesTableOptions {
  /** Names the source in `origin` and messages. */
  source: string;
  settings: WorkdaySettings;
  mapping?: FieldMapping;
  /** What an entry is called in messages: Report_Entry, Worker. */
  entryName: string;
}

/**
 * Hands out entries (objects keyed by column) as source records, a batch at a time, inactive workers
 * left out. Headers are every key of every entry, in the order first seen. Missing and `null` read as
 * empty, numbers and booleans as their text; an object or a list in a column the sync reads fails the
 * load, one in a column it does not read is ignored.
 */
export function entriesTable(entries: readonly unknown[], table: EntriesTableOptions): SourceTable {
  const headerSet = new Set<string>();
  for (const entry of entries) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
    for (const key in entry) headerSet.add(key);
  }
  const headers = [...headerSet];
  const statusColumn = table.settings.statusColumn ?? STATUS_COLUMNS.find((column) => headerSet.has(column));
  if (statusColumn !== undefined && !headerSet.has(statusColumn)) {
    throw new SourceError(
      'MissingColumns',
      `The status column ${statusColumn} (statusColumn) is not in ${table.source}.`,
      {
        hint: "Add the column to the report (a worker's active status), or correct statusColumn in the configuration.",
      },
    );
  }
  const used = usedColumns(headers, table.mapping, statusColumn);

  let inactive = 0;
  const active: number[] = [];
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index];
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new SourceError(
        'BadResponse',
        `${table.entryName} ${index + 1} of ${table.source} is not an object: ${JSON.stringify(entry)?.slice(0, 100)}.`,
        { hint: 'Contact support with this message: the answer does not have the shape Workday gives.' },
      );
    }
    const status = statusColumn === undefined ? undefined : (entry as Record<string, unknown>)[statusColumn];
    if (status !== undefined && status !== null && isInactiveStatus(String(status))) inactive++;
    else active.push(index);
  }
  const left = inactive === 0 ? '' : `; ${inactive.toLocaleString('en-US')} inactive left out`;
  const origin = `${table.source} (${entries.length.toLocaleString('en-US')} workers${left})`;

  async function* batches(): AsyncGenerator<SourceRecord[]> {
    for (let start = 0; start < active.length; start += WORKDAY_BATCH_SIZE) {
      const batch: SourceRecord[] = [];
      for (const index of active.slice(start, start + WORKDAY_BATCH_SIZE)) {
        batch.push({ rowNumber: index + 1, values: recordValues(entries[index] as object, index) });
      }
      yield batch;
    }
  }

  function recordValues(entry: object, index: number): Record<string, string> {
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(entry)) {
      if (value === null || value === undefined) continue;
      if (typeof value === 'object') {
        if (!used.has(key)) continue;
        throw new SourceError(
          'BadResponse',
          `${table.entryName} ${index + 1} of ${table.source} has ${Array.isArray(value) ? 'a list' : 'an object'} in ${key}, where the sync reads one value: ${JSON.stringify(value).slice(0, 100)}.`,
          {
            hint: `In the report definition, make ${key} a single-instance field (or pick one instance, e.g. the primary one), or map the directory field to another column.`,
          },
        );
      }
      values[key] = typeof value === 'string' ? value : String(value);
    }
    return values;
  }

  return {
    origin,
    headers,
    batches: batches(),
    defaultColumns: WORKDAY_DEFAULT_COLUMNS,
    close: async () => {},
  };
}

/** The columns the sync reads: those the fields resolve to, and the status column. */
function usedColumns(
  headers: readonly string[],
  mapping: FieldMapping | undefined,
  statusColumn: string | undefined,
): Set<string> {
  const used = new Set<string>(statusColumn === undefined ? [] : [statusColumn]);
  try {
    for (const column of Object.values(resolveColumns(headers, mapping, WORKDAY_DEFAULT_COLUMNS).fields)) {
      used.add(column);
    }
  } catch {
    // Columns that do not resolve fail the run in the engine, with the message that names them.
  }
  return used;
}
