import { sql } from '@provisioning/db';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Session, screenshot, signedIn } from './browser.ts';
import {
  indexPersonLinesSql,
  PASSWORD,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
} from './seed.ts';
import { type Stack, startStack } from './stack.ts';

let stack: Stack;
let browser: Browser;
let admin: string;
let outsider: string;
let moved: string;
const sessions: Session[] = [];

const ADA = { externalId: 'E001', email: 'ada@acme.example', name: 'Ada Lovelace' };

beforeAll(async () => {
  stack = await startStack('person');
  const acme = await seedOrganisation(stack.owner, {
    name: 'Acme Corp',
    timeZone: 'Europe/London',
    roles: ['people-admin'],
  });
  admin = acme.accounts['people-admin']!;
  const workday = await seedConfiguration(stack.owner, acme.id, 'Workday workers', 'workday');
  const day = 86_400_000;
  const run = (daysAgo: number, status: 'success' | 'needs_attention') =>
    seedRun(stack.owner, {
      organisationId: acme.id,
      configurationId: workday,
      status,
      startedAt: new Date(Date.now() - daysAgo * day),
    });
  const joined = await run(30, 'success');
  await seedLog(stack.owner, joined, [{ ...ADA, rowNumber: 2, action: 'create', outcome: 'applied' }]);
  moved = await run(10, 'needs_attention');
  await seedLog(stack.owner, moved, [
    {
      ...ADA,
      rowNumber: 2,
      action: 'update',
      outcome: 'applied',
      changes: { department: { before: 'Engineering', after: 'Research' } },
    },
    {
      externalId: 'E002',
      email: 'alan@acme.example',
      rowNumber: 3,
      action: 'unchanged',
      outcome: 'no_change',
    },
  ]);
  const unchanged = await run(5, 'success');
  await seedLog(stack.owner, unchanged, [
    { ...ADA, rowNumber: 2, action: 'unchanged', outcome: 'no_change' },
  ]);
  const left = await run(1, 'success');
  await seedLog(stack.owner, left, [
    {
      ...ADA,
      action: 'deactivate',
      outcome: 'applied',
      changes: { status: { before: 'active', after: 'deactivated' } },
      message: 'Not in the source any more: deactivated',
    },
  ]);
  // Another organisation's admin, whose syncs saw someone with the same email.
  const other = await seedOrganisation(stack.owner, { name: 'Other Ltd', roles: ['people-admin'] });
  outsider = other.accounts['people-admin']!;
  await sql(stack.owner.em.fork(), indexPersonLinesSql('select id from sync_run'));
  browser = await launchBrowser();
  // Four accounts' passwords are hashed (scrypt) while the API starts: slow when the machine is busy.
}, 240_000);

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

const entries = (page: Page) =>
  page.getByRole('list', { name: /Syncs that changed or skipped/ }).locator(':scope > li');

/** Waits for the history to show `count` entries, then checks it shows no more. */
async function expectEntries(page: Page, count: number) {
  await entries(page)
    .nth(count - 1)
    .waitFor();
  expect(await entries(page).count()).toBe(count);
}

describe('Find a person', () => {
  it('shows what each sync did to the person, newest first, and opens a sync’s details from it', async () => {
    const page = await open(admin, '/provisioning?status=success&status=needs_attention');
    await page.getByRole('searchbox', { name: 'Find a person' }).fill('  ADA@acme.example ');
    await page.getByRole('button', { name: 'Find', exact: true }).click();

    await page.getByRole('heading', { name: 'History of “ADA@acme.example”' }).waitFor();
    await expectEntries(page, 3);
    const texts = await entries(page).allTextContents();
    expect(texts[0]).toContain('Deactivated · Applied · Ada Lovelace');
    expect(texts[0]).toContain('Not in the source any more: deactivated');
    expect(texts[1]).toContain('Updated · Applied');
    expect(texts[1]).toContain('Department: Engineering → Research');
    expect(texts[1]).toContain('Workday workers · Workday · Needs Attention');
    expect(texts[2]).toContain('Created · Applied');
    const url = new URL(page.url());
    expect(url.searchParams.get('person')).toBe('ADA@acme.example');
    expect(url.searchParams.getAll('status')).toEqual(['success', 'needs_attention']);
    await screenshot(page, 'person-history');

    await entries(page)
      .nth(1)
      .getByRole('link', { name: /View the Workday workers sync of/ })
      .click();
    await page.getByRole('dialog').waitFor();
    const opened = new URL(page.url());
    expect(opened.searchParams.get('run')).toBe(moved);
    expect(opened.searchParams.get('person')).toBe('ADA@acme.example');
  });

  it('reopens the history from a link, by external ID, and Back closes it again', async () => {
    const page = await open(admin, '/provisioning');
    await page.goto('/provisioning?person=e001');
    await expectEntries(page, 3);
    expect(await page.getByRole('searchbox', { name: 'Find a person' }).inputValue()).toBe('e001');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('heading', { name: /History of/ }).waitFor({ state: 'detached' });
    expect(new URL(page.url()).searchParams.get('person')).toBeNull();
    await page.goBack();
    await expectEntries(page, 3);
    expect(new URL(page.url()).searchParams.get('run')).toBeNull();
  });

  it('says what was searched when no sync touched anyone by it, and never shows another organisation’s', async () => {
    const page = await open(outsider, '/provisioning?person=ada%40acme.example');
    const empty = page.getByText(/No sync has created, updated, reactivated, deactivated or skipped anyone/);
    await empty.waitFor();
    expect(await empty.textContent()).toContain('“ada@acme.example”');
    await screenshot(page, 'person-history-empty');
  });

  it('refuses a wildcard as no match, and a NUL or 10 KB query with a message, searching nothing', async () => {
    const page = await open(admin, '/provisioning');
    const requests: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('people.history')) requests.push(request.url());
    });
    await page.goto('/provisioning?person=%25acme.example');
    await page.getByText(/No sync has created/).waitFor();
    expect(requests).toHaveLength(1);

    await page.goto('/provisioning?person=ada%00%40acme.example');
    const refused = page.getByRole('alert').filter({ hasText: 'cannot be searched' });
    await refused.waitFor();
    expect(await refused.textContent()).toContain('no control characters');

    await page.goto(`/provisioning?person=${'x'.repeat(10_240)}`);
    await page.getByRole('alert').filter({ hasText: 'at most 320 characters' }).waitFor();
    expect(requests).toHaveLength(1);
  });
});
