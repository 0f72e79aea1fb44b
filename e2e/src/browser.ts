import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { E2E_ENV } from './env.ts';
import { ARTIFACTS_DIR } from './paths.ts';

/**
 * Debian's Chromium, headless. Its background services would try hosts this machine cannot reach, so
 * they are off; root needs --no-sandbox.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: E2E_ENV.CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface Session {
  context: BrowserContext;
  page: Page;
}

/** A fresh browser profile on the page at `path`, signed in as `email` through the sign-in form. */
export async function signedIn(
  browser: Browser,
  baseUrl: string,
  email: string,
  password: string,
  path = '/provisioning',
): Promise<Session> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  await page.goto(path);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return { context, page };
}

/** Saves a screenshot of the page's main states for people to look at (test-artifacts/screenshots). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const directory = join(ARTIFACTS_DIR, 'screenshots');
  mkdirSync(directory, { recursive: true });
  await page.screenshot({ path: join(directory, `${name}.png`), fullPage: true });
}
