import { createPrivateKey } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { admin, auth } from '@googleapis/admin';
import type { DirectoryField, GoogleWorkspaceSettings } from '@provisioning/shared';
import { formatBytes } from '../files/raw-rows.ts';
import { guardedLookup, parseAllowList, type SocketLookup, vetHost } from './host-guard.ts';
import { parseRetryAfter, withRetries } from './retry.ts';
import { type ConnectorTable, type LoadOptions, SourceError, type SourceRecord } from './source.ts';
import { fingerprintOrigin, SourceDigest, withFingerprint } from './source-fingerprint.ts';

/**
 * Google Workspace users through the Admin SDK Directory API (`users.list`), signed in as a service
 * account that impersonates an administrator (domain-wide delegation). Pages are read one ahead of the
 * engine; suspended and archived users are left out, so the plan deactivates them by their absence.
 */

export const DIRECTORY_USER_READONLY_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
/** gtoken posts every assertion here; a configured tokenUrl replaces it on the way out. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const PAGE_SIZE = 500;
const BATCH_SIZE = 256;
const MAX_RETRY_DELAY_MS = 20_000;
/** Enough of a server's error text to recognise it, without echoing a whole page. */
const QUOTED = 300;

/**
 * Only what the columns read (partial response): a Workspace user resource carries much more (aliases,
 * emails, login times, photo URLs), which would cost transfer, parsing and the maxBytes budget.
 */
const USER_FIELDS =
  'nextPageToken,users(id,primaryEmail,name(givenName,familyName),suspended,archived,orgUnitPath,' +
  'organizations(title,department,location,costCenter,primary),relations(value,type),externalIds(value,type),' +
  'phones(value,type,primary),locations(area))';

/** The 403 reasons Google gives for a rate limit or quota: waited out, unlike a refusal. */
const RATE_LIMIT_REASONS = new Set(['userRateLimitExceeded', 'quotaExceeded', 'rateLimitExceeded']);

type UserJson = Record<string, unknown>;

/** Each column the connector hands the engine: its header, how it is read, the directory field it fills by default. */
const COLUMNS: readonly { header: string; field?: DirectoryField; read: (user: UserJson) => unknown }[] = [
  { header: 'id', field: 'employee_id', read: (user) => user.id },
  { header: 'primaryEmail', field: 'email', read: (user) => user.primaryEmail },
  { header: 'name.givenName', field: 'first_name', read: (user) => objectOf(user.name).givenName },
  { header: 'name.familyName', field: 'last_name', read: (user) => objectOf(user.name).familyName },
  { header: 'organizations.title', field: 'job_title', read: (user) => organization(user).title },
  { header: 'organizations.department', field: 'department', read: (user) => organization(user).department },
  { header: 'organizations.location', field: 'location', read: (user) => organization(user).location },
  { header: 'organizations.costCenter', read: (user) => organization(user).costCenter },
  { header: 'locations.area', field: 'location', read: (user) => objectOf(listOf(user.locations)[0]).area },
  {
    header: 'relations.manager',
    field: 'manager_email',
    read: (user) => ofType(user.relations, 'manager').value,
  },
  {
    header: 'externalIds.organization',
    field: 'employee_number',
    read: (user) => ofType(user.externalIds, 'organization').value,
  },
  { header: 'phones.work', field: 'phone', read: (user) => ofType(user.phones, 'work').value },
  { header: 'orgUnitPath', read: (user) => user.orgUnitPath },
];

export const GOOGLE_WORKSPACE_HEADERS: readonly string[] = COLUMNS.map((column) => column.header);

/** Directory field → Google's columns for it, in the order tried. */
export const GOOGLE_WORKSPACE_DEFAULT_COLUMNS: Partial<Record<DirectoryField, readonly string[]>> = (() => {
  const columns: Partial<Record<DirectoryField, string[]>> = {};
  for (const { header, field } of COLUMNS) {
    if (field) columns[field] = [...(columns[field] ?? []), header];
  }
  return columns;
})();

function objectOf(value: unknown): UserJson {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as UserJson) : {};
}
function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
/** A user's primary organization, else the first one. */
function organization(user: UserJson): UserJson {
  const organizations = listOf(user.organizations).map(objectOf);
  return organizations.find((entry) => entry.primary === true) ?? organizations[0] ?? {};
}
/** The entry of that type (`work`, `manager`...), the primary one first where several are. */
function ofType(value: unknown, type: string): UserJson {
  const entries = listOf(value)
    .map(objectOf)
    .filter((entry) => entry.type === type);
  return entries.find((entry) => entry.primary === true) ?? entries[0] ?? {};
}
/**
 * A response header: the client library hands on its fetch's Headers (not always the global class), or
 * a plain object.
 */
function header(headers: unknown, name: string): string {
  if (typeof headers !== 'object' || headers === null) return '';
  const get = (headers as { get?: unknown }).get;
  const value =
    typeof get === 'function' ? get.call(headers, name) : (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

export interface GoogleWorkspaceLoadOptions extends LoadOptions {
  /**
   * Requests per page when Google answers with a rate limit (429, 403 userRateLimitExceeded or
   * quotaExceeded) or a response breaks off; 5xx and network failures are retried by the client library
   * (three more tries) within each of them. Default 4.
   */
  attempts?: number;
  /** Wait before the first retry; doubles on each further one; Retry-After wins when sent. Default 1 s. */
  retryDelayMs?: number;
  /**
   * The longest wait between tries, also when Retry-After asks for more. Default 20 s: a wait moves no
   * bytes, and a run that moves nothing for 90 s (RUN_STALE_AFTER_SECONDS) is taken for hung. A rate
   * limit that outlasts the tries fails the load as transient, and the job is retried later.
   */
  maxRetryDelayMs?: number;
  /** Told of each try that failed and will be made again. */
  onRetry?: (reason: string, attempt: number, delayMs: number) => void;
}

/** What the connector reads of gaxios's errors (the library's own class is not a dependency of ours). */
interface HttpError extends Error {
  code?: string | number;
  status?: number;
  config?: { url?: URL | string };
  response?: { status: number; headers: unknown; data?: unknown };
}

const isHttpError = (error: unknown): error is HttpError =>
  error instanceof Error && ('config' in error || 'response' in error);

interface GoogleErrorBody {
  status?: number;
  /** Directory API: error.errors[0].reason; token endpoint: error. */
  reason?: string;
  message?: string;
}

/** Google's error body: `{"error":{"code","message","errors":[{"reason"}]}}`, or OAuth's `{"error","error_description"}`. */
function errorBody(error: HttpError): GoogleErrorBody {
  const status = error.response?.status;
  // A response read as a stream keeps no data: the library puts its body text in the message instead.
  let data = error.response?.data ?? error.message;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      data = JSON.parse(String(data));
    } catch {
      return { status, message: String(data) };
    }
  }
  const body = objectOf(data);
  if (typeof body.error === 'string') {
    return { status, reason: body.error, message: text(body.error_description) || undefined };
  }
  const inner = objectOf(body.error);
  const first = objectOf(listOf(inner.errors)[0]);
  return { status, reason: text(first.reason) || undefined, message: text(inner.message) || undefined };
}

/** A server's own words for a message: one line, short, without anything shaped like a token. */
function quote(value: string | undefined): string {
  const clean = (value ?? '')
    .replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[redacted]')
    .replace(/ya29\.[\w.-]+/g, '[redacted]')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > QUOTED ? `${clean.slice(0, QUOTED)}…` : clean;
}

const PUBLIC_ONLY = parseAllowList(undefined);

interface Page {
  users: UserJson[];
  /** The answer as it came, for the source's digest. */
  body: Buffer;
  nextPageToken?: string;
  bytes: number;
}

/**
 * Loads the Workspace's users: signs in (JWT bearer, RS256, as `adminEmail`), then lists them page by
 * page. Rows are handed on as pages arrive; a page that fails after its retries fails the load, and the
 * run writes nothing.
 */
export async function loadGoogleWorkspaceSource(
  settings: GoogleWorkspaceSettings,
  options: GoogleWorkspaceLoadOptions = {},
): Promise<ConnectorTable> {
  const key = readPrivateKey(settings.privateKey);
  const scope = settings.domain ? `domain ${settings.domain}` : `customer ${settings.customerId}`;
  const described = `Google Workspace ${scope}${settings.query ? ` (query ${settings.query})` : ''}`;
  let leftOut = 0;
  const origin = () => (leftOut === 0 ? described : `${described}, ${leftOutUsers(leftOut)} left out`);

  // Stops a page fetched ahead when the run ends or the engine stops reading.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const allowList = options.allowList ?? PUBLIC_ONLY;
  // A refusal at connection time (a DNS answer that changed since the check) reaches us through the
  // socket's lookup, not the request's error: kept here to report it as it is.
  let refusal: SourceError | undefined;
  const vetted = guardedLookup(allowList);
  const lookup: SocketLookup = (hostname, lookupOptions, callback) =>
    vetted(hostname, lookupOptions, (error, address, family) => {
      if (error instanceof SourceError) refusal = error;
      callback(error, address, family);
    });
  const agents = {
    http: new HttpAgent({ keepAlive: true, lookup }),
    https: new HttpsAgent({ keepAlive: true, lookup }),
  };
  const close = async () => {
    stop.abort();
    agents.http.destroy();
    agents.https.destroy();
  };

  const retryDelay = (attempt: number, retryAfterMs?: number) =>
    Math.min(
      options.maxRetryDelayMs ?? MAX_RETRY_DELAY_MS,
      retryAfterMs ?? (options.retryDelayMs ?? 1_000) * 2 ** (attempt - 1),
    );

  const jwt = new auth.JWT({
    email: settings.serviceAccountEmail,
    key,
    subject: settings.adminEmail,
    scopes: [DIRECTORY_USER_READONLY_SCOPE],
    transporterOptions: {
      agent: (url: URL) => (url.protocol === 'http:' ? agents.http : agents.https),
      // How long each request may take, answer and body together: a page that stalls is asked for again;
      // a sign-in or page that gets no answer at all fails the run, to be retried later.
      timeout: settings.timeoutMs,
      signal,
      // Google never redirects these calls, and a redirect to an address could pass the host guard by:
      // one is answered as it is, and reported.
      redirect: 'manual',
      retryConfig: {
        retry: 3,
        noResponseRetries: 3,
        httpMethodsToRetry: ['GET', 'POST'],
        // 429 is left to the connector's own retries, which honour Retry-After.
        statusCodesToRetry: [
          [100, 199],
          [408, 408],
          [500, 599],
        ],
        retryBackoff: async (
          error: HttpError & { config: { retryConfig?: { currentRetryAttempt?: number } } },
        ) => {
          const attempt = error.config.retryConfig?.currentRetryAttempt ?? 1;
          const delay = retryDelay(attempt, parseRetryAfter(header(error.response?.headers, 'retry-after')));
          options.onRetry?.(describeFailure(error), attempt, delay);
          await sleep(delay, undefined, { signal });
        },
      },
    },
  });
  const hosts = new Map<string, Promise<string>>();
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (settings.tokenUrl !== GOOGLE_TOKEN_URL && config.url.href === GOOGLE_TOKEN_URL) {
        config.url = new URL(settings.tokenUrl);
      }
      // Checked before connecting as well: an address written in the URL never goes through a lookup.
      const host = config.url.hostname;
      if (!hosts.has(host))
        hosts.set(
          host,
          vetHost(host, allowList).catch((error) => unresolved(error, config.url, settings)),
        );
      await hosts.get(host);
      return config;
    },
  });
  const rootUrl = `${settings.apiBaseUrl.replace(/\/+$/, '')}/`;
  const directory = admin({ version: 'directory_v1', auth: jwt, rootUrl });

  const fail = (error: unknown): never => {
    signal.throwIfAborted();
    if (error instanceof SourceError) throw error;
    if (refusal) throw refusal;
    throw classify(error, settings);
  };

  try {
    await jwt.authorize().catch(fail);
  } catch (error) {
    await close();
    throw error;
  }

  let bytes = 0;
  /** One page, its body counted against maxBytes as it arrives; rate limits and broken bodies tried again. */
  const fetchPage = (pageToken: string | undefined, number: number): Promise<Page> =>
    withRetries(
      async () => {
        let received = 0;
        let reading = false;
        try {
          const response = await directory.users.list(
            {
              ...(settings.domain ? { domain: settings.domain } : { customer: settings.customerId }),
              maxResults: PAGE_SIZE,
              fields: USER_FIELDS,
              ...(settings.query ? { query: settings.query } : {}),
              ...(pageToken ? { pageToken } : {}),
            },
            { responseType: 'stream' },
          );
          const chunks: Buffer[] = [];
          reading = true;
          for await (const chunk of response.data as unknown as Readable) {
            received += (chunk as Buffer).length;
            bytes += (chunk as Buffer).length;
            if (bytes > settings.maxBytes) throw tooLarge(described, settings.maxBytes);
            chunks.push(chunk as Buffer);
            options.onProgress?.({ bytes });
          }
          reading = false;
          const body = Buffer.concat(chunks);
          return {
            ...parsePage(body, header(response.headers, 'content-type'), number, settings),
            body,
            bytes: received,
          };
        } catch (error) {
          // What a broken-off body had brought is not kept: the page is read again whole.
          bytes -= received;
          signal.throwIfAborted();
          // The body broke off, or stalled until the request's timeout aborted it.
          if (reading && !(error instanceof SourceError)) {
            throw brokenOff(number, received, (error as Error).name === 'AbortError', settings);
          }
          throw error;
        }
      },
      (error) => {
        if (error instanceof SourceError) return error.kind === 'Interrupted' ? {} : false;
        if (!isHttpError(error) || !error.response) return false;
        const { status, reason } = errorBody(error);
        if (status === 429 || (status === 403 && RATE_LIMIT_REASONS.has(reason ?? ''))) {
          return { retryAfterMs: parseRetryAfter(header(error.response.headers, 'retry-after')) };
        }
        return false;
      },
      {
        attempts: options.attempts,
        retryDelayMs: options.retryDelayMs,
        maxRetryDelayMs: options.maxRetryDelayMs ?? MAX_RETRY_DELAY_MS,
        signal,
        onRetry: (error, attempt, delay) => options.onRetry?.(describeFailure(error), attempt, delay),
      },
    ).catch(fail);

  // Pages are fed in order: the next is asked for only once the one before has come.
  const digest = new SourceDigest();
  async function* batches(): AsyncGenerator<SourceRecord[]> {
    const seenTokens = new Set<string>();
    let rows = 0;
    let position = 0;
    let number = 1;
    let next: Promise<Page> | undefined = fetchPage(undefined, number);
    while (next) {
      const page: Page = await next;
      next = undefined;
      digest.addPage(page.body);
      page.body = EMPTY;
      if (page.nextPageToken === undefined) digest.complete = true;
      else {
        if (seenTokens.has(page.nextPageToken)) throw repeatedToken(number, described);
        seenTokens.add(page.nextPageToken);
        number += 1;
        // Asked for while this page is handed on: Google answers meanwhile.
        next = fetchPage(page.nextPageToken, number);
        next.catch(() => {});
      }
      let batch: SourceRecord[] = [];
      for (const user of page.users) {
        position += 1;
        if (user.suspended === true || user.archived === true) {
          leftOut += 1;
          continue;
        }
        rows += 1;
        if (rows > settings.maxRows) throw tooManyUsers(described, settings.maxRows);
        const values: Record<string, string> = {};
        for (const column of COLUMNS) values[column.header] = text(column.read(user));
        batch.push({ rowNumber: position, values });
        if (batch.length === BATCH_SIZE) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    }
    if (rows === 0) throw noUsers(described, leftOut, settings);
  }

  return withFingerprint(
    {
      get origin() {
        return origin();
      },
      headers: [...GOOGLE_WORKSPACE_HEADERS],
      defaultColumns: GOOGLE_WORKSPACE_DEFAULT_COLUMNS,
      batches: batches(),
      close,
    },
    {
      connector: 'google-workspace',
      origin: fingerprintOrigin(new URL('admin/directory/v1/users', rootUrl), {
        customer: settings.domain ? undefined : settings.customerId,
        domain: settings.domain,
      }),
      digest,
      paged: true,
      leftOutInactive: () => leftOut,
    },
  );
}

const EMPTY = Buffer.alloc(0);

/** The configured key as node:crypto reads it; a key pasted with its JSON escapes (`\n`) is taken as meant. */
function readPrivateKey(value: string): string {
  const pem = value.includes('\\n') && !value.includes('\n') ? value.replaceAll('\\n', '\n') : value;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType === 'rsa') return pem;
  } catch {
    // Reported below, without the library's words: they may quote part of the key.
  }
  throw new SourceError(
    'AuthFailed',
    'The configured private key is not an RSA private key that can be read.',
    {
      hint:
        "Paste the private_key value of the service account's JSON key file, from -----BEGIN PRIVATE KEY----- " +
        'to -----END PRIVATE KEY-----. If the key was deleted in Google Cloud, create a new JSON key.',
    },
  );
}

function parsePage(body: Buffer, type: string, number: number, settings: GoogleWorkspaceSettings) {
  const notJson = () =>
    new SourceError(
      'BadResponse',
      `Page ${number} of the Google Workspace user listing is not the Directory API's JSON (${type || 'no content type'}): "${quote(body.subarray(0, 2_000).toString('utf8'))}".`,
      {
        hint: `Check apiBaseUrl (now ${settings.apiBaseUrl}; Google's is https://admin.googleapis.com). A proxy or sign-in page between this service and Google answers like this.`,
      },
    );
  if (!/\bjson\b/i.test(type)) throw notJson();
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    throw notJson();
  }
  const page = objectOf(data);
  const users = page.users;
  const nextPageToken = page.nextPageToken;
  if (
    data !== page ||
    (users !== undefined && !Array.isArray(users)) ||
    (nextPageToken !== undefined && typeof nextPageToken !== 'string')
  ) {
    throw new SourceError(
      'BadResponse',
      `Page ${number} of the Google Workspace user listing does not have the shape of a users.list answer (users, nextPageToken).`,
      { hint: `Check apiBaseUrl (now ${settings.apiBaseUrl}; Google's is https://admin.googleapis.com).` },
    );
  }
  // An empty page has no `users` at all.
  return {
    users: ((users as unknown[] | undefined) ?? []).map(objectOf),
    nextPageToken: nextPageToken || undefined,
  };
}

/** A failure's status and reason for a retry notice: never its request, which carries the token. */
function describeFailure(error: unknown): string {
  if (error instanceof SourceError) return error.message;
  if (!isHttpError(error)) return String(error);
  if (!error.response) return `no answer (${error.code ?? 'network error'})`;
  const { status, reason } = errorBody(error);
  return `HTTP ${status}${reason ? ` ${reason}` : ''}`;
}

/** A host the guard could not resolve (the guard's own refusals pass through as they are). */
function unresolved(error: unknown, url: URL, settings: GoogleWorkspaceSettings): never {
  if (error instanceof SourceError) throw error;
  const setting = url.host === new URL(settings.tokenUrl).host ? 'tokenUrl' : 'apiBaseUrl';
  throw new SourceError(
    'SourceUnreachable',
    `Could not reach ${url.host}: the host name could not be resolved (${(error as NodeJS.ErrnoException).code ?? 'DNS'}).`,
    {
      hint: `Check ${setting} in the configuration, and that this service can resolve Google's host names (DNS). The run is retried.`,
      transient: true,
    },
  );
}

const seconds = (ms: number) => (ms === 1000 ? 'one second' : `${ms / 1000} seconds`);

function tooLarge(origin: string, maxBytes: number): SourceError {
  return new SourceError(
    'SizeLimitExceeded',
    `${origin} sent more than ${formatBytes(maxBytes)}, the limit for this configuration (maxBytes).`,
    {
      hint: 'The fields the sync reads come to about half a kilobyte a user (some 100 MB for 200,000 users): if the directory is that large, raise maxBytes in the configuration; otherwise narrow the listing with query.',
    },
  );
}

function tooManyUsers(origin: string, maxRows: number): SourceError {
  return new SourceError(
    'SizeLimitExceeded',
    `${origin} lists more than ${maxRows.toLocaleString('en-US')} active users, the limit for this configuration (maxRows).`,
    {
      hint: "If the directory is that large, raise maxRows in the configuration; otherwise narrow the listing with query (e.g. orgUnitPath='/Staff').",
    },
  );
}

const leftOutUsers = (count: number) =>
  `${count.toLocaleString('en-US')} suspended or archived ${count === 1 ? 'user' : 'users'}`;

function noUsers(origin: string, leftOut: number, settings: GoogleWorkspaceSettings): SourceError {
  const also = leftOut === 0 ? '' : ` (${leftOutUsers(leftOut)} left out)`;
  return new SourceError('NoDataRows', `${origin} lists no active users${also}.`, {
    hint: `Check customerId, domain and query${settings.query ? ` (${settings.query})` : ''}: nothing was changed.`,
  });
}

function repeatedToken(number: number, origin: string): SourceError {
  return new SourceError(
    'BadResponse',
    `${origin}: page ${number} of the user listing pointed back to a page already read, so the listing would never end.`,
    {
      hint: 'Usually a passing fault at Google or a caching proxy in between: run the sync again. If it keeps happening, contact support.',
    },
  );
}

function brokenOff(number: number, received: number, stalled: boolean, settings: GoogleWorkspaceSettings) {
  const how = stalled
    ? `stalled after ${formatBytes(received)} (no complete answer within ${seconds(settings.timeoutMs)})`
    : `broke off after ${formatBytes(received)}`;
  return new SourceError('Interrupted', `Page ${number} of the Google Workspace user listing ${how}.`, {
    hint: 'Usually a passing network problem: the run is retried. If it keeps happening, check the network between this service and Google.',
    transient: true,
  });
}

/** A failed request, after its retries, as what happened and what to do about it. */
function classify(error: unknown, settings: GoogleWorkspaceSettings): SourceError {
  if (!isHttpError(error)) {
    return new SourceError(
      'SourceUnreachable',
      `Google Workspace could not be read: ${quote(String(error))}.`,
      {
        hint: 'If it persists, contact support.',
        transient: true,
      },
    );
  }
  const url = error.config?.url === undefined ? undefined : new URL(String(error.config.url));
  const toToken = url !== undefined && url.pathname !== '/admin/directory/v1/users';
  const host = url?.host ?? new URL(toToken ? settings.tokenUrl : settings.apiBaseUrl).host;
  if (!error.response) {
    // The request's timeout aborts it (the run's own abort was checked before): fetch calls that an AbortError.
    const cause = (error as { cause?: { name?: string } }).cause;
    const timedOut = [error.code, error.name, cause?.name].some(
      (name) => name === 'TimeoutError' || name === 'AbortError',
    );
    const how = timedOut
      ? `no answer within ${seconds(settings.timeoutMs)}`
      : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
        ? 'the host name could not be resolved (DNS)'
        : `the connection failed (${error.code ?? quote(error.message)})`;
    return new SourceError('SourceUnreachable', `Could not reach ${host}: ${how}.`, {
      hint: `Check ${toToken ? 'tokenUrl' : 'apiBaseUrl'} in the configuration and that this service may reach Google (firewall, proxy). The run is retried.`,
      transient: true,
    });
  }
  const { status, reason, message } = errorBody(error);
  if (status !== undefined && status >= 300 && status < 400) {
    const location = quote(header(error.response.headers, 'location')) || 'elsewhere';
    return new SourceError(
      'BadResponse',
      `${host} answered ${toToken ? 'the sign-in' : 'the users listing'} with a redirect (HTTP ${status}) to ${location}, which is not followed.`,
      {
        hint: `Check ${toToken ? 'tokenUrl' : 'apiBaseUrl'} in the configuration (Google's is ${toToken ? 'https://oauth2.googleapis.com/token' : 'https://admin.googleapis.com'}).`,
      },
    );
  }
  const said = quote(message ?? reason);
  const saying = said ? `: "${said}"` : '';
  if (status === 429 || (status !== undefined && status >= 500) || RATE_LIMIT_REASONS.has(reason ?? '')) {
    const what = toToken ? 'Google sign-in' : 'The Directory API';
    const limited = status === 429 || RATE_LIMIT_REASONS.has(reason ?? '');
    return new SourceError(
      'SourceUnreachable',
      `${what} kept answering HTTP ${status}${reason ? ` ${reason}` : ''}, also when asked again${saying}.`,
      {
        hint: limited
          ? 'Google is limiting requests for this account (2,400 a minute per administrator): the run is retried later. If other tools use the same administrator heavily, schedule the sync away from them.'
          : 'Usually a passing fault at Google: the run is retried later. If it lasts, check https://www.google.com/appsstatus.',
        transient: true,
      },
    );
  }
  if (toToken) return tokenRefusal(status, reason, saying, settings);
  if (status === 401) {
    return new SourceError(
      'AuthFailed',
      `The Directory API refused the access token of ${settings.serviceAccountEmail}${saying}.`,
      {
        hint: `Check that domain-wide delegation for the service account's client ID includes ${DIRECTORY_USER_READONLY_SCOPE}.`,
      },
    );
  }
  if (status === 403) {
    return new SourceError(
      'AuthFailed',
      `Google refused ${settings.adminEmail} access to the users of ${settings.domain ? `domain ${settings.domain}` : `customer ${settings.customerId}`}${saying}.`,
      {
        hint: 'adminEmail must be an administrator allowed to read users (a super admin, or an admin role with Admin API privileges › Users › Read), and domain, if set, a domain of this Workspace account.',
      },
    );
  }
  if (status === 404) {
    return new SourceError(
      'SourceNotFound',
      `Google found no users listing at ${host} for this account${saying}.`,
      {
        hint: `Check customerId (my_customer, or the ID under Account settings in the Google Admin console), domain, and apiBaseUrl (Google's is https://admin.googleapis.com).`,
      },
    );
  }
  if (status === 400) {
    return new SourceError('BadResponse', `Google refused the users listing as invalid${saying}.`, {
      hint: "Check query (Directory API search syntax, e.g. orgUnitPath='/Staff'), customerId and domain in the configuration.",
    });
  }
  return new SourceError('BadResponse', `The Directory API answered HTTP ${status}${saying}.`, {
    hint: 'If it persists, contact support.',
  });
}

/** The token endpoint's refusals (OAuth errors), by what a person must change. */
function tokenRefusal(
  status: number | undefined,
  reason: string | undefined,
  saying: string,
  settings: GoogleWorkspaceSettings,
): SourceError {
  const account = settings.serviceAccountEmail;
  if (reason === 'unauthorized_client') {
    return new SourceError(
      'AuthFailed',
      `Google did not let the service account ${account} act for ${settings.adminEmail}: domain-wide delegation is not granted for its client ID and the scope ${DIRECTORY_USER_READONLY_SCOPE}.`,
      {
        hint: "Grant domain-wide delegation for this client ID and scope: in the Google Admin console, Security › Access and data control › API controls › Manage domain-wide delegation, add the service account's client ID with that scope. It can take a few minutes to apply.",
      },
    );
  }
  if (reason === 'invalid_grant' && /signature/i.test(saying)) {
    return new SourceError('AuthFailed', `Google refused the private key of ${account}${saying}.`, {
      hint: 'The key was deleted or replaced in Google Cloud: create a new JSON key for the service account and enter its private_key and client_email.',
    });
  }
  if (reason === 'invalid_grant' && /email|user id/i.test(saying)) {
    return new SourceError(
      'AuthFailed',
      `Google does not know the administrator ${settings.adminEmail}${saying}.`,
      {
        hint: 'Set adminEmail to an existing, active administrator of this Workspace account.',
      },
    );
  }
  if (reason === 'invalid_client') {
    return new SourceError('AuthFailed', `Google does not know the service account ${account}${saying}.`, {
      hint: "Set serviceAccountEmail to the client_email of the service account's JSON key file, and check the account is not disabled.",
    });
  }
  if (status === 404) {
    return new SourceError(
      'SourceNotFound',
      `There is no Google sign-in at ${settings.tokenUrl} (HTTP 404).`,
      {
        hint: "Check tokenUrl in the configuration (Google's is https://oauth2.googleapis.com/token).",
      },
    );
  }
  return new SourceError(
    'AuthFailed',
    `Google refused to sign in ${account} as ${settings.adminEmail} (HTTP ${status}${reason ? ` ${reason}` : ''})${saying}.`,
    {
      hint: "Check serviceAccountEmail, the private key and adminEmail, and this server's clock (the sign-in is valid for one hour from now).",
    },
  );
}
