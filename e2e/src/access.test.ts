import { ACCESS_DENIAL_MESSAGES, type AccessDenial, ROLE_LABELS, type Role } from '@provisioning/shared';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Session, screenshot, signedIn } from './browser.ts';
import { PASSWORD, type SeededOrganisation, seedOrganisation } from './seed.ts';
import { type Stack, startStack } from './stack.ts';

let stack: Stack;
let browser: Browser;
let acme: SeededOrganisation;
let dormant: SeededOrganisation;
let legacy: SeededOrganisation;
let fresh: SeededOrganisation;
let watched: SeededOrganisation;
const sessions: Session[] = [];

beforeAll(async () => {
  // Open pages' live feeds look at their session every 200 ms here (30 s in production).
  stack = await startStack('access', { apiEnv: { LIVE_ACCESS_CHECK_INTERVAL_MS: '200' } });
  acme = await seedOrganisation(stack.owner, {
    name: 'Acme Corp',
    roles: ['people-admin', 'basic-user', 'support-admin', 'group-admin'],
  });
  dormant = await seedOrganisation(stack.owner, {
    name: 'Dormant Ltd',
    provisioningEnabled: false,
    roles: ['org-admin'],
  });
  legacy = await seedOrganisation(stack.owner, {
    name: 'Oldtimer Inc',
    syncService: 'legacy',
    roles: ['people-admin'],
  });
  fresh = await seedOrganisation(stack.owner, { name: 'Newco', roles: ['people-admin'] });
  watched = await seedOrganisation(stack.owner, {
    name: 'Watched Ltd',
    roles: ['people-admin', 'org-admin'],
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const session of sessions) await session.context.close().catch(() => {});
  await browser?.close();
  await stack?.close();
});

async function open(email: string, path = '/provisioning'): Promise<Page> {
  const session = await signedIn(browser, stack.baseUrl, email, PASSWORD, path);
  sessions.push(session);
  return session.page;
}

const navigation = (page: Page) => page.getByRole('navigation', { name: 'Admin panel' });

/** The refusal on a direct visit: the reason's own title and what to do, no table. */
async function expectRefusal(page: Page, reason: AccessDenial) {
  const { title, action } = ACCESS_DENIAL_MESSAGES[reason];
  const alert = page.getByRole('alert').filter({ hasText: title });
  await alert.waitFor();
  expect(await alert.getByRole('heading', { name: title }).count()).toBe(1);
  expect(await alert.innerText()).toContain(action);
  expect(await page.getByRole('table').count()).toBe(0);
  expect(await navigation(page).getByRole('link', { name: 'User Provisioning' }).count()).toBe(0);
}

describe('who sees User Provisioning, in Chromium', () => {
  for (const role of ['basic-user', 'support-admin', 'group-admin'] as const satisfies readonly Role[]) {
    it(`gives a ${ROLE_LABELS[role]} no User Provisioning entry and a clear refusal on a direct visit`, async () => {
      const page = await open(acme.accounts[role]!, '/');
      await page.getByRole('heading', { name: /^Welcome/ }).waitFor();
      expect(await navigation(page).getByRole('link', { name: 'User Provisioning' }).count()).toBe(0);
      expect(await navigation(page).getByText('Blink Identity').count()).toBe(0);

      await page.goto('/provisioning');
      await expectRefusal(page, 'no-permission');
      expect(
        await page.getByText(`Your role (${ROLE_LABELS[role]}) cannot view User Provisioning`).count(),
      ).toBe(1);
      await screenshot(page, `20-refused-${role}`);
    });
  }

  it('explains to an Organisation Admin that User Provisioning is off for the organisation', async () => {
    const page = await open(dormant.accounts['org-admin']!);
    await expectRefusal(page, 'provisioning-disabled');
    expect(await page.getByText('User Provisioning is not enabled for Dormant Ltd').count()).toBe(1);
    await screenshot(page, '21-refused-provisioning-disabled');
  });

  it('explains to a People Admin that the organisation is still on the legacy sync', async () => {
    const page = await open(legacy.accounts['people-admin']!);
    await expectRefusal(page, 'legacy-sync-service');
    expect(await page.getByText('Oldtimer Inc is still on the legacy sync').count()).toBe(1);
    await screenshot(page, '22-refused-legacy-sync');
  });

  it('takes a People Admin from the home page to User Provisioning, with no syncs yet', async () => {
    const page = await open(fresh.accounts['people-admin']!, '/');
    await page.getByRole('heading', { name: 'No syncs yet' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/provisioning');
    await expect(
      navigation(page).getByRole('link', { name: 'User Provisioning' }).getAttribute('aria-current'),
    ).resolves.toBe('page');
    await screenshot(page, '23-no-syncs-yet');
  });
});

describe('signing in and out', () => {
  it('refuses a wrong password with a message, and signs out back to the form', async () => {
    const context = await browser.newContext({ baseURL: stack.baseUrl });
    sessions.push({ context, page: await context.newPage() });
    const page = sessions.at(-1)!.page;
    await page.goto('/provisioning?range=last7');
    await page.getByLabel('Email').fill(acme.accounts['people-admin']!);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The email or password is incorrect.' }).waitFor();
    await screenshot(page, '24-sign-in-refused');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signed in where the visit began, filters included.
    await page.getByRole('button', { name: 'Remove filter: Last 7 Days' }).waitFor();
    expect(await page.getByText(acme.accounts['people-admin']!, { exact: false }).count()).toBe(1);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });
});

describe('the page under its content security policy', () => {
  it('signs in and shows the page with nothing refused by the policy', async () => {
    const context = await browser.newContext({ baseURL: stack.baseUrl });
    sessions.push({ context, page: await context.newPage() });
    const page = sessions.at(-1)!.page;
    // Chromium reports each blocked script, style, image or connection on the console.
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    const response = await page.goto('/provisioning');
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    expect(response?.headers()['x-frame-options']).toBe('DENY');
    await page.getByLabel('Email').fill(acme.accounts['people-admin']!);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(violations).toEqual([]);
  });
});

describe('an open page when access ends, in Chromium', () => {
  /** The page is on User Provisioning with its live feed connected. */
  async function openLive(email: string): Promise<Page> {
    const page = await open(email);
    await page.locator('.live[data-state="live"]').waitFor();
    return page;
  }

  it('returns to the sign-in form when support signs the account out from the CLI', async () => {
    const email = watched.accounts['people-admin']!;
    const page = await openLive(email);

    await stack.cli('account', 'sign-out', '--email', email);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 15_000 });
    expect(await page.getByText(email).count()).toBe(0);
    await screenshot(page, '25-signed-out-by-support');
  });

  it('shows the refusal when User Provisioning is turned off for the organisation', async () => {
    const page = await openLive(watched.accounts['org-admin']!);

    await stack.cli('org', 'update', watched.id, '--provisioning', 'off');
    await expectRefusal(page, 'provisioning-disabled');
    await screenshot(page, '26-refused-while-open');
  });
});
