import { randomBytes } from 'node:crypto';
import { createSlackLinkCode, sql } from '@provisioning/db';
import { seedSlackInstallation } from '@provisioning/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  createApiHarness,
  seedOrganisation,
  type TestOrganisation,
} from '../api-harness.test-support.ts';

let harness: ApiHarness;
let acme: TestOrganisation;
let globex: TestOrganisation;

beforeAll(async () => {
  harness = await createApiHarness('api_slack');
  acme = await seedOrganisation(harness.owner, { name: 'Acme', timeZone: 'Europe/London' });
  globex = await seedOrganisation(harness.owner, { name: 'Globex' });
  await seedSlackInstallation(harness.owner, randomBytes(32), {
    organisationId: acme.id,
    teamId: 'T0ACME',
    botToken: 'xoxb-acme-token-0000',
  });
});

afterAll(async () => {
  await harness.close();
});

function code(slackUserId: string): Promise<string> {
  return createSlackLinkCode(harness.owner.em.fork(), {
    organisationId: acme.id,
    teamId: 'T0ACME',
    slackUserId,
  });
}

async function linkOf(slackUserId: string) {
  const [row] = await sql<{ email: string }>(
    harness.owner.em.fork(),
    `select a.email from slack_account_link l join account a on a.id = l.account_id
     where l.team_id = 'T0ACME' and l.slack_user_id = ?`,
    [slackUserId],
  );
  return row?.email ?? null;
}

async function as(email: string) {
  const browser = apiClient(harness.appOrm).browser();
  await browser.signIn(email);
  return browser;
}

describe('slack.confirmLink', () => {
  it('links the Slack user to the People Admin who confirms, once', async () => {
    const admin = await as(acme.accounts['people-admin']);
    const linkCode = await code('U0ONE');
    const confirmed = await admin.mutate('slack.confirmLink', { code: linkCode });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.result?.data).toEqual({ teamId: 'T0ACME', slackUserId: 'U0ONE' });
    expect(await linkOf('U0ONE')).toBe(acme.accounts['people-admin']);

    const reused = await admin.mutate('slack.confirmLink', { code: linkCode });
    expect(reused.status).toBe(409);
    expect(reused.body.error?.message).toBe(
      'This link was already used. Run /sync-logs link in Slack for a new link.',
    );
  });

  it('refuses an expired code, saying how to get a new one', async () => {
    const admin = await as(acme.accounts['org-admin']);
    const linkCode = await code('U0LATE');
    await sql(harness.owner.em.fork(), `update slack_link_code set expires_at = now() - interval '1 second'`);
    const expired = await admin.mutate('slack.confirmLink', { code: linkCode });
    expect(expired.status).toBe(409);
    expect(expired.body.error?.message).toMatch(
      /^This link expired \(links last 10 minutes\)\. Run \/sync-logs link/,
    );
    expect(await linkOf('U0LATE')).toBeNull();
  });

  it('does not find the code for another organisation’s admin', async () => {
    const other = await as(globex.accounts['org-admin']);
    const refused = await other.mutate('slack.confirmLink', { code: await code('U0TWO') });
    expect(refused.status).toBe(404);
    expect(refused.body.error?.message).toMatch(/not valid for your organisation/);
    expect(await linkOf('U0TWO')).toBeNull();
  });

  it('refuses a Basic User, with the permission table’s reason', async () => {
    const basic = await as(acme.accounts['basic-user']);
    const refused = await basic.mutate('slack.confirmLink', { code: await code('U0THREE') });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.message).toContain('Your role cannot view User Provisioning');
    expect(await linkOf('U0THREE')).toBeNull();
  });

  it('refuses a malformed code and anyone signed out', async () => {
    const admin = await as(acme.accounts['people-admin']);
    const malformed = await admin.mutate('slack.confirmLink', { code: 'abc' });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toContain('run /sync-logs link in Slack for a new one');
    const signedOut = apiClient(harness.appOrm).browser();
    expect((await signedOut.mutate('slack.confirmLink', { code: await code('U0FOUR') })).status).toBe(401);
  });
});
