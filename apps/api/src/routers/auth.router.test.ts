import { createHash } from 'node:crypto';
import { revokeSessionsOf, sql } from '@provisioning/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  createApiHarness,
  createApiOrm,
  PASSWORD,
  seedOrganisation,
  type TestOrganisation,
} from '../api-harness.test-support.ts';
import { LoginRateLimiter } from '../login-rate-limit.ts';

let harness: ApiHarness;
let acme: TestOrganisation;

beforeAll(async () => {
  harness = await createApiHarness('api_auth');
  acme = await seedOrganisation(harness.owner, { name: 'Acme', timeZone: 'Europe/London' });
});

afterAll(async () => {
  await harness.close();
});

function setCookieOf(response: Response): string {
  return response.headers.get('set-cookie') ?? '';
}

describe('sign-in', () => {
  it('signs in with email and password and tells the page who is signed in', async () => {
    const browser = apiClient(harness.appOrm).browser();
    expect((await browser.query('auth.me')).body.result?.data).toBeNull();
    const signIn = await browser.signIn(acme.accounts['people-admin']);
    const me = signIn.body.result?.data as { account: { email: string }; roles: string[] };
    expect(me.account.email).toBe(acme.accounts['people-admin']);
    expect(me.roles).toEqual(['people-admin']);
    const again = await browser.query('auth.me');
    expect(again.body.result?.data).toEqual(me);
  });

  it('sets an httpOnly, SameSite=Lax cookie, Secure everywhere but loopback', async () => {
    const { app } = apiClient(harness.appOrm);
    const body = JSON.stringify({ email: acme.accounts['org-admin'], password: PASSWORD });
    const local = await app.request('http://localhost/trpc/auth.signIn', {
      method: 'POST',
      headers: { host: 'localhost', origin: 'http://localhost', 'content-type': 'application/json' },
      body,
    });
    expect(local.status).toBe(200);
    expect(setCookieOf(local)).toMatch(/^provisioning_session=[\w-]{43}; /);
    expect(setCookieOf(local)).toMatch(/HttpOnly/);
    expect(setCookieOf(local)).toMatch(/SameSite=Lax/);
    expect(setCookieOf(local)).toMatch(/Path=\//);
    expect(setCookieOf(local)).not.toMatch(/Secure/);

    const remote = await app.request('http://admin.example.com/trpc/auth.signIn', {
      method: 'POST',
      headers: {
        host: 'admin.example.com',
        origin: 'https://admin.example.com',
        'content-type': 'application/json',
      },
      body,
    });
    expect(remote.status).toBe(200);
    expect(setCookieOf(remote)).toMatch(/Secure/);
  });

  it('matches the email case-insensitively and ignores surrounding spaces', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(`  ${acme.accounts['org-admin'].toUpperCase()} `);
    expect((await browser.query('auth.me')).body.result?.data).not.toBeNull();
  });

  it('gives the same answer for a wrong password and an unknown email, and no cookie', async () => {
    const browser = apiClient(harness.appOrm).browser();
    const wrong = await browser.mutate('auth.signIn', {
      email: acme.accounts['org-admin'],
      password: 'not the password',
    });
    const unknown = await browser.mutate('auth.signIn', { email: 'nobody@acme.example', password: PASSWORD });
    for (const result of [wrong, unknown]) {
      expect(result.status).toBe(401);
      expect(result.body.error?.message).toBe('The email or password is incorrect.');
    }
    expect(browser.cookie).toBeNull();
  });

  it('refuses malformed sign-in input with field errors, never a 500', async () => {
    const browser = apiClient(harness.appOrm).browser();
    const cases: [unknown, string][] = [
      [{ email: '', password: '' }, 'email'],
      [{ email: 'a@b.example' }, 'password'],
      [{ email: 'a@b.example', password: 'x'.repeat(2000) }, 'password'],
      [{ email: `${'a'.repeat(300)}@b.example`, password: 'x' }, 'email'],
      [{ email: 'a@b.example', password: 'x', admin: true }, '(root)'],
      [{ email: ['a@b.example'], password: 'x' }, 'email'],
      ['just a string', '(root)'],
    ];
    for (const [input, field] of cases) {
      const result = await browser.mutate('auth.signIn', input);
      expect(result.status, JSON.stringify(input)).toBe(400);
      expect(Object.keys(result.body.error?.data.fieldErrors ?? {})).toContain(field);
    }
  });

  it('refuses a NUL or another control character in the email with a 400 naming the field, never a 500', async () => {
    const browser = apiClient(harness.appOrm).browser();
    for (const email of ['a\u0000@b.example', `${acme.accounts['org-admin']}\u0000`, 'a\n@b.example']) {
      const result = await browser.mutate('auth.signIn', { email, password: PASSWORD });
      expect(result.status, JSON.stringify(email)).toBe(400);
      expect(result.body.error?.data.fieldErrors?.email?.[0]).toMatch(/control characters/);
    }
    expect(browser.cookie).toBeNull();
  });

  it('refuses a password with a NUL in it with a 400 that says nothing about the account, so "password\\0" never signs in as "password"', async () => {
    const browser = apiClient(harness.appOrm).browser();
    const answers = [];
    for (const email of [acme.accounts['org-admin'], 'nobody@acme.example']) {
      for (const password of [`${PASSWORD}\u0000`, `${PASSWORD}\u0000\u0000`, `\u0000${PASSWORD}`]) {
        const result = await browser.mutate('auth.signIn', { email, password });
        expect(result.status).toBe(400);
        answers.push(result.body.error?.data.fieldErrors);
      }
    }
    expect(browser.cookie).toBeNull();
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0]).toEqual({ password: [expect.stringMatching(/password/i)] });
  });

  it('answers malformed JSON and oversized bodies with a client error', async () => {
    const browser = apiClient(harness.appOrm).browser();
    const malformed = await browser.request('/trpc/auth.signIn', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost' },
      body: '{"email": ',
    });
    expect(malformed.status).toBe(400);
    const oversized = await browser.request('/trpc/auth.signIn', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost' },
      body: JSON.stringify({ email: 'a@b.example', password: 'x'.repeat(200_000) }),
    });
    expect(oversized.status).toBe(413);
    expect(await oversized.json()).toEqual({ error: 'The request body is larger than 64 KB.' });
  });
});

describe('sessions', () => {
  it('signs out: the session no longer works, even with the old cookie replayed', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    const oldCookie = browser.cookie!;
    const signOut = await browser.mutate('auth.signOut');
    expect(signOut.status).toBe(200);
    expect(browser.cookie).toBeNull();
    const replay = apiClient(harness.appOrm).app;
    const response = await replay.request('http://localhost/trpc/auth.me', {
      headers: { host: 'localhost', cookie: oldCookie },
    });
    expect(((await response.json()) as { result: { data: unknown } }).result.data).toBeNull();
    // The dead cookie is removed from the browser.
    expect(setCookieOf(response)).toMatch(/^provisioning_session=; Max-Age=0/);
  });

  it('revokes the earlier session of a browser that signs in again', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    const earlier = browser.cookie!;
    await browser.signIn(acme.accounts['people-admin']);
    expect(browser.cookie).not.toBe(earlier);
    const me = (await browser.query('auth.me')).body.result?.data as { account: { email: string } };
    expect(me.account.email).toBe(acme.accounts['people-admin']);
    const replay = await apiClient(harness.appOrm).app.request('http://localhost/trpc/auth.me', {
      headers: { host: 'localhost', cookie: earlier },
    });
    expect(((await replay.json()) as { result: { data: unknown } }).result.data).toBeNull();
  });

  it('ends sessions past their expiry', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    await harness.owner.em
      .fork()
      .execute(`update session set expires_at = now() - interval '1 second' where revoked_at is null`);
    expect((await browser.query('auth.me')).body.result?.data).toBeNull();
    expect((await browser.query('runs.list', {})).status).toBe(401);
  });

  it('ends sessions past the maximum age even when they stay active', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    await harness.owner.em
      .fork()
      .execute(`update session set created_at = now() - interval '8 days' where revoked_at is null`);
    expect((await browser.query('auth.me')).body.result?.data).toBeNull();
  });

  it('revokes every session of an account at once', async () => {
    const first = apiClient(harness.appOrm).browser();
    const second = apiClient(harness.appOrm).browser();
    await first.signIn(acme.accounts['people-admin']);
    await second.signIn(acme.accounts['people-admin']);
    const [account] = await harness.owner.em
      .fork()
      .execute<{ id: string }[]>('select id from account where email = ?', [acme.accounts['people-admin']]);
    expect(await revokeSessionsOf(harness.owner.em.fork(), account!.id)).toBeGreaterThanOrEqual(2);
    expect((await first.query('auth.me')).body.result?.data).toBeNull();
    expect((await second.query('auth.me')).body.result?.data).toBeNull();
  });

  it('stores only a hash of the session token', async () => {
    const browser = apiClient(harness.appOrm).browser();
    await browser.signIn(acme.accounts['org-admin']);
    const token = browser.cookie!.split('=')[1]!;
    const rows = await harness.owner.em
      .fork()
      .execute<{ n: string }[]>(
        `select count(*) as n from session where token_hash = ? or token_hash like ?`,
        [token, `%${token}%`],
      );
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('ignores a garbage or overlong cookie', async () => {
    const { app } = apiClient(harness.appOrm);
    for (const cookie of [
      'provisioning_session=x',
      `provisioning_session=${'a'.repeat(5000)}`,
      'provisioning_session=%00',
    ]) {
      const response = await app.request('http://localhost/trpc/auth.me', {
        headers: { host: 'localhost', cookie },
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { result: { data: unknown } }).result.data).toBeNull();
    }
  });
});

describe('sign-in rate limits', () => {
  it('refuses an account after repeated failures, even with the right password, until the window ends', async () => {
    let now = Date.now();
    const limiter = new LoginRateLimiter({
      maxFailuresPerAccount: 3,
      maxFailuresPerAddress: 100,
      now: () => now,
    });
    const browser = apiClient(harness.appOrm, { loginLimiter: limiter }).browser();
    const email = acme.accounts['group-admin'];
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await browser.mutate('auth.signIn', { email, password: 'wrong' })).status).toBe(401);
    }
    const blocked = await browser.mutate('auth.signIn', { email: email.toUpperCase(), password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error?.message).toMatch(/Too many sign-in attempts. Try again in 15 minute/);
    // The window's end, as a client or proxy reads it.
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
    now += 15 * 60 * 1000;
    expect((await browser.mutate('auth.signIn', { email, password: PASSWORD })).status).toBe(200);
  });

  it('refuses one client address after failures across many accounts', async () => {
    const limiter = new LoginRateLimiter({ maxFailuresPerAccount: 100, maxFailuresPerAddress: 4 });
    // An address of this test's own: the counts live in the database, shared by every test of the file.
    const browser = apiClient(harness.appOrm, { loginLimiter: limiter, trustProxy: true }).browser();
    const headers = { 'x-forwarded-for': '198.51.100.4' };
    for (let attempt = 0; attempt < 4; attempt++) {
      const result = await browser.mutate(
        'auth.signIn',
        { email: `guess${attempt}@acme.example`, password: 'x' },
        headers,
      );
      expect(result.status).toBe(401);
    }
    const blocked = await browser.mutate(
      'auth.signIn',
      { email: acme.accounts['org-admin'], password: PASSWORD },
      headers,
    );
    expect(blocked.status).toBe(429);
  });

  it('checks at most 5 of 60 parallel wrong guesses at one account, then refuses the right password', async () => {
    const { accounts } = await seedOrganisation(harness.owner, { name: 'Guessed', roles: ['org-admin'] });
    const email = accounts['org-admin'];
    const browser = apiClient(harness.appOrm, {
      loginLimiter: new LoginRateLimiter(),
      trustProxy: true,
    }).browser();
    const headers = { 'x-forwarded-for': '198.51.100.60' };
    const guesses = await Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        browser.mutate('auth.signIn', { email, password: `guess ${index}` }, headers),
      ),
    );
    const statuses = guesses.map((guess) => guess.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(55);
    const right = await browser.mutate('auth.signIn', { email, password: PASSWORD }, headers);
    expect(right.status).toBe(429);
    expect(browser.cookie).toBeNull();
  }, 120_000);

  it('checks at most 30 of 100 parallel failures from one address', async () => {
    const browser = apiClient(harness.appOrm, {
      loginLimiter: new LoginRateLimiter(),
      trustProxy: true,
    }).browser();
    const headers = { 'x-forwarded-for': '198.51.100.100' };
    const failures = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        browser.mutate('auth.signIn', { email: `flood${index}@acme.example`, password: 'x' }, headers),
      ),
    );
    const statuses = failures.map((failure) => failure.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(30);
    expect(statuses.filter((status) => status === 429)).toHaveLength(70);
    const right = await browser.mutate(
      'auth.signIn',
      { email: acme.accounts['org-admin'], password: PASSWORD },
      headers,
    );
    expect(right.status).toBe(429);
  }, 120_000);

  it('shares the limits between two API replicas on the same database', async () => {
    const { accounts } = await seedOrganisation(harness.owner, { name: 'Replicated', roles: ['org-admin'] });
    const email = accounts['org-admin'];
    const otherOrm = await createApiOrm(harness.database);
    try {
      const first = apiClient(harness.appOrm, { loginLimiter: new LoginRateLimiter() }).browser();
      const second = apiClient(otherOrm, { loginLimiter: new LoginRateLimiter() }).browser();
      for (const browser of [first, first, first, second, second]) {
        expect((await browser.mutate('auth.signIn', { email, password: 'wrong' })).status).toBe(401);
      }
      for (const browser of [first, second]) {
        expect((await browser.mutate('auth.signIn', { email, password: PASSWORD })).status).toBe(429);
      }
    } finally {
      await otherOrm.close(true);
    }
  });

  it('forgets the account count after a success, and does not charge the address for it', async () => {
    const limiter = new LoginRateLimiter({ maxFailuresPerAccount: 2, maxFailuresPerAddress: 2 });
    const em = harness.appOrm.em.fork();
    const [email, address] = ['forget@acme.example', '198.51.100.200'];
    expect((await limiter.attempt(em, email, address)).allowed).toBe(true);
    const success = await limiter.attempt(em, email.toUpperCase(), address);
    if (!success.allowed) throw new Error('the second attempt was refused');
    await limiter.recordSuccess(em, email.toUpperCase(), success.counted);
    // The account starts afresh; the address holds the one failure only.
    expect((await limiter.attempt(em, email, '198.51.100.201')).allowed).toBe(true);
    expect((await limiter.attempt(em, 'other@acme.example', address)).allowed).toBe(true);
    expect((await limiter.attempt(em, 'third@acme.example', address)).allowed).toBe(false);
  });

  it('deletes ended windows, so a flood of distinct emails does not grow the table for ever', async () => {
    let now = Date.now();
    const limiter = new LoginRateLimiter({ maxFailuresPerAddress: 1_000_000, now: () => now });
    const em = harness.appOrm.em.fork();
    for (let index = 0; index < 50; index++)
      await limiter.attempt(em, `flood-${index}@x.example`, '10.0.0.1');
    // Keys hold the email's hash, never the email.
    const floodKeys = Array.from(
      { length: 50 },
      (_, index) => `account:${createHash('sha256').update(`flood-${index}@x.example`).digest('hex')}`,
    );
    const floodRows = async () => {
      const [row] = await sql<{ n: number }>(
        harness.owner.em.fork(),
        'select count(*)::int as n from sign_in_attempt where key = any(?::text[])',
        [floodKeys],
      );
      return row!.n;
    };
    const [withEmail] = await harness.owner.em
      .fork()
      .execute<{ n: number }[]>(`select count(*)::int as n from sign_in_attempt where key like '%flood%'`);
    expect(withEmail!.n).toBe(0);
    expect(await floodRows()).toBe(50);
    now += 15 * 60 * 1000;
    await limiter.attempt(em, 'after@x.example', '10.0.0.1');
    expect(await floodRows()).toBe(0);
  });
});

describe('the client address behind a proxy', () => {
  async function lastSessionAddress(email: string): Promise<string | null> {
    const [row] = await harness.owner.em.fork().execute<{ ip_address: string | null }[]>(
      `select s.ip_address from session s join account a on a.id = s.account_id
       where a.email = ? order by s.created_at desc limit 1`,
      [email],
    );
    return row?.ip_address ?? null;
  }

  it('takes the address the trusted proxy appended, never one the client put first in X-Forwarded-For', async () => {
    const browser = apiClient(harness.appOrm, { trustProxy: true }).browser();
    const email = acme.accounts['content-creator'];
    await browser.mutate(
      'auth.signIn',
      { email, password: PASSWORD },
      { 'x-forwarded-for': '192.0.2.66, 203.0.113.7' },
    );
    expect(await lastSessionAddress(email)).toBe('203.0.113.7');
  });

  it('skips as many trusted proxies as it is told there are', async () => {
    const browser = apiClient(harness.appOrm, { trustProxy: true, trustedProxyHops: 2 }).browser();
    const email = acme.accounts['content-moderator'];
    await browser.mutate(
      'auth.signIn',
      { email, password: PASSWORD },
      { 'x-forwarded-for': '192.0.2.66, 203.0.113.8, 10.0.0.2' },
    );
    expect(await lastSessionAddress(email)).toBe('203.0.113.8');
  });

  it('keeps counting one address however the client varies the entries it sends itself', async () => {
    const limiter = new LoginRateLimiter({ maxFailuresPerAccount: 1000, maxFailuresPerAddress: 3 });
    const browser = apiClient(harness.appOrm, { loginLimiter: limiter, trustProxy: true }).browser();
    const attempt = (spoofed: string) =>
      browser.mutate(
        'auth.signIn',
        { email: `spoof-${spoofed}@acme.example`, password: 'x' },
        { 'x-forwarded-for': `${spoofed}, 203.0.113.9` },
      );
    for (const spoofed of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      expect((await attempt(spoofed)).status).toBe(401);
    }
    expect((await attempt('192.0.2.4')).status).toBe(429);
  });
});

describe('cross-site requests', () => {
  const signInBody = () => JSON.stringify({ email: acme.accounts['org-admin'], password: PASSWORD });

  it('refuses a mutation whose Origin is another site', async () => {
    const browser = apiClient(harness.appOrm).browser();
    const response = await browser.request('/trpc/auth.signIn', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      body: signInBody(),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toMatch(/Cross-site request refused/);
    expect(browser.cookie).toBeNull();
  });

  it('refuses a cross-site browser request that hides its Origin', async () => {
    const browser = apiClient(harness.appOrm).browser();
    const response = await browser.request('/trpc/auth.signOut', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
    });
    expect(response.status).toBe(403);
  });

  it('accepts the same origin, a trusted origin, and non-browser clients', async () => {
    const { app } = apiClient(harness.appOrm);
    const post = (headers: Record<string, string>) =>
      app.request('http://localhost/trpc/auth.signIn', {
        method: 'POST',
        headers: { host: 'localhost', 'content-type': 'application/json', ...headers },
        body: signInBody(),
      });
    expect((await post({ origin: 'http://localhost' })).status).toBe(200);
    expect((await post({})).status).toBe(200);
    expect((await post({ origin: 'http://localhost.evil.example' })).status).toBe(403);
    expect((await post({ origin: 'https://admin.example.com' })).status).toBe(403);
    const trusting = apiClient(harness.appOrm, { trustedOrigins: ['https://admin.example.com'] }).app;
    const trusted = await trusting.request('http://localhost/trpc/auth.signIn', {
      method: 'POST',
      headers: { host: 'localhost', 'content-type': 'application/json', origin: 'https://admin.example.com' },
      body: signInBody(),
    });
    expect(trusted.status).toBe(200);
  });
});
