import { ROLES, type Role } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  createApiHarness,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
  sseEvents,
  type TestOrganisation,
} from './api-harness.test-support.ts';

/**
 * The allow/deny matrix of DESIGN.md, written out here rather than computed from the permission table:
 * viewing runs and downloading logs need Organisation Admin or People Admin, provisioning enabled and
 * the User Sync Service. Every procedure and download is called as every kind of caller.
 */
const ALLOWED_ROLES: readonly Role[] = ['org-admin', 'people-admin'];

type Outcome =
  | { status: 200 }
  | { status: 401 }
  | { status: 403; reason: 'no-permission' | 'provisioning-disabled' | 'legacy-sync-service' }
  | { status: 404 };

let harness: ApiHarness;
let acme: TestOrganisation;
let other: TestOrganisation;
let disabled: TestOrganisation;
let legacy: TestOrganisation;
let acmeRun: string;
let acmeConfiguration: string;

beforeAll(async () => {
  harness = await createApiHarness('api_access');
  acme = await seedOrganisation(harness.owner, { name: 'Acme' });
  other = await seedOrganisation(harness.owner, { name: 'Other' });
  disabled = await seedOrganisation(harness.owner, { name: 'Disabled', provisioningEnabled: false });
  legacy = await seedOrganisation(harness.owner, { name: 'Legacy', syncService: 'legacy' });
  acmeConfiguration = await seedConfiguration(harness.owner, acme.id, 'Acme HR');
  acmeRun = await seedRun(harness.owner, {
    organisationId: acme.id,
    configurationId: acmeConfiguration,
    status: 'success',
    queuedAt: '2024-01-15T22:30:00Z',
  });
  await seedLog(harness.owner, acmeRun, [
    { rowNumber: 2, email: 'ada@acme.example', name: 'Ada', action: 'create', outcome: 'applied' },
  ]);
  for (const organisation of [other, disabled, legacy]) {
    const configuration = await seedConfiguration(harness.owner, organisation.id, 'Their HR');
    await seedRun(harness.owner, {
      organisationId: organisation.id,
      configurationId: configuration,
      status: 'success',
      queuedAt: '2024-01-16T09:00:00Z',
    });
  }
});

afterAll(async () => {
  await harness.close();
});

/** Calls every protected procedure and download; answers each one's status and denial reason. */
async function callEverything(browser: ReturnType<ReturnType<typeof apiClient>['browser']>) {
  const results: Record<string, { status: number; reason: string | null; body: unknown }> = {};
  for (const [name, path, input] of [
    ['runs.list', 'runs.list', {}],
    ['runs.get', 'runs.get', { runId: acmeRun }],
    ['configurations.list', 'configurations.list', undefined],
  ] as const) {
    const { status, body } = await browser.query(path, input);
    results[name] = { status, reason: body.error?.data.accessDenial ?? null, body };
  }
  for (const format of ['csv', 'xlsx']) {
    const response = await browser.request(`/api/runs/${acmeRun}/log.${format}`);
    const body = response.headers.get('content-type')?.startsWith('application/json')
      ? ((await response.json()) as { reason?: string })
      : await response.arrayBuffer();
    results[`download.${format}`] = {
      status: response.status,
      reason: (body as { reason?: string }).reason ?? null,
      body,
    };
  }
  // The live feed answers over server-sent events: a refusal is its first event.
  const abort = new AbortController();
  const response = await browser.request('/trpc/runs.changes?input=%7B%7D', { signal: abort.signal });
  for await (const event of sseEvents(response)) {
    if (event.event === 'connected') continue;
    if (event.event === 'serialized-error') {
      const error = JSON.parse(event.data) as { data: { httpStatus: number; accessDenial: string | null } };
      results['runs.changes'] = {
        status: error.data.httpStatus,
        reason: error.data.accessDenial,
        body: error,
      };
    } else {
      results['runs.changes'] = { status: 200, reason: null, body: event };
    }
    break;
  }
  abort.abort();
  return results;
}

function expectEverything(results: Awaited<ReturnType<typeof callEverything>>, outcome: Outcome) {
  const expected: Record<string, { status: number; reason: string | null }> = {};
  for (const name of Object.keys(results)) {
    expected[name] = { status: outcome.status, reason: outcome.status === 403 ? outcome.reason : null };
  }
  const actual = Object.fromEntries(
    Object.entries(results).map(([name, { status, reason }]) => [name, { status, reason }]),
  );
  expect(actual).toEqual(expected);
}

async function signedIn(email: string) {
  const browser = apiClient(harness.appOrm).browser();
  await browser.signIn(email);
  return browser;
}

describe('who may see User Provisioning', () => {
  it('refuses an anonymous caller everything, and me answers null', async () => {
    const browser = apiClient(harness.appOrm).browser();
    expect((await browser.query('auth.me')).body.result?.data).toBeNull();
    expectEverything(await callEverything(browser), { status: 401 });
  });

  for (const role of ROLES) {
    const allowed = ALLOWED_ROLES.includes(role);
    it(`${allowed ? 'allows' : 'refuses'} a ${role} of an organisation on the User Sync Service`, async () => {
      const browser = await signedIn(acme.accounts[role]);
      const results = await callEverything(browser);
      expectEverything(results, allowed ? { status: 200 } : { status: 403, reason: 'no-permission' });
      const me = (await browser.query('auth.me')).body.result?.data as {
        access: { viewProvisioning: { allowed: boolean }; downloadLogs: { allowed: boolean } };
        conditions: Record<string, boolean>;
      };
      expect(me.access.viewProvisioning.allowed).toBe(allowed);
      expect(me.access.downloadLogs.allowed).toBe(allowed);
      expect(me.conditions).toEqual({
        roleAllowsProvisioning: allowed,
        provisioningEnabled: true,
        onUserSyncService: true,
      });
      if (!allowed) {
        // Nothing of the organisation's runs leaks into a refusal.
        expect(JSON.stringify(results)).not.toContain(acmeConfiguration);
        expect(JSON.stringify(results['runs.get']!.body)).toMatch(/Your role cannot view User Provisioning/);
      }
    });
  }

  it('gives an admin of another organisation its own runs only, and NOT_FOUND for ours', async () => {
    const browser = await signedIn(other.accounts['org-admin']);
    const results = await callEverything(browser);
    expect(results['runs.list']!.status).toBe(200);
    const runs = (results['runs.list']!.body as { result: { data: { runs: { id: string }[] } } }).result.data
      .runs;
    expect(runs).toHaveLength(1);
    expect(runs.map((run) => run.id)).not.toContain(acmeRun);
    expect(results['runs.get']!.status).toBe(404);
    expect(results['download.csv']!.status).toBe(404);
    expect(results['download.xlsx']!.status).toBe(404);
    const configurations = (results['configurations.list']!.body as { result: { data: { name: string }[] } })
      .result.data;
    expect(configurations.map((configuration) => configuration.name)).toEqual(['Their HR']);
    // The 404 says the same as for a run that does not exist at all.
    const missing = await browser.query('runs.get', { runId: '00000000-0000-4000-8000-000000000000' });
    expect(missing.body.error?.message).toBe('Run 00000000-0000-4000-8000-000000000000 not found');
    expect((results['runs.get']!.body as { error: { message: string } }).error.message).toBe(
      `Run ${acmeRun} not found`,
    );
  });

  for (const role of ALLOWED_ROLES) {
    it(`refuses a ${role} of an organisation with User Provisioning off, saying so`, async () => {
      const browser = await signedIn(disabled.accounts[role]);
      expectEverything(await callEverything(browser), { status: 403, reason: 'provisioning-disabled' });
      const me = (await browser.query('auth.me')).body.result?.data as {
        conditions: Record<string, boolean>;
      };
      expect(me.conditions).toEqual({
        roleAllowsProvisioning: true,
        provisioningEnabled: false,
        onUserSyncService: true,
      });
    });

    it(`refuses a ${role} of an organisation on the legacy sync, saying so`, async () => {
      const browser = await signedIn(legacy.accounts[role]);
      const results = await callEverything(browser);
      expectEverything(results, { status: 403, reason: 'legacy-sync-service' });
      expect(JSON.stringify(results['runs.list']!.body)).toMatch(/not yet on the User Sync Service/);
    });
  }

  it('names the role first when several conditions fail', async () => {
    const browser = await signedIn(disabled.accounts['basic-user']);
    expectEverything(await callEverything(browser), { status: 403, reason: 'no-permission' });
  });

  it('applies a change of the organisation at the next request, without signing in again', async () => {
    const browser = await signedIn(acme.accounts['org-admin']);
    expect((await browser.query('runs.list', {})).status).toBe(200);
    await harness.owner.em
      .fork()
      .execute('update organisation set provisioning_enabled = false where id = ?', [acme.id]);
    try {
      const refused = await browser.query('runs.list', {});
      expect(refused.status).toBe(403);
      expect(refused.body.error?.data.accessDenial).toBe('provisioning-disabled');
    } finally {
      await harness.owner.em
        .fork()
        .execute('update organisation set provisioning_enabled = true where id = ?', [acme.id]);
    }
  });
});
