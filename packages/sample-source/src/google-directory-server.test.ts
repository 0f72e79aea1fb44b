import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIRECTORY_USER_READONLY_SCOPE,
  GOOGLE_TOKEN_AUDIENCE,
  type GoogleDirectoryServer,
  startGoogleDirectoryServer,
} from './google-directory-server.ts';

const ADMIN = 'admin@example.com';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let server: GoogleDirectoryServer;

beforeAll(async () => {
  server = await startGoogleDirectoryServer({ admins: [ADMIN], users: 7, pageSize: 3 });
});

afterAll(async () => {
  await server?.stop();
});

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RS256 assertion as gtoken builds it, with any claim replaced. */
function assertion(
  claims: Record<string, unknown> = {},
  key: string | KeyObject = server.serviceAccount.privateKey,
): string {
  const iat = Math.floor(Date.now() / 1000);
  const body = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({
    iss: server.serviceAccount.clientEmail,
    scope: DIRECTORY_USER_READONLY_SCOPE,
    aud: GOOGLE_TOKEN_AUDIENCE,
    iat,
    exp: iat + 3600,
    sub: ADMIN,
    ...claims,
  })}`;
  return `${body}.${sign('RSA-SHA256', Buffer.from(body), key).toString('base64url')}`;
}

async function token(signed: string, grantType = JWT_BEARER) {
  const response = await fetch(server.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: grantType, assertion: signed }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** What the tests read of a users.list answer or its error. */
interface UsersAnswer {
  kind?: string;
  users: { primaryEmail: string }[];
  nextPageToken?: string;
  error: { message: string; errors: { reason: string }[] };
}

async function list(accessToken: string | undefined, params: Record<string, string>) {
  const response = await fetch(
    `${server.apiBaseUrl}/admin/directory/v1/users?${new URLSearchParams(params)}`,
    {
      headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
    },
  );
  return { status: response.status, body: (await response.json()) as UsersAnswer };
}

describe('the token endpoint', () => {
  it('issues an opaque bearer token for a well-signed assertion impersonating an administrator', async () => {
    const { status, body } = await token(assertion());
    expect(status).toBe(200);
    expect(body).toEqual({
      access_token: expect.stringMatching(/^ya29\./),
      expires_in: 3599,
      token_type: 'Bearer',
    });
  });

  it.each([
    [
      'a signature by another key',
      () => assertion({}, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
      400,
      'invalid_grant',
      'Invalid JWT Signature.',
    ],
    [
      'another audience',
      () => assertion({ aud: 'https://evil.example/token' }),
      400,
      'invalid_grant',
      'Invalid JWT: Failed audience check.',
    ],
    [
      'an expired assertion',
      () => assertion({ iat: 1_000_000, exp: 1_003_600 }),
      400,
      'invalid_grant',
      expect.stringMatching(/short-lived token/),
    ],
    [
      'a lifetime over an hour',
      () => assertion({ exp: Math.floor(Date.now() / 1000) + 7200 }),
      400,
      'invalid_grant',
      expect.stringMatching(/short-lived token/),
    ],
    [
      'a scope not delegated',
      () => assertion({ scope: 'https://www.googleapis.com/auth/admin.directory.group' }),
      401,
      'unauthorized_client',
      expect.stringMatching(/not authorized for any of the scopes/),
    ],
    [
      'a subject that is no administrator',
      () => assertion({ sub: 'someone@example.com' }),
      400,
      'invalid_grant',
      'Invalid email or User ID',
    ],
    [
      'an unknown service account',
      () => assertion({ iss: 'other@acme.iam.gserviceaccount.com' }),
      401,
      'invalid_client',
      'The OAuth client was not found.',
    ],
    ['a token that is no JWT', () => 'not-a-jwt', 400, 'invalid_grant', 'Invalid JWT: malformed.'],
  ])('refuses %s', async (_what, signed, status, error, description) => {
    expect(await token(signed())).toEqual({ status, body: { error, error_description: description } });
  });

  it('refuses another grant type', async () => {
    expect((await token(assertion(), 'client_credentials')).body.error).toBe('unsupported_grant_type');
  });
});

describe('users.list', () => {
  let accessToken: string;
  beforeAll(async () => {
    accessToken = (await token(assertion())).body.access_token as string;
  });

  it('pages through the users with opaque page tokens, the last page without one', async () => {
    const emails: string[] = [];
    let pageToken: string | undefined;
    do {
      const { status, body } = await list(accessToken, {
        customer: 'my_customer',
        maxResults: '500',
        ...(pageToken ? { pageToken } : {}),
      });
      expect(status).toBe(200);
      expect(body.kind).toBe('admin#directory#users');
      emails.push(...body.users.map((user) => user.primaryEmail));
      pageToken = body.nextPageToken;
    } while (pageToken);
    expect(emails).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `user.${n}@example.com`));
  });

  it('sends only the fields asked for, in every user alike, and refuses a malformed selection', async () => {
    const { body } = await list(accessToken, {
      customer: 'my_customer',
      fields: 'nextPageToken,users(primaryEmail,name(givenName),organizations(title))',
    });
    expect(Object.keys(body).sort()).toEqual(['nextPageToken', 'users']);
    expect(body.users[0]).toEqual({
      primaryEmail: 'user.1@example.com',
      name: { givenName: expect.any(String) },
      organizations: [{ title: expect.any(String) }],
    });
    expect((await list(accessToken, { customer: 'my_customer', fields: 'users(id' })).status).toBe(400);
  });

  it('refuses a request without a valid bearer token', async () => {
    const { status, body } = await list('ya29.forged', { customer: 'my_customer' });
    expect(status).toBe(401);
    expect(body.error.errors[0]?.reason).toBe('authError');
    expect((await list(undefined, { customer: 'my_customer' })).status).toBe(401);
  });

  it('refuses maxResults above 500, an unknown page token, and a listing without customer or domain', async () => {
    const tooMany = await list(accessToken, { customer: 'my_customer', maxResults: '501' });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toBe("Invalid value '501'. Values must be within the range: [1, 500]");
    expect((await list(accessToken, { customer: 'my_customer', pageToken: 'made-up' })).status).toBe(400);
    expect((await list(accessToken, {})).status).toBe(400);
  });

  it('answers a domain outside the tenant with 403', async () => {
    const { status, body } = await list(accessToken, { domain: 'elsewhere.example' });
    expect(status).toBe(403);
    expect(body.error.message).toBe('Not Authorized to access this resource/api');
  });

  it('applies a status fault the given number of times, with Retry-After', async () => {
    server.fault({ kind: 'status', status: 429, retryAfterSeconds: 3, times: 1 });
    const response = await fetch(`${server.apiBaseUrl}/admin/directory/v1/users?customer=my_customer`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect((await list(accessToken, { customer: 'my_customer' })).status).toBe(200);
    server.clearFaults();
  });
});
