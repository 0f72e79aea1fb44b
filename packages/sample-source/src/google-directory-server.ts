import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type HrRow, hrRow } from './hr-files.ts';

/**
 * A Google Workspace tenant on loopback for tests and the demo: the OAuth token endpoint of the
 * JWT-bearer grant (a service account with domain-wide delegation) and the Admin SDK Directory API's
 * `users.list`, speaking their wire formats. The token endpoint checks what Google checks: the RS256
 * signature with the public half of the service account's key (node:crypto), the audience, a short
 * lifetime, the scopes delegated to the client, and that the impersonated `sub` is an administrator.
 */

/** The audience gtoken signs every assertion for (google-auth-library 10 hard-codes it). */
export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
export const DIRECTORY_USER_READONLY_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
const DIRECTORY_USER_SCOPES = [
  DIRECTORY_USER_READONLY_SCOPE,
  'https://www.googleapis.com/auth/admin.directory.user',
];
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const USERS_PATH = '/admin/directory/v1/users';
const MAX_RESULTS = 500;
const DEFAULT_RESULTS = 100;
/** Clock skew Google tolerates on iat and exp. */
const SKEW_SECONDS = 300;

/** A Directory API user resource, as `users.list` returns it (the fields the product reads, and a few more). */
export interface GoogleDirectoryUser {
  kind?: 'admin#directory#user';
  id: string;
  primaryEmail: string;
  name?: { givenName?: string; familyName?: string; fullName?: string };
  suspended?: boolean;
  archived?: boolean;
  isAdmin?: boolean;
  orgUnitPath?: string;
  organizations?: {
    title?: string;
    department?: string;
    location?: string;
    costCenter?: string;
    primary?: boolean;
  }[];
  relations?: { value: string; type: string }[];
  externalIds?: { value: string; type: string }[];
  phones?: { value: string; type: string; primary?: boolean }[];
  locations?: { type: string; area?: string; buildingId?: string }[];
  creationTime?: string;
  [field: string]: unknown;
}

/** Google's user ID for generated user N: 21 digits, like the real ones. */
export const googleUserId = (n: number) => `1${String(n).padStart(20, '0')}`;

/** Generated HR user N as the Directory API returns it (hrRow's values in Google's fields). */
export function googleDirectoryUser(n: number, seed = 1, row: HrRow = hrRow(n, seed)): GoogleDirectoryUser {
  return {
    kind: 'admin#directory#user',
    id: googleUserId(n),
    etag: `"etag-${n}"`,
    primaryEmail: row.email,
    name: {
      givenName: row.first_name,
      familyName: row.last_name,
      fullName: `${row.first_name} ${row.last_name}`,
    },
    isAdmin: false,
    suspended: false,
    archived: false,
    orgUnitPath: `/${row.department}`,
    organizations: [
      { title: row.job_title, department: row.department, location: row.location, primary: true },
    ],
    ...(row.manager_email ? { relations: [{ value: row.manager_email, type: 'manager' }] } : {}),
    externalIds: [{ value: row.employee_number, type: 'organization' }],
    phones: [{ value: row.phone, type: 'work', primary: true }],
    locations: [{ type: 'desk', area: row.location, buildingId: `${row.location} HQ` }],
    creationTime: `${row.start_date}T09:00:00.000Z`,
  };
}

/** A partial-response selector (`nextPageToken,users(id,name(givenName))`): field → its own selector, or all. */
type FieldSelector = Map<string, FieldSelector | null>;

/** Reads Google's `fields` parameter; null when it is malformed. */
export function parseFieldSelector(text: string): FieldSelector | null {
  let at = 0;
  const parse = (): FieldSelector | null => {
    const selector: FieldSelector = new Map();
    for (;;) {
      const name = /^[A-Za-z_][\w]*/.exec(text.slice(at))?.[0];
      if (!name) return null;
      at += name.length;
      let inner: FieldSelector | null = null;
      if (text[at] === '(') {
        at += 1;
        inner = parse();
        if (inner === null || text[at] !== ')') return null;
        at += 1;
      }
      selector.set(name, inner);
      if (text[at] !== ',') return selector;
      at += 1;
    }
  };
  const selector = parse();
  return selector !== null && at === text.length ? selector : null;
}

/** Keeps only the selected fields, in each element of an array alike. */
function select(value: unknown, selector: FieldSelector | null): unknown {
  if (selector === null || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => select(item, selector));
  const picked: Record<string, unknown> = {};
  for (const [name, inner] of selector) {
    const field = (value as Record<string, unknown>)[name];
    if (field !== undefined) picked[name] = select(field, inner);
  }
  return picked;
}

/** Where a fault applies: the token endpoint, `users.list`, or both (default: users.list). */
type FaultTarget = { on?: 'token' | 'users' | 'any' };
/** Which requests a fault hits: the next `times` that match (default: all), and only page `page` if set. */
type FaultScope = FaultTarget & { times?: number; page?: number };

export type GoogleDirectoryFault =
  /** Answers with this status and Google's error body (reason defaults by status; 429 and 503 may say Retry-After). */
  | (FaultScope & {
      kind: 'status';
      status: 400 | 401 | 403 | 404 | 429 | 500 | 503;
      reason?: string;
      message?: string;
      retryAfterSeconds?: number;
    })
  /** Waits `delayMs` before answering (`stage: 'headers'`), or sends half the body, then waits (`'body'`). */
  | (FaultScope & { kind: 'slow'; delayMs: number; stage?: 'headers' | 'body' })
  /** Sends half of the response body, then drops the connection. */
  | (FaultScope & { kind: 'cut' })
  /** Answers 200 with an HTML sign-in page, as a proxy or a wrong URL would. */
  | (FaultScope & { kind: 'html' })
  /** Page `page` hands back the page token it was fetched with: a listing that would never end. */
  | { kind: 'repeat-page-token'; page: number }
  /** The service account's key was deleted: no assertion passes the signature check any more. */
  | { kind: 'bad-signature' };

export interface GoogleDirectoryRequest {
  endpoint: 'token' | 'users' | 'other';
  method: string;
  /** users.list's query parameters (customer, domain, maxResults, pageToken, query...). */
  params: Record<string, string>;
  /** The users page this request asked for (1-based), for users.list. */
  page?: number;
  status: number;
  /** The impersonated administrator of a token request. */
  subject?: string;
  scopes?: string[];
  /** With `keepBodies`: a users page's body as meant to be sent (a fault may cut it). */
  body?: string;
}

export interface GoogleDirectoryServerOptions {
  /** The tenant's customer ID; `my_customer` is always accepted too. Default `C01234567`. */
  customerId?: string;
  /** Domains of the tenant, for `domain=`. Default `example.com` (the generated users' domain). */
  domains?: readonly string[];
  /** Administrators the service account may impersonate (the JWT's `sub`). */
  admins: readonly string[];
  /** The users, or how many generated HR users (hrRow) to serve, built page by page. */
  users: readonly GoogleDirectoryUser[] | number;
  seed?: number;
  /** Scopes granted to the service account's client ID in domain-wide delegation. Default read-only users. */
  delegatedScopes?: readonly string[];
  /** The most users a page holds, whatever maxResults asks (Google may send fewer). */
  pageSize?: number;
  /** Pages (1-based) answered without users but with a nextPageToken, as Google sometimes does. */
  emptyPages?: readonly number[];
  /** The service account's key (PKCS#8 PEM); default a fresh 2048-bit RSA key. */
  privateKey?: string;
  serviceAccountEmail?: string;
  /** Default: any free port. */
  port?: number;
  /** Keep each users page's body on its request record (tests compare what a connector read); default false. */
  keepBodies?: boolean;
}

export interface GoogleDirectoryServer {
  tokenUrl: string;
  apiBaseUrl: string;
  /** What a service account JSON key file holds, as the configuration takes it. */
  serviceAccount: { clientEmail: string; clientId: string; privateKey: string };
  customerId: string;
  /** Every request answered, in order. */
  requests: GoogleDirectoryRequest[];
  /** Applies a fault to the requests that follow (each fault keeps its own count). */
  fault(fault: GoogleDirectoryFault): void;
  /** Clears every fault. */
  clearFaults(): void;
  /** Replaces the users served from the next listing on. */
  setUsers(users: readonly GoogleDirectoryUser[] | number): void;
  stop(): Promise<void>;
}

interface IssuedToken {
  subject: string | null;
  scopes: string[];
  expiresAt: number;
}

interface PageCursor {
  offset: number;
  page: number;
  /** The listing this token belongs to: a token outlives neither a change of users nor of the query. */
  listing: string;
}

type Active = GoogleDirectoryFault & { left: number };

const DEFAULT_REASONS: Record<number, { reason: string; message: string; status: string }> = {
  400: { reason: 'badRequest', message: 'Bad Request', status: 'INVALID_ARGUMENT' },
  401: {
    reason: 'authError',
    message: 'Request had invalid authentication credentials. Expected OAuth 2 access token.',
    status: 'UNAUTHENTICATED',
  },
  403: {
    reason: 'forbidden',
    message: 'Not Authorized to access this resource/api',
    status: 'PERMISSION_DENIED',
  },
  404: { reason: 'notFound', message: 'Resource Not Found: domain', status: 'NOT_FOUND' },
  429: { reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded', status: 'RESOURCE_EXHAUSTED' },
  500: { reason: 'backendError', message: 'Internal error encountered.', status: 'INTERNAL' },
  503: { reason: 'backendError', message: 'The service is currently unavailable.', status: 'UNAVAILABLE' },
};

/** Token endpoint errors in OAuth's own form. */
const TOKEN_ERRORS: Record<number, { error: string; error_description: string }> = {
  400: { error: 'invalid_request', error_description: 'Bad Request' },
  401: {
    error: 'unauthorized_client',
    error_description:
      'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
  },
  403: { error: 'access_denied', error_description: 'Requested client not authorized.' },
  404: { error: 'not_found', error_description: 'Not Found' },
  429: { error: 'rate_limit_exceeded', error_description: 'Rate Limit Exceeded' },
  500: { error: 'internal_failure', error_description: 'Backend Error' },
  503: { error: 'temporarily_unavailable', error_description: 'The service is currently unavailable.' },
};

const HTML_SIGN_IN =
  '<!DOCTYPE html><html lang="en"><head><title>Sign in - Google Accounts</title></head>' +
  '<body><form action="/signin"><input name="identifier"></form></body></html>';

/** The fake for users.list: see the module comment. Stop it with stop(). */
export async function startGoogleDirectoryServer(
  options: GoogleDirectoryServerOptions,
): Promise<GoogleDirectoryServer> {
  const customerId = options.customerId ?? 'C01234567';
  const domains = new Set((options.domains ?? ['example.com']).map((domain) => domain.toLowerCase()));
  const admins = new Set(options.admins.map((admin) => admin.toLowerCase()));
  const delegated = new Set(options.delegatedScopes ?? [DIRECTORY_USER_READONLY_SCOPE]);
  const seed = options.seed ?? 1;
  const privateKey =
    options.privateKey ??
    generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
  let publicKey: KeyObject = createPublicKey(privateKey);
  const clientEmail = options.serviceAccountEmail ?? 'provisioning-sync@acme-project.iam.gserviceaccount.com';
  const clientId = '104857600123456789012';

  let users = options.users;
  let generation = 0;
  const tokens = new Map<string, IssuedToken>();
  const cursors = new Map<string, PageCursor>();
  const requests: GoogleDirectoryRequest[] = [];
  let faults: Active[] = [];
  /** Delayed answers waiting on a timer: stop() ends them. */
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const userCount = () => (typeof users === 'number' ? users : users.length);
  const userAt = (index: number) =>
    typeof users === 'number' ? googleDirectoryUser(index + 1, seed) : (users[index] as GoogleDirectoryUser);

  /** The first live fault of `kind` matching this request, counted as used. */
  function takeFault(endpoint: 'token' | 'users', page: number | undefined): Active | undefined {
    const fault = faults.find((candidate) => {
      if (candidate.left <= 0) return false;
      if (candidate.kind === 'repeat-page-token' || candidate.kind === 'bad-signature') return false;
      const on = candidate.on ?? 'users';
      if (on !== 'any' && on !== endpoint) return false;
      return candidate.page === undefined || candidate.page === page;
    });
    if (fault) fault.left -= 1;
    return fault;
  }

  const later = (ms: number, then: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      then();
    }, ms);
    timers.add(timer);
  };

  /** Sends `body` as the fault says: whole, half then dropped, half then late, late, or a sign-in page. */
  function send(
    response: ServerResponse,
    status: number,
    body: string,
    fault: Active | undefined,
    headers: Record<string, string> = {},
  ): void {
    if (fault?.kind === 'html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(HTML_SIGN_IN);
      return;
    }
    const bytes = Buffer.from(body);
    const head = {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': String(bytes.length),
      ...headers,
    };
    if (fault?.kind === 'slow' && (fault.stage ?? 'headers') === 'headers') {
      later(fault.delayMs, () => {
        response.writeHead(status, head);
        response.end(bytes);
      });
      return;
    }
    if (fault?.kind === 'cut' || fault?.kind === 'slow') {
      response.writeHead(status, head);
      const half = Math.floor(bytes.length / 2);
      if (fault.kind === 'cut') {
        // Dropped once the half is flushed, so the client holds half a body when the connection goes.
        response.write(bytes.subarray(0, half), () => response.socket?.destroy());
      } else {
        response.write(bytes.subarray(0, half));
        later(fault.delayMs, () => response.end(bytes.subarray(half)));
      }
      return;
    }
    response.writeHead(status, head);
    response.end(bytes);
  }

  function apiError(
    response: ServerResponse,
    status: number,
    fault: Active | undefined,
    details: { reason?: string; message?: string; retryAfterSeconds?: number } = {},
  ): number {
    const known = DEFAULT_REASONS[status] ?? DEFAULT_REASONS[400]!;
    const message = details.message ?? known.message;
    const reason = details.reason ?? known.reason;
    const body = JSON.stringify({
      error: {
        code: status,
        message,
        errors: [{ message, domain: reason.endsWith('Exceeded') ? 'usageLimits' : 'global', reason }],
        status: known.status,
      },
    });
    const headers: Record<string, string> =
      details.retryAfterSeconds === undefined ? {} : { 'retry-after': String(details.retryAfterSeconds) };
    send(response, status, body, fault?.kind === 'status' ? undefined : fault, headers);
    return status;
  }

  function tokenError(response: ServerResponse, status: number, error: string, description: string): number {
    send(response, status, JSON.stringify({ error, error_description: description }), undefined);
    return status;
  }

  function handleToken(body: string, response: ServerResponse, record: GoogleDirectoryRequest): number {
    const fault = takeFault('token', undefined);
    if (fault?.kind === 'status') {
      const known = TOKEN_ERRORS[fault.status] ?? TOKEN_ERRORS[400]!;
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      send(
        response,
        fault.status,
        JSON.stringify({
          error: fault.reason ?? known.error,
          error_description: fault.message ?? known.error_description,
        }),
        undefined,
        headers,
      );
      return fault.status;
    }
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== JWT_BEARER) {
      return tokenError(
        response,
        400,
        'unsupported_grant_type',
        `Invalid grant_type: ${form.get('grant_type') ?? ''}`,
      );
    }
    const claims = verifyAssertion(form.get('assertion') ?? '');
    if (typeof claims === 'string') return tokenError(response, 400, 'invalid_grant', claims);
    if (claims.iss !== clientEmail) {
      return tokenError(response, 401, 'invalid_client', 'The OAuth client was not found.');
    }
    const now = Math.floor(Date.now() / 1000);
    if (
      typeof claims.iat !== 'number' ||
      typeof claims.exp !== 'number' ||
      claims.iat > now + SKEW_SECONDS ||
      claims.exp < now - SKEW_SECONDS ||
      claims.exp - claims.iat > 3600
    ) {
      return tokenError(
        response,
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    if (claims.aud !== GOOGLE_TOKEN_AUDIENCE && claims.aud !== tokenUrl) {
      return tokenError(response, 400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    record.scopes = scopes;
    if (scopes.length === 0)
      return tokenError(response, 400, 'invalid_scope', 'Empty or missing scope not allowed.');
    const subject = typeof claims.sub === 'string' ? claims.sub.toLowerCase() : null;
    if (subject !== null) {
      record.subject = subject;
      if (!scopes.every((scope) => delegated.has(scope))) {
        return tokenError(response, 401, TOKEN_ERRORS[401]!.error, TOKEN_ERRORS[401]!.error_description);
      }
      if (!admins.has(subject)) return tokenError(response, 400, 'invalid_grant', 'Invalid email or User ID');
    }
    const accessToken = `ya29.${randomBytes(24).toString('base64url')}`;
    tokens.set(accessToken, { subject, scopes, expiresAt: Date.now() + 3600_000 });
    send(
      response,
      200,
      JSON.stringify({ access_token: accessToken, expires_in: 3599, token_type: 'Bearer' }),
      fault,
    );
    return 200;
  }

  /** The assertion's claims once its RS256 signature checks out, or why it does not. */
  function verifyAssertion(assertion: string): Record<string, unknown> | string {
    const parts = assertion.split('.');
    if (parts.length !== 3) return 'Invalid JWT: malformed.';
    const [header, payload, signature] = parts as [string, string, string];
    let decoded: { header: Record<string, unknown>; claims: Record<string, unknown> };
    try {
      decoded = {
        header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
        claims: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
      };
    } catch {
      return 'Invalid JWT: malformed.';
    }
    if (decoded.header.alg !== 'RS256') return 'Invalid JWT: unsupported signing algorithm.';
    const signed = verify(
      'RSA-SHA256',
      Buffer.from(`${header}.${payload}`),
      publicKey,
      Buffer.from(signature, 'base64url'),
    );
    return signed ? decoded.claims : 'Invalid JWT Signature.';
  }

  function handleUsers(request: IncomingMessage, response: ServerResponse, record: GoogleDirectoryRequest) {
    const auth = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = auth === undefined ? undefined : tokens.get(auth);
    const params = record.params;
    const cursor = params.pageToken === undefined ? undefined : cursors.get(params.pageToken);
    record.page = cursor?.page ?? 1;
    const fault = takeFault('users', record.page);
    if (fault?.kind === 'status') return apiError(response, fault.status, undefined, fault);
    if (!token || token.expiresAt < Date.now()) {
      return apiError(response, 401, fault, { reason: 'authError', message: 'Invalid Credentials' });
    }
    if (!token.scopes.some((scope) => DIRECTORY_USER_SCOPES.includes(scope))) {
      return apiError(response, 403, fault, {
        reason: 'insufficientPermissions',
        message: 'Request had insufficient authentication scopes.',
      });
    }
    if (token.subject === null) return apiError(response, 403, fault);
    const customer = params.customer;
    const domain = params.domain?.toLowerCase();
    if (customer === undefined && domain === undefined) return apiError(response, 400, fault);
    if (customer !== undefined && customer !== 'my_customer' && customer !== customerId) {
      return apiError(response, 400, fault, { reason: 'badRequest', message: 'Bad Request' });
    }
    if (domain !== undefined && !domains.has(domain)) return apiError(response, 403, fault);
    const maxResults = params.maxResults === undefined ? DEFAULT_RESULTS : Number(params.maxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS) {
      return apiError(response, 400, fault, {
        reason: 'invalid',
        message: `Invalid value '${params.maxResults}'. Values must be within the range: [1, ${MAX_RESULTS}]`,
      });
    }
    const fields = params.fields === undefined ? undefined : parseFieldSelector(params.fields);
    if (fields === null) {
      return apiError(response, 400, fault, {
        reason: 'invalidParameter',
        message: `Invalid field selection ${params.fields}`,
      });
    }
    const listing = `${generation}|${customer ?? ''}|${domain ?? ''}|${params.query ?? ''}|${maxResults}`;
    if (params.pageToken !== undefined && (cursor === undefined || cursor.listing !== listing)) {
      return apiError(response, 400, fault, { reason: 'invalid', message: 'Invalid Input: pageToken' });
    }
    const offset = cursor?.offset ?? 0;
    const page = record.page;
    const empty = options.emptyPages?.includes(page) ?? false;
    const size = empty ? 0 : Math.min(maxResults, options.pageSize ?? MAX_RESULTS);
    const end = Math.min(userCount(), offset + size);
    const pageUsers: GoogleDirectoryUser[] = [];
    for (let index = offset; index < end; index++) pageUsers.push(userAt(index));
    const repeat = faults.some((f) => f.kind === 'repeat-page-token' && f.page === page);
    let nextPageToken: string | undefined;
    if (repeat && params.pageToken !== undefined) nextPageToken = params.pageToken;
    else if (end < userCount() || (empty && offset < userCount())) {
      nextPageToken = randomBytes(18).toString('base64url');
      cursors.set(nextPageToken, { offset: end, page: page + 1, listing });
    }
    const body = JSON.stringify(
      select(
        {
          kind: 'admin#directory#users',
          etag: `"listing-${generation}-${page}"`,
          // Google leaves `users` out of an empty page.
          ...(pageUsers.length > 0 ? { users: pageUsers } : {}),
          ...(nextPageToken === undefined ? {} : { nextPageToken }),
        },
        fields ?? null,
      ),
    );
    if (options.keepBodies) record.body = body;
    send(response, 200, body, fault);
    return 200;
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 64 * 1024) chunks.push(chunk);
    });
    request.on('end', () => {
      const params = Object.fromEntries(url.searchParams);
      const record: GoogleDirectoryRequest = {
        endpoint: 'other',
        method: request.method ?? 'GET',
        params,
        status: 0,
      };
      requests.push(record);
      if (url.pathname === '/token' && request.method === 'POST') {
        record.endpoint = 'token';
        record.params = {};
        record.status = handleToken(Buffer.concat(chunks).toString('utf8'), response, record);
      } else if (url.pathname === USERS_PATH && request.method === 'GET') {
        record.endpoint = 'users';
        record.status = handleUsers(request, response, record);
      } else {
        record.status = 404;
        response.writeHead(404, { 'content-type': 'text/html; charset=UTF-8' });
        response.end(
          `<!DOCTYPE html><title>Error 404 (Not Found)!!1</title><p>The requested URL ${url.pathname.replace(/[<>&"]/g, '')} was not found on this server.`,
        );
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const tokenUrl = `${origin}/token`;

  return {
    tokenUrl,
    apiBaseUrl: origin,
    serviceAccount: { clientEmail, clientId, privateKey },
    customerId,
    requests,
    fault(fault) {
      if (fault.kind === 'bad-signature') {
        // Another key's public half: the configured key no longer matches the account.
        publicKey = createPublicKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
        return;
      }
      faults.push({
        ...fault,
        left: 'times' in fault && fault.times !== undefined ? fault.times : Number.POSITIVE_INFINITY,
      });
    },
    clearFaults() {
      faults = [];
      publicKey = createPublicKey(privateKey);
    },
    setUsers(next) {
      users = next;
      generation += 1;
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
