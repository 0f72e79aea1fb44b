import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  connectorSettings,
  createConfiguration,
  generateSecretKey,
  type Orm,
  parseSecretKey,
} from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import { type GoogleWorkspaceSettings, GoogleWorkspaceSettingsSchema } from '@provisioning/shared';
import {
  DIRECTORY_USER_READONLY_SCOPE,
  type GoogleDirectoryFault,
  type GoogleDirectoryServer,
  googleDirectoryUser,
  googleUserId,
  startGoogleDirectoryServer,
} from '@provisioning/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveColumns } from '../engine/columns.ts';
import { runSync } from '../engine/run-sync.ts';
import { createTestOrganisation, queueRunRow } from '../engine/sync-fixture.test-support.ts';
import {
  GOOGLE_WORKSPACE_HEADERS,
  type GoogleWorkspaceLoadOptions,
  loadGoogleWorkspaceSource,
} from './google-workspace.connector.ts';
import { parseAllowList } from './host-guard.ts';
import { SourceError, type SourceRecord, type SourceTable } from './source.ts';

const ADMIN = 'it-admin@example.com';
const USERS = 1_200;
/** The test servers listen on loopback, which connectors refuse unless allowed. */
const LOOPBACK = parseAllowList('127.0.0.1/32');
/** No waiting between tries, unless a test is about the waits. */
const quick: GoogleWorkspaceLoadOptions = { allowList: LOOPBACK, retryDelayMs: 0 };

let server: GoogleDirectoryServer;

beforeAll(async () => {
  server = await startGoogleDirectoryServer({
    admins: [ADMIN],
    users: USERS,
    emptyPages: [2],
    keepBodies: true,
  });
});

afterAll(async () => {
  await server?.stop();
});

afterEach(() => {
  server.clearFaults();
  server.setUsers(USERS);
  server.requests.length = 0;
});

function settingsFor(
  target: GoogleDirectoryServer,
  overrides: Record<string, unknown> = {},
): GoogleWorkspaceSettings {
  return GoogleWorkspaceSettingsSchema.parse({
    adminEmail: ADMIN,
    serviceAccountEmail: target.serviceAccount.clientEmail,
    privateKey: target.serviceAccount.privateKey,
    tokenUrl: target.tokenUrl,
    apiBaseUrl: target.apiBaseUrl,
    ...overrides,
  });
}

async function readAll(table: SourceTable): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  try {
    for await (const batch of table.batches) {
      expect(batch.length).toBeLessThanOrEqual(256);
      records.push(...batch);
    }
  } finally {
    await table.close();
  }
  return records;
}

/** Loads and reads everything, for a test that expects the whole listing. */
async function load(overrides: Record<string, unknown> = {}, options: GoogleWorkspaceLoadOptions = {}) {
  const table = await loadGoogleWorkspaceSource(settingsFor(server, overrides), { ...quick, ...options });
  return { table, records: await readAll(table) };
}

/** The SourceError a load ends with, whether signing in or reading the pages. */
async function loadError(
  overrides: Record<string, unknown> = {},
  options: GoogleWorkspaceLoadOptions = {},
  target = server,
): Promise<SourceError> {
  try {
    await readAll(await loadGoogleWorkspaceSource(settingsFor(target, overrides), { ...quick, ...options }));
  } catch (error) {
    if (error instanceof SourceError) return error;
    throw error;
  }
  throw new Error('expected the load to fail');
}

const userRequests = () => server.requests.filter((request) => request.endpoint === 'users');

describe('loadGoogleWorkspaceSource', () => {
  it('signs in as the administrator with the read-only users scope, then lists every user 500 at a time, over an empty page', async () => {
    const { records, table } = await load();
    expect(records).toHaveLength(USERS);
    expect(records.map((record) => record.rowNumber)).toEqual(Array.from({ length: USERS }, (_, i) => i + 1));

    const [token, ...rest] = server.requests;
    expect(token).toMatchObject({
      endpoint: 'token',
      status: 200,
      subject: ADMIN,
      scopes: [DIRECTORY_USER_READONLY_SCOPE],
    });
    expect(rest.map((request) => [request.endpoint, request.page, request.status])).toEqual([
      ['users', 1, 200],
      ['users', 2, 200],
      ['users', 3, 200],
      ['users', 4, 200],
    ]);
    expect(rest[0]?.params).toEqual({
      customer: 'my_customer',
      maxResults: '500',
      fields: expect.any(String),
    });
    // Only the fields the columns read: Google then sends the rest of each user's record not at all.
    expect(rest[0]?.params.fields).toMatch(
      /^nextPageToken,users\(id,primaryEmail,name\(givenName,familyName\),suspended,archived,/,
    );
    expect(rest[1]?.params.pageToken).toEqual(expect.any(String));
    expect(table.origin).toBe('Google Workspace customer my_customer');
  });

  it("hands each user on in Google's own fields, and names them as the directory fields' default columns", async () => {
    const { records, table } = await load();
    expect(table.headers).toEqual(GOOGLE_WORKSPACE_HEADERS);
    const user = googleDirectoryUser(9);
    expect(records[8]?.values).toEqual({
      id: googleUserId(9),
      primaryEmail: 'user.9@example.com',
      'name.givenName': user.name?.givenName,
      'name.familyName': user.name?.familyName,
      'organizations.title': user.organizations?.[0]?.title,
      'organizations.department': user.organizations?.[0]?.department,
      'organizations.location': user.organizations?.[0]?.location,
      'organizations.costCenter': '',
      'locations.area': user.locations?.[0]?.area,
      'relations.manager': 'user.1@example.com',
      'externalIds.organization': '00000009',
      'phones.work': user.phones?.[0]?.value,
      orgUnitPath: user.orgUnitPath,
    });
    expect(resolveColumns(table.headers, {}, table.defaultColumns).fields).toEqual({
      employee_id: 'id',
      email: 'primaryEmail',
      first_name: 'name.givenName',
      last_name: 'name.familyName',
      job_title: 'organizations.title',
      department: 'organizations.department',
      location: 'organizations.location',
      manager_email: 'relations.manager',
      employee_number: 'externalIds.organization',
      phone: 'phones.work',
    });
  });

  it('reads the primary organization and work phone where a user has several, and takes missing fields as empty', async () => {
    server.setUsers([
      {
        id: '7',
        primaryEmail: 'ada@example.com',
        name: { givenName: 'Ada' },
        organizations: [
          { title: 'Intern', department: 'Old' },
          { title: 'Engineer', department: 'R&D', primary: true },
        ],
        phones: [
          { value: '+1 555 0100', type: 'home' },
          { value: '+1 555 0101', type: 'work' },
          { value: '+1 555 0102', type: 'work', primary: true },
        ],
        relations: [{ value: 'boss@example.com', type: 'dotted_line_manager' }],
      },
    ]);
    const { records } = await load();
    expect(records[0]?.values).toMatchObject({
      'name.familyName': '',
      'organizations.title': 'Engineer',
      'organizations.department': 'R&D',
      'phones.work': '+1 555 0102',
      'relations.manager': '',
      'locations.area': '',
    });
  });

  it('leaves suspended and archived users out, and says how many in the origin', async () => {
    server.setUsers(
      Array.from({ length: 10 }, (_, i) => ({
        ...googleDirectoryUser(i + 1),
        suspended: i === 2 || i === 5,
        archived: i === 7,
      })),
    );
    const { records, table } = await load();
    expect(records.map((record) => record.values.primaryEmail)).toEqual(
      [1, 2, 4, 5, 7, 9, 10].map((n) => `user.${n}@example.com`),
    );
    // Numbered by their place in Google's listing, so a number names the same user whatever was left out.
    expect(records.map((record) => record.rowNumber)).toEqual([1, 2, 4, 5, 7, 9, 10]);
    expect(table.origin).toBe(
      'Google Workspace customer my_customer, 3 suspended or archived users left out',
    );
  });

  it('lists one domain, and only what a query matches, when the configuration says so', async () => {
    await load({ domain: 'example.com', query: "orgUnitPath='/Sales'" });
    expect(userRequests()[0]?.params).toEqual({
      domain: 'example.com',
      maxResults: '500',
      fields: expect.any(String),
      query: "orgUnitPath='/Sales'",
    });
  });

  it('tells the bytes received as each page arrives', async () => {
    const seen: number[] = [];
    await load({}, { onProgress: ({ bytes }) => seen.push(bytes) });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBeGreaterThan(USERS * 500);
  });

  it('refuses a loopback server that is not on the allow-list, before sending it anything', async () => {
    const error = await loadError({}, { allowList: parseAllowList(undefined) });
    expect(error.kind).toBe('SourceUnreachable');
    expect(error.message).toMatch(/^127\.0\.0\.1 is a private, loopback or link-local address/);
    expect(error.hint).toMatch(/CONNECTOR_ALLOWED_HOSTS/);
    expect(server.requests).toEqual([]);
  });

  it('says which setting names a host that does not resolve', async () => {
    const error = await loadError({ tokenUrl: 'https://oauth2.googleapis.invalid/token' });
    expect(error.kind).toBe('SourceUnreachable');
    expect(error.message).toMatch(
      /^Could not reach oauth2\.googleapis\.invalid: the host name could not be resolved \(\w+\)\.$/,
    );
    expect(error.hint).toMatch(/^Check tokenUrl in the configuration/);
    expect(error.transient).toBe(true);
  });

  it('does not follow a redirect, which could lead past the host guard, and says where it pointed', async () => {
    const redirecting = createServer((_request, response) => {
      response.writeHead(302, { location: 'http://169.254.169.254/computeMetadata/v1/' }).end();
    });
    redirecting.listen(0, '127.0.0.1');
    await once(redirecting, 'listening');
    try {
      const { port } = redirecting.address() as AddressInfo;
      const error = await loadError({ apiBaseUrl: `http://127.0.0.1:${port}` });
      expect(error.kind).toBe('BadResponse');
      expect(error.message).toBe(
        `127.0.0.1:${port} answered the users listing with a redirect (HTTP 302) to http://169.254.169.254/computeMetadata/v1/, which is not followed.`,
      );
      expect(error.hint).toBe(
        "Check apiBaseUrl in the configuration (Google's is https://admin.googleapis.com).",
      );
    } finally {
      redirecting.close();
    }
  });

  it('reads a private key pasted with the escaped line breaks of the JSON key file', async () => {
    const escaped = server.serviceAccount.privateKey.replaceAll('\n', '\\n');
    const { records } = await load({ privateKey: escaped });
    expect(records).toHaveLength(USERS);
  });

  it('refuses a private key that cannot be read, without quoting any of it', async () => {
    const mangled = server.serviceAccount.privateKey.replace(/[A-Za-z]{20}/, 'x');
    const error = await loadError({ privateKey: mangled });
    expect(error.kind).toBe('AuthFailed');
    expect(error.message).toBe('The configured private key is not an RSA private key that can be read.');
    expect(error.hint).toMatch(/private_key value of the service account's JSON key file/);
    expect(server.requests).toEqual([]);
  });

  it('stops reading when the run is aborted, with the abort reason', async () => {
    const controller = new AbortController();
    const table = await loadGoogleWorkspaceSource(settingsFor(server), {
      ...quick,
      signal: controller.signal,
    });
    const reason = new Error('cancel requested');
    await expect(
      (async () => {
        for await (const _batch of table.batches) controller.abort(reason);
      })(),
    ).rejects.toBe(reason);
    await table.close();
  });

  it('fails once the active users pass maxRows', async () => {
    const error = await loadError({ maxRows: 700 });
    expect(error.kind).toBe('SizeLimitExceeded');
    expect(error.message).toBe(
      'Google Workspace customer my_customer lists more than 700 active users, the limit for this configuration (maxRows).',
    );
    expect(error.hint).toMatch(/raise maxRows/);
  });

  it('fails once the responses pass maxBytes, counted across pages', async () => {
    const error = await loadError({ maxBytes: 600_000 });
    expect(error.kind).toBe('SizeLimitExceeded');
    expect(error.message).toBe(
      'Google Workspace customer my_customer sent more than 585.9 KB, the limit for this configuration (maxBytes).',
    );
    expect(error.hint).toMatch(/raise maxBytes/);
  });

  it('says so when the listing has no active user', async () => {
    server.setUsers([{ ...googleDirectoryUser(1), suspended: true }]);
    const error = await loadError({ query: 'isSuspended=true' });
    expect(error.kind).toBe('NoDataRows');
    expect(error.message).toBe(
      'Google Workspace customer my_customer (query isSuspended=true) lists no active users (1 suspended or archived user left out).',
    );
    expect(error.hint).toBe('Check customerId, domain and query (isSuspended=true): nothing was changed.');
  });
});

/** SHA-256 and size of these answers, one after the other. */
function digestOf(bodies: readonly string[]) {
  const hash = createHash('sha256');
  for (const body of bodies) hash.update(body);
  return {
    sha256: hash.digest('hex'),
    bytes: bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0),
  };
}

describe('the fingerprint of a Google Workspace listing', () => {
  it('is the SHA-256 of every users page as served, in order and over an empty page, with pages and records counted', async () => {
    const table = await loadGoogleWorkspaceSource(settingsFor(server), quick);
    expect(table.fingerprint()).toBeUndefined();
    await readAll(table);
    const pages = userRequests();
    expect(pages.map((request) => request.page)).toEqual([1, 2, 3, 4]);
    expect(table.fingerprint()).toEqual({
      connector: 'google-workspace',
      origin: `${server.apiBaseUrl}/admin/directory/v1/users?customer=my_customer`,
      ...digestOf(pages.map((request) => request.body!)),
      records: USERS,
      pages: 4,
      leftOutInactive: 0,
    });
  });

  it('counts the suspended and archived users left out, and names the domain listed but not the query', async () => {
    server.setUsers(
      Array.from({ length: 10 }, (_, i) => ({
        ...googleDirectoryUser(i + 1),
        suspended: i < 2,
        archived: i === 9,
      })),
    );
    const { table } = await load({ domain: 'example.com', query: "orgUnitPath='/Sales'" });
    expect(table.fingerprint()).toMatchObject({
      origin: `${server.apiBaseUrl}/admin/directory/v1/users?domain=example.com`,
      records: 7,
      pages: 1,
      leftOutInactive: 3,
    });
  });

  it('digests a page that broke off and was read again only as it finally came', async () => {
    server.fault({ kind: 'cut', page: 3, times: 1 });
    const { table } = await load();
    const pages = userRequests();
    expect(pages.map((request) => request.page)).toEqual([1, 2, 3, 3, 4]);
    // Each answer of page 3 gave its own next page token: only the second one was read.
    expect(pages[2]!.body).not.toBe(pages[3]!.body);
    expect(table.fingerprint()).toMatchObject({
      ...digestOf([pages[0]!, pages[1]!, pages[3]!, pages[4]!].map((request) => request.body!)),
      pages: 4,
    });
  });

  it('is known for a listing read to its end that has no active user, and unknown for one that broke off', async () => {
    server.setUsers([{ ...googleDirectoryUser(1), suspended: true }]);
    const empty = await loadGoogleWorkspaceSource(settingsFor(server), quick);
    await expect(readAll(empty)).rejects.toMatchObject({ kind: 'NoDataRows' });
    expect(empty.fingerprint()).toMatchObject({ records: 0, pages: 1, leftOutInactive: 1 });

    server.setUsers(USERS);
    server.fault({ kind: 'cut', page: 3 });
    const broken = await loadGoogleWorkspaceSource(settingsFor(server), { ...quick, attempts: 1 });
    await expect(readAll(broken)).rejects.toMatchObject({ kind: 'Interrupted' });
    expect(broken.fingerprint()).toBeUndefined();
  });
});

describe('loadGoogleWorkspaceSource retries', () => {
  it('waits out a 429 for as long as Retry-After says, not its own doubling delay', async () => {
    server.fault({ kind: 'status', status: 429, retryAfterSeconds: 0, times: 2 });
    const waits: number[] = [];
    const { records } = await load(
      {},
      { retryDelayMs: 60_000, onRetry: (_reason, _attempt, delay) => waits.push(delay) },
    );
    expect(records).toHaveLength(USERS);
    expect(waits).toEqual([0, 0]);
  });

  it('waits no longer than maxRetryDelayMs, whatever Retry-After asks', async () => {
    server.fault({ kind: 'status', status: 429, retryAfterSeconds: 120, times: 1 });
    const waits: number[] = [];
    const { records } = await load(
      {},
      { maxRetryDelayMs: 3, onRetry: (_reason, _attempt, delay) => waits.push(delay) },
    );
    expect(records).toHaveLength(USERS);
    expect(waits).toEqual([3]);
  });

  it('backs off from a 403 userRateLimitExceeded, doubling the wait, then reads on', async () => {
    server.fault({
      kind: 'status',
      status: 403,
      reason: 'userRateLimitExceeded',
      message: 'Rate Limit Exceeded',
      times: 2,
      page: 3,
    });
    const retries: [string, number, number][] = [];
    const { records } = await load({}, { retryDelayMs: 1, onRetry: (...retry) => retries.push(retry) });
    expect(records).toHaveLength(USERS);
    expect(retries).toEqual([
      ['HTTP 403 userRateLimitExceeded', 1, 1],
      ['HTTP 403 userRateLimitExceeded', 2, 2],
    ]);
  });

  it('leaves 5xx to the client library, which asks three more times', async () => {
    server.fault({ kind: 'status', status: 503, times: 3 });
    const retries: string[] = [];
    const { records } = await load({}, { onRetry: (reason) => retries.push(reason) });
    expect(records).toHaveLength(USERS);
    expect(retries).toEqual(['HTTP 503 backendError', 'HTTP 503 backendError', 'HTTP 503 backendError']);
  });

  it('reads a page again when its answer broke off midway', async () => {
    server.fault({ kind: 'cut', page: 3, times: 1 });
    const seen: number[] = [];
    const { records } = await load({}, { onProgress: ({ bytes }) => seen.push(bytes) });
    expect(records).toHaveLength(USERS);
    expect(userRequests().map((request) => request.page)).toEqual([1, 2, 3, 3, 4]);
  });
});

/** A fault, the error it must end the run with, and what the error log must say. */
interface FaultCase {
  name: string;
  fault?: GoogleDirectoryFault | GoogleDirectoryFault[];
  overrides?: Record<string, unknown>;
  /** A server of its own (e.g. a tenant without delegation). */
  server?: () => Promise<GoogleDirectoryServer>;
  kind: SourceError['kind'];
  transient: boolean;
  message: RegExp;
  hint: RegExp;
}

const FAULTS: FaultCase[] = [
  {
    name: 'a client ID without domain-wide delegation for the scope',
    server: () => startGoogleDirectoryServer({ admins: [ADMIN], users: 10, delegatedScopes: [] }),
    kind: 'AuthFailed',
    transient: false,
    message:
      /did not let the service account .* act for it-admin@example\.com: domain-wide delegation is not granted/,
    hint: /^Grant domain-wide delegation for this client ID and scope/,
  },
  {
    name: 'a key deleted in Google Cloud (bad signature)',
    fault: { kind: 'bad-signature' },
    kind: 'AuthFailed',
    transient: false,
    message: /^Google refused the private key of .*: "Invalid JWT Signature\."\.$/,
    hint: /create a new JSON key/,
  },
  {
    name: 'an administrator Google does not know',
    overrides: { adminEmail: 'nobody@example.com' },
    kind: 'AuthFailed',
    transient: false,
    message: /^Google does not know the administrator nobody@example\.com: "Invalid email or User ID"\.$/,
    hint: /existing, active administrator/,
  },
  {
    name: 'the token endpoint answering 503 every time',
    fault: { kind: 'status', status: 503, on: 'token' },
    kind: 'SourceUnreachable',
    transient: true,
    message: /^Google sign-in kept answering HTTP 503 temporarily_unavailable, also when asked again/,
    hint: /passing fault at Google/,
  },
  {
    name: 'a 401 from the Directory API',
    fault: { kind: 'status', status: 401 },
    kind: 'AuthFailed',
    transient: false,
    message:
      /^The Directory API refused the access token of .*: "Request had invalid authentication credentials/,
    hint: /domain-wide delegation .* includes https:\/\/www\.googleapis\.com\/auth\/admin\.directory\.user\.readonly/,
  },
  {
    name: 'a 403 for an administrator without the right to read users',
    fault: { kind: 'status', status: 403 },
    kind: 'AuthFailed',
    transient: false,
    message:
      /^Google refused it-admin@example\.com access to the users of customer my_customer: "Not Authorized to access this resource\/api"\.$/,
    hint: /Admin API privileges › Users › Read/,
  },
  {
    name: 'a 404 for an unknown domain',
    fault: { kind: 'status', status: 404 },
    kind: 'SourceNotFound',
    transient: false,
    message:
      /^Google found no users listing at 127\.0\.0\.1:\d+ for this account: "Resource Not Found: domain"\.$/,
    hint: /Check customerId/,
  },
  {
    name: '429 rateLimitExceeded on every try',
    fault: { kind: 'status', status: 429, retryAfterSeconds: 0 },
    kind: 'SourceUnreachable',
    transient: true,
    message:
      /^The Directory API kept answering HTTP 429 rateLimitExceeded, also when asked again: "Rate Limit Exceeded"\.$/,
    hint: /limiting requests .* the run is retried later/,
  },
  {
    name: '403 quotaExceeded on every try',
    fault: {
      kind: 'status',
      status: 403,
      reason: 'quotaExceeded',
      message: 'Quota exceeded for quota metric',
    },
    kind: 'SourceUnreachable',
    transient: true,
    message: /kept answering HTTP 403 quotaExceeded, also when asked again/,
    hint: /limiting requests/,
  },
  {
    name: '500 on every try',
    fault: { kind: 'status', status: 500 },
    kind: 'SourceUnreachable',
    transient: true,
    message:
      /^The Directory API kept answering HTTP 500 backendError, also when asked again: "Internal error encountered\."\.$/,
    hint: /passing fault at Google/,
  },
  {
    name: 'page 3 failing with 503 backendError every time',
    fault: { kind: 'status', status: 503, page: 3 },
    kind: 'SourceUnreachable',
    transient: true,
    message: /kept answering HTTP 503 backendError/,
    hint: /the run is retried later/,
  },
  {
    name: 'a server that does not answer within timeoutMs',
    fault: { kind: 'slow', delayMs: 60_000 },
    overrides: { timeoutMs: 1000 },
    kind: 'SourceUnreachable',
    transient: true,
    message: /^Could not reach 127\.0\.0\.1:\d+: no answer within one second\.$/,
    hint: /Check apiBaseUrl/,
  },
  {
    name: 'a page that stalls midway',
    fault: { kind: 'slow', delayMs: 60_000, stage: 'body', page: 2 },
    overrides: { timeoutMs: 1000 },
    kind: 'Interrupted',
    transient: true,
    message:
      /^Page 2 of the Google Workspace user listing stalled after \d+ bytes \(no complete answer within one second\)\.$/,
    hint: /passing network problem/,
  },
  {
    name: 'every answer to page 1 cut midway',
    fault: { kind: 'cut', page: 1 },
    kind: 'Interrupted',
    transient: true,
    message: /^Page 1 of the Google Workspace user listing broke off after [\d.]+ KB\.$/,
    hint: /passing network problem/,
  },
  {
    name: 'an HTML sign-in page with status 200',
    fault: { kind: 'html' },
    kind: 'BadResponse',
    transient: false,
    message:
      /^Page 1 of the Google Workspace user listing is not the Directory API's JSON \(text\/html; charset=utf-8\): "Sign in - Google Accounts"\.$/,
    hint: /Check apiBaseUrl/,
  },
  {
    name: 'a nextPageToken repeated',
    fault: { kind: 'repeat-page-token', page: 3 },
    kind: 'BadResponse',
    transient: false,
    message: /page 3 of the user listing pointed back to a page already read/,
    hint: /run the sync again/,
  },
];

describe('Google Workspace runs, as the worker runs them', () => {
  let database: MigratedTestOrm;
  let orm: Orm;
  const secretKey = parseSecretKey(generateSecretKey());
  let organisationId: string;

  beforeAll(async () => {
    database = await createMigratedTestOrm('google_workspace_connector');
    orm = database.orm;
    organisationId = await createTestOrganisation(orm, 'Acme');
  });

  afterAll(async () => {
    await database?.close();
  });

  async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    return orm.em.getConnection().execute<T[]>(text, params);
  }

  let configurations = 0;
  /** A configuration of the server's tenant. */
  async function syncedConfiguration(target: GoogleDirectoryServer) {
    configurations += 1;
    // Users of earlier tests belong to other configurations: each test starts from an empty directory.
    await sql('delete from directory_user');
    const configuration = await createConfiguration(
      orm.em.fork(),
      organisationId,
      { name: `Google ${configurations}`, connector: 'google-workspace', settings: settingsFor(target) },
      secretKey,
    );
    return configuration;
  }

  /** Runs the configuration through runSync as the worker would, keeping the SourceError the connector threw. */
  async function run(configurationId: string, overrides: Record<string, unknown> = {}) {
    let thrown: unknown;
    const runId = await queueRunRow(orm, organisationId, configurationId);
    const result = await runSync(runId, {
      orm,
      secretKey,
      load: async (configuration, options) => {
        const stored = connectorSettings(
          configuration as typeof configuration & { connector: 'google-workspace' },
          secretKey,
        );
        const settings = GoogleWorkspaceSettingsSchema.parse({ ...stored, ...overrides });
        try {
          const table = await loadGoogleWorkspaceSource(settings, { ...options, ...quick });
          return {
            get origin() {
              return table.origin;
            },
            headers: table.headers,
            defaultColumns: table.defaultColumns,
            close: table.close,
            fingerprint: table.fingerprint,
            batches: (async function* () {
              try {
                yield* table.batches;
              } catch (error) {
                thrown = error;
                throw error;
              }
            })(),
          };
        } catch (error) {
          thrown = error;
          throw error;
        }
      },
    });
    const log = await sql<{ action: string; message: string; hint: string }>(
      'select action, message, hint from sync_log where run_id = ?',
      [runId],
    );
    return { result, log, thrown };
  }

  const directory = () =>
    sql('select external_id, email, first_name, department, status from directory_user order by external_id');

  it.each(FAULTS)(
    'ends Data Load Failed on $name, saying what to do, with the directory unchanged',
    async (fault) => {
      const target = fault.server ? await fault.server() : server;
      try {
        const configuration = await syncedConfiguration(target);
        const first = await run(configuration.id);
        if (!fault.server) expect(first.result).toEqual({ status: 'success' });
        const before = await directory();

        for (const each of [fault.fault ?? []].flat()) target.fault(each);
        const { result, log, thrown } = await run(configuration.id, fault.overrides);
        expect(result).toEqual({ status: 'data_load_failed' });
        expect(thrown).toBeInstanceOf(SourceError);
        expect((thrown as SourceError).kind).toBe(fault.kind);
        expect((thrown as SourceError).transient).toBe(fault.transient);
        expect(log).toEqual([
          {
            action: 'error',
            message: expect.stringMatching(fault.message),
            hint: expect.stringMatching(fault.hint),
          },
        ]);
        // Nothing of the sign-in may reach the log: no assertion, no access token, no key.
        expect(JSON.stringify(log)).not.toMatch(/eyJ|ya29\.|PRIVATE KEY/);
        expect(await directory()).toEqual(before);
      } finally {
        if (fault.server) await target.stop();
      }
    },
  );

  it('stores what the run read with its final status: Success, and Data Load Failed when no user is active', async () => {
    server.setUsers(30);
    const configuration = await syncedConfiguration(server);
    const source = async () => {
      const [row] = await sql<{ source: unknown }>(
        'select source from sync_run where configuration_id = ? order by queued_at desc limit 1',
        [configuration.id],
      );
      return row?.source;
    };
    expect((await run(configuration.id)).result).toEqual({ status: 'success' });
    expect(await source()).toEqual({
      connector: 'google-workspace',
      origin: `${server.apiBaseUrl}/admin/directory/v1/users?customer=my_customer`,
      ...digestOf(userRequests().map((request) => request.body!)),
      records: 30,
      pages: 1,
      leftOutInactive: 0,
    });

    server.requests.length = 0;
    server.setUsers(Array.from({ length: 3 }, (_, i) => ({ ...googleDirectoryUser(i + 1), archived: true })));
    expect((await run(configuration.id)).result).toEqual({ status: 'data_load_failed' });
    expect(await source()).toMatchObject({
      ...digestOf(userRequests().map((request) => request.body!)),
      records: 0,
      leftOutInactive: 3,
    });

    server.setUsers(USERS);
    server.fault({ kind: 'cut', page: 3 });
    expect((await run(configuration.id)).result).toEqual({ status: 'data_load_failed' });
    expect(await source()).toBeNull();
  });

  it('deactivates users once Google lists them suspended', async () => {
    server.setUsers(20);
    const configuration = await syncedConfiguration(server);
    await run(configuration.id);
    server.setUsers(
      Array.from({ length: 20 }, (_, i) => ({ ...googleDirectoryUser(i + 1), suspended: i >= 18 })),
    );
    expect((await run(configuration.id)).result).toEqual({ status: 'success' });
    const users = await sql<{ email: string; status: string }>(
      "select email, status from directory_user where managed_by_id = ? and status = 'deactivated' order by email",
      [configuration.id],
    );
    expect(users.map((user) => user.email)).toEqual(['user.19@example.com', 'user.20@example.com']);
  });
});
