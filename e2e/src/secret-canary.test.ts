import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConfiguration, triggerRun } from '@provisioning/db';
import { type Connector, RUN_STATUS_INFO, type RunStatus } from '@provisioning/shared';
import {
  type FakeSlack,
  freePort,
  type GoogleDirectoryServer,
  generateHrRows,
  generateSshKeyPair,
  googleDirectoryUser,
  type HrRow,
  type SentRequest,
  type SftpServer,
  startGoogleDirectoryServer,
  startSftpServer,
  startSlackServer,
  startWorkdayServer,
  type WorkdayServer,
  writeHrCsv,
} from '@provisioning/testkit';
import ExcelJS from 'exceljs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR } from './paths.ts';
import { type SeededOrganisation, seedOrganisation } from './seed.ts';
import { type Stack, startStack } from './stack.ts';

/**
 * The secret canary: every secret the product holds (SFTP password, private key and passphrase; Workday
 * password, OAuth client secret and refresh token; Google's service-account key; Slack's bot token and
 * signing secret) carries a marker no other text has. After succeeding and failing syncs of each
 * connector, log exports (API, CLI) and `/sync-logs` through Slack, the marker must be nowhere but in the
 * sealed secret columns: not in any process's output, any other database column, any export, or anything
 * Slack received.
 */

/** Every text canary starts with this; searching for it finds them all. */
const TAG = `CANARY-${randomBytes(8).toString('hex')}`;
const canary = (name: string) => `${TAG}-${name}`;

/**
 * A key's canary: a line of its body from the private part (keys cannot hold arbitrary text, and their
 * first lines are the same in every key of a type). Any copy of the key, whole or in part, holds it.
 */
function keyCanary(pem: string): string {
  const body = pem.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'));
  return body.at(-2)!;
}

/** The sealed secrets, the only columns allowed to hold a secret (encrypted, so no canary shows). */
const SEALED_COLUMNS = ['public.sync_configuration.secrets', 'public.slack_installation.bot_token'];

const sftpKey = generateSshKeyPair(canary('sftp-passphrase'));
const rsaKey = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
const googleKey = rsaKey();
const wrongGoogleKey = rsaKey();

/** Every secret given to the product, by name. */
const CANARIES: Record<string, string> = {
  'sftp-password': canary('sftp-password'),
  'sftp-wrong-password': canary('sftp-wrong-password'),
  'sftp-private-key': keyCanary(sftpKey.privateKey),
  'sftp-passphrase': canary('sftp-passphrase'),
  'sftp-wrong-passphrase': canary('sftp-wrong-passphrase'),
  'workday-password': canary('workday-password'),
  'workday-wrong-password': canary('workday-wrong-password'),
  'workday-client-secret': canary('workday-client-secret'),
  'workday-refresh-token': canary('workday-refresh-token'),
  'workday-wrong-client-secret': canary('workday-wrong-client-secret'),
  'google-private-key': keyCanary(googleKey),
  'google-wrong-private-key': keyCanary(wrongGoogleKey),
  'google-not-a-key': canary('google-not-a-key'),
  'slack-bot-token': `xoxb-${canary('slack-bot-token')}`,
  'slack-signing-secret': canary('slack-signing-secret'),
};
const SEARCHED = [TAG, ...Object.values(CANARIES).filter((value) => !value.includes(TAG))];

/** Each canary found in `text`, with a little of what surrounds it, for the failure message. */
function canariesIn(where: string, text: string): string[] {
  const found: string[] = [];
  for (const needle of SEARCHED) {
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) {
      found.push(`${where}: …${text.slice(Math.max(0, at - 80), at + needle.length + 40)}…`);
    }
  }
  return found;
}

/** The names of the canaries `text` holds. */
const canaryNamesIn = (text: string) =>
  Object.entries(CANARIES)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);

/** Every cell, sheet name and comment of a workbook, as text. */
async function workbookText(bytes: Buffer): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  const parts: string[] = [];
  workbook.eachSheet((sheet) => {
    parts.push(sheet.name);
    sheet.eachRow((row) => {
      row.eachCell((cell) => {
        parts.push(cell.text);
        if (cell.note) parts.push(JSON.stringify(cell.note));
      });
    });
  });
  return parts.join('\n');
}

/** An export's text: CSV as it is, a workbook's cells. */
const exportText = (name: string, bytes: Buffer) =>
  name.endsWith('.xlsx') ? workbookText(bytes) : Promise.resolve(bytes.toString('utf8'));

interface ColumnHit {
  column: string;
  rows: number;
}

/**
 * Every column of every table in every schema whose values can hold text (text, json, arrays, enums;
 * bytea read as text), searched for the canaries, except SEALED_COLUMNS. Columns come from
 * information_schema, so a table added later is searched without changing this test.
 */
async function canariesInDatabase(databaseUrl: string): Promise<{ hits: ColumnHit[]; searched: string[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: columns } = await client.query<{
      schema: string;
      table: string;
      column: string;
      type: string;
    }>(
      `select c.table_schema as schema, c.table_name as table, c.column_name as column, c.data_type as type
         from information_schema.columns c
         join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        where t.table_type = 'BASE TABLE'
          and c.table_schema not in ('pg_catalog', 'information_schema')
          and c.table_schema not like 'pg\\_toast%'
          and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'xml', 'bytea',
                              'ARRAY', 'USER-DEFINED')
        order by 1, 2, 3`,
    );
    const patterns = SEARCHED.map((needle) => `%${needle}%`);
    const tables = new Map<string, typeof columns>();
    for (const column of columns) {
      const key = `${client.escapeIdentifier(column.schema)}.${client.escapeIdentifier(column.table)}`;
      tables.set(key, [...(tables.get(key) ?? []), column]);
    }
    const hits: ColumnHit[] = [];
    const searched: string[] = [];
    for (const [table, tableColumns] of tables) {
      const checked = tableColumns.filter(
        (column) => !SEALED_COLUMNS.includes(`${column.schema}.${column.table}.${column.column}`),
      );
      if (checked.length === 0) continue;
      const counts = checked.map((column, index) => {
        const name = client.escapeIdentifier(column.column);
        const text = column.type === 'bytea' ? `encode(${name}, 'escape')` : `${name}::text`;
        return `count(*) filter (where ${text} like any($1))::int as c${index}`;
      });
      const {
        rows: [row],
      } = await client.query<Record<string, number>>(`select ${counts.join(', ')} from ${table}`, [patterns]);
      checked.forEach((column, index) => {
        const name = `${column.schema}.${column.table}.${column.column}`;
        searched.push(name);
        if (row![`c${index}`]! > 0) hits.push({ column: name, rows: row![`c${index}`]! });
      });
    }
    return { hits, searched };
  } finally {
    await client.end();
  }
}

/** Rows of a generated HR export under their own emails and IDs, so configurations manage apart. */
function rowsFor(prefix: string, count: number): HrRow[] {
  const own = (email: string) => email.replace(/^user\./, `${prefix}.`);
  return generateHrRows(count).map((row) => ({
    ...row,
    employee_id: `${prefix}-${row.employee_id}`,
    email: own(row.email),
    manager_email: row.manager_email && own(row.manager_email),
  }));
}

const ROWS = 12;
const SLACK_TEAM = 'T0ACME';
const SLACK_ADMIN = 'U0ADMIN';
const PUBLIC_WEB_URL = 'https://admin.acme.example';

let stack: Stack;
let acme: SeededOrganisation;
let slack: FakeSlack;
let sftp: SftpServer;
let workday: WorkdayServer;
let workdayOauth: WorkdayServer;
let workdayBroken: WorkdayServer;
let google: GoogleDirectoryServer;
let googleBroken: GoogleDirectoryServer;
let slackCommandsUrl: string;
const dir = join(ARTIFACTS_DIR, 'secret-canary');
const inputDir = join(dir, 'input');
const exportDir = join(dir, 'exports');
/** Every API answer the test read (run details, downloads' headers), searched like the logs. */
const apiAnswers: string[] = [];

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'sftp', 'outbound'), { recursive: true });
  mkdirSync(inputDir, { recursive: true });
  mkdirSync(exportDir, { recursive: true });
  await writeHrCsv(join(dir, 'sftp', 'outbound', 'password.csv'), { rows: rowsFor('sftp', ROWS) });
  await writeHrCsv(join(dir, 'sftp', 'outbound', 'key.csv'), { rows: rowsFor('sftpkey', ROWS) });

  slack = await startSlackServer({
    teams: [{ id: SLACK_TEAM, name: 'Acme', token: CANARIES['slack-bot-token']!, channels: ['C0RUNS123'] }],
    signingSecret: CANARIES['slack-signing-secret']!,
  });
  sftp = await startSftpServer({
    root: join(dir, 'sftp'),
    username: 'acme',
    password: CANARIES['sftp-password']!,
    publicKey: sftpKey.publicKey,
  });
  workday = await startWorkdayServer({
    user: 'ISU_Provisioning',
    password: CANARIES['workday-password']!,
    workers: rowsFor('wd', ROWS),
  });
  workdayOauth = await startWorkdayServer({
    user: 'ISU_Provisioning',
    password: randomBytes(12).toString('hex'),
    workers: rowsFor('wdo', ROWS),
    oauth: {
      clientId: 'provisioning-client',
      clientSecret: CANARIES['workday-client-secret']!,
      refreshToken: CANARIES['workday-refresh-token']!,
    },
  });
  workdayBroken = await startWorkdayServer({
    user: 'ISU_Provisioning',
    password: CANARIES['workday-password']!,
    workers: rowsFor('wdx', ROWS),
  });
  const googleUsers = rowsFor('gw', ROWS).map((row, index) => googleDirectoryUser(index + 1, 1, row));
  google = await startGoogleDirectoryServer({
    admins: ['admin@example.com'],
    users: googleUsers,
    privateKey: googleKey,
  });
  googleBroken = await startGoogleDirectoryServer({
    admins: ['admin@example.com'],
    users: googleUsers,
    privateKey: googleKey,
  });

  const slackPort = await freePort();
  stack = await startStack('canary', {
    // Debug lines too: whatever any level prints must hold no secret.
    apiEnv: { LOG_LEVEL: 'debug' },
    workerEnv: {
      LOG_LEVEL: 'debug',
      WORKER_CONCURRENCY: '4',
      SLACK_SIGNING_SECRET: CANARIES['slack-signing-secret']!,
      SLACK_PORT: String(slackPort),
      SLACK_API_URL: slack.apiUrl,
      PUBLIC_WEB_URL,
    },
    cliEnv: { SLACK_API_URL: slack.apiUrl },
  });
  slackCommandsUrl = `http://127.0.0.1:${slackPort}/slack/commands`;
  acme = await seedOrganisation(stack.owner, { name: 'Acme', roles: ['people-admin'] });
  await stack.startWorker();
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await Promise.all(
    [slack, sftp, workday, workdayOauth, workdayBroken, google, googleBroken].map((server) => server?.stop()),
  );
});

/** Where a settings file goes: kept as the CLI input the control search must find the canaries in. */
const settingsFile = (name: string) => join(inputDir, `${name.replace(/\W+/g, '-')}.json`);

/** `config create` as support runs it, from a settings file. */
async function configureWithCli(name: string, connector: Connector, settings: Record<string, unknown>) {
  writeFileSync(settingsFile(name), JSON.stringify(settings, null, 2));
  const out = await stack.cli(
    'config',
    'create',
    '--org',
    acme.id,
    '--name',
    name,
    '--connector',
    connector,
    '--settings',
    settingsFile(name),
  );
  return (JSON.parse(out) as { id: string }).id;
}

/** The repository call `config create` makes, without a process for each configuration. */
async function configure(name: string, connector: Connector, settings: Record<string, unknown>) {
  writeFileSync(settingsFile(name), JSON.stringify(settings, null, 2));
  return (
    await createConfiguration(stack.owner.em.fork(), acme.id, { name, connector, settings }, stack.secretKey)
  ).id;
}

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: stack.database.url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Resolves once each run has a final status and its Slack notification is done with (sent, skipped or
 * failed). The worker commits these in its own processes; the database is looked at every 250 ms.
 */
async function settled(runIds: string[]): Promise<Map<string, RunStatus>> {
  for (;;) {
    const rows = await sql<{ id: string; status: RunStatus; notification: string | null }>(
      `select r.id, r.status, n.state as notification
         from sync_run r left join run_notification n on n.run_id = r.id where r.id = any($1)`,
      [runIds],
    );
    const done = rows.every(
      (row) =>
        RUN_STATUS_INFO[row.status].final &&
        row.notification !== null &&
        !['pending', 'sending'].includes(row.notification),
    );
    if (rows.length === runIds.length && done) return new Map(rows.map((row) => [row.id, row.status]));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function answerTo(sent: SentRequest): Promise<string> {
  const response = await slack.until(() => slack.responses.find((r) => r.id === sent.responseUrlId));
  return String(response.body.text);
}

/** Reads a run's details and downloads its log in `format` as the page does (HEAD first, as a browser may). */
async function downloadLog(cookie: string, runId: string, format: 'csv' | 'xlsx'): Promise<void> {
  const details = await fetch(
    `${stack.baseUrl}/trpc/runs.get?input=${encodeURIComponent(JSON.stringify({ runId }))}`,
    {
      headers: { cookie },
    },
  );
  expect(details.status).toBe(200);
  apiAnswers.push(await details.text());
  const url = `${stack.baseUrl}/api/runs/${runId}/log.${format}`;
  const head = await fetch(url, { method: 'HEAD', headers: { cookie } });
  apiAnswers.push(JSON.stringify([...head.headers]));
  const download = await fetch(url, { headers: { cookie } });
  expect(download.status).toBe(200);
  writeFileSync(join(exportDir, `api-${runId}.${format}`), Buffer.from(await download.arrayBuffer()));
}

interface SyncCase {
  connector: Connector;
  settings: Record<string, unknown>;
  expect: 'success' | 'data_load_failed';
}

describe('the secret canary', () => {
  it('finds no secret anywhere but the sealed columns after syncs, exports and Slack commands', async () => {
    const sftpBase = {
      host: sftp.host,
      port: sftp.port,
      username: 'acme',
      hostFingerprint: sftp.hostFingerprint,
    };
    const googleBase = {
      adminEmail: 'admin@example.com',
      serviceAccountEmail: google.serviceAccount.clientEmail,
      tokenUrl: google.tokenUrl,
      apiBaseUrl: google.apiBaseUrl,
    };
    const oauth = (clientSecret: string) => ({
      clientId: 'provisioning-client',
      clientSecret,
      refreshToken: CANARIES['workday-refresh-token'],
    });
    const cases: Record<string, SyncCase> = {
      'SFTP password': {
        connector: 'sftp',
        settings: { ...sftpBase, password: CANARIES['sftp-password'], path: '/outbound/password.csv' },
        expect: 'success',
      },
      'SFTP key': {
        connector: 'sftp',
        settings: {
          ...sftpBase,
          privateKey: sftpKey.privateKey,
          passphrase: CANARIES['sftp-passphrase'],
          path: '/outbound/key.csv',
        },
        expect: 'success',
      },
      'SFTP wrong password': {
        connector: 'sftp',
        settings: { ...sftpBase, password: CANARIES['sftp-wrong-password'], path: '/outbound/password.csv' },
        expect: 'data_load_failed',
      },
      'SFTP wrong passphrase': {
        connector: 'sftp',
        settings: {
          ...sftpBase,
          privateKey: sftpKey.privateKey,
          passphrase: CANARIES['sftp-wrong-passphrase'],
          path: '/outbound/key.csv',
        },
        expect: 'data_load_failed',
      },
      'SFTP host key mismatch': {
        connector: 'sftp',
        settings: {
          ...sftpBase,
          hostFingerprint: generateSshKeyPair().fingerprint,
          password: CANARIES['sftp-password'],
          path: '/outbound/password.csv',
        },
        expect: 'data_load_failed',
      },
      'Workday password': {
        connector: 'workday',
        settings: {
          reportUrl: workday.reportUrl,
          username: 'ISU_Provisioning',
          password: CANARIES['workday-password'],
        },
        expect: 'success',
      },
      'Workday wrong password': {
        connector: 'workday',
        settings: {
          reportUrl: workday.reportUrl,
          username: 'ISU_Provisioning',
          password: CANARIES['workday-wrong-password'],
        },
        expect: 'data_load_failed',
      },
      'Workday wrong client secret': {
        connector: 'workday',
        settings: {
          reportUrl: workdayOauth.reportUrl,
          username: 'ISU_Provisioning',
          oauth: oauth(CANARIES['workday-wrong-client-secret']!),
        },
        expect: 'data_load_failed',
      },
      'Workday server error': {
        connector: 'workday',
        settings: {
          reportUrl: workdayBroken.reportUrl,
          username: 'ISU_Provisioning',
          password: CANARIES['workday-password'],
        },
        expect: 'data_load_failed',
      },
      Google: {
        connector: 'google-workspace',
        settings: { ...googleBase, privateKey: googleKey },
        expect: 'success',
      },
      'Google wrong key': {
        connector: 'google-workspace',
        settings: { ...googleBase, privateKey: wrongGoogleKey },
        expect: 'data_load_failed',
      },
      'Google server error': {
        connector: 'google-workspace',
        settings: {
          ...googleBase,
          tokenUrl: googleBroken.tokenUrl,
          apiBaseUrl: googleBroken.apiBaseUrl,
          privateKey: googleKey,
        },
        expect: 'data_load_failed',
      },
    };
    // Its token endpoint fails a whole attempt, so the queue retries the run (15 s later): awaited last.
    const slowCase: SyncCase = {
      connector: 'workday',
      settings: {
        reportUrl: workdayOauth.reportUrl,
        username: 'ISU_Provisioning',
        oauth: oauth(CANARIES['workday-client-secret']!),
      },
      expect: 'success',
    };

    // Support's part through the CLI: a configuration from a settings file, one settings file refused
    // (its message must not repeat the secret), Slack connected with the token from a file, every
    // outcome posted. The other configurations go straight through the repository `config create` calls.
    const tokenFile = join(inputDir, 'bot-token.txt');
    writeFileSync(tokenFile, `${CANARIES['slack-bot-token']}\n`, { mode: 0o600 });
    writeFileSync(
      settingsFile('Refused'),
      JSON.stringify({ ...googleBase, privateKey: CANARIES['google-not-a-key'] }),
    );
    const configurationIds: Record<string, string> = {};
    const [refused] = await Promise.all([
      stack.cliResult(
        'config',
        'create',
        '--org',
        acme.id,
        '--name',
        'Refused',
        '--connector',
        'google-workspace',
        '--settings',
        settingsFile('Refused'),
      ),
      stack.cli(
        'slack',
        'connect',
        '--org',
        acme.id,
        '--token-file',
        tokenFile,
        '--channel',
        'C0RUNS123',
        '--notify',
        'all',
      ),
      ...Object.entries(cases).map(async ([name, { connector, settings }]) => {
        configurationIds[name] =
          name === 'SFTP password'
            ? await configureWithCli(name, connector, settings)
            : await configure(name, connector, settings);
      }),
      configure('Workday OAuth', slowCase.connector, slowCase.settings).then((id) => {
        configurationIds['Workday OAuth'] = id;
      }),
    ]);
    expect(refused!.code).toBe(2);
    expect(refused!.stderr).toMatch(/Private key must be the PEM key/);

    // Servers misbehave: errors retried within a run, pages that are not data, a failed Slack post.
    workday.fault({ kind: 'status', status: 500, retryAfter: '0', times: 2 });
    workdayOauth.fault({ on: 'token', kind: 'status', status: 503, retryAfter: '0', times: 4 });
    workdayBroken.fault({ kind: 'html', times: 1000 });
    google.fault({ on: 'users', kind: 'status', status: 500, times: 1 });
    googleBroken.fault({ kind: 'html', on: 'users' });
    slack.fault({ method: 'chat.postMessage', error: 'not_in_channel', times: 1 });

    const runIds: Record<string, string> = {};
    for (const [name, configurationId] of Object.entries(configurationIds)) {
      runIds[name] = (await triggerRun(stack.owner, stack.boss, configurationId, 'manual')).runId;
    }
    const { 'Workday OAuth': slowRun, ...quick } = runIds;
    const statuses = await settled(Object.values(quick));
    for (const [name, { expect: status }] of Object.entries(cases)) {
      expect({ name, status: statuses.get(runIds[name]!) }).toEqual({ name, status });
    }

    // Support looks into the failures: the run, the configurations, Slack, a dry run of a failing
    // configuration (the source is read in the CLI's own process), and log exports.
    const cliExport = async (runId: string, format: string) => {
      const out = join(exportDir, `cli-${format}-${runId}`);
      mkdirSync(out);
      return JSON.parse(await stack.cli('logs', 'export', runId, '--format', format, '--out', out))
        .path as string;
    };
    const cookie = await stack.sessionCookie(acme.accounts['people-admin']);
    const [dryRun] = await Promise.all([
      stack.cliResult('sync', 'dry-run', configurationIds['Workday wrong client secret']!),
      stack.cli('runs', 'show', runIds['SFTP wrong passphrase']!),
      stack.cli('config', 'list', '--org', acme.id),
      stack.cli('slack', 'status', '--org', acme.id),
      cliExport(runIds['Workday password']!, 'csv'),
      cliExport(runIds['Google wrong key']!, 'xlsx'),
      // The API's downloads of every run's log, and the runs list.
      (async () => {
        // Each run's log once, the formats taking turns (they render the same lines).
        for (const [index, runId] of Object.values(quick).entries()) {
          await downloadLog(cookie, runId, index % 2 === 0 ? 'csv' : 'xlsx');
        }
        const list = await fetch(
          `${stack.baseUrl}/trpc/runs.list?input=${encodeURIComponent(JSON.stringify({ filter: { range: 'all' } }))}`,
          { headers: { cookie } },
        );
        expect(list.status).toBe(200);
        apiAnswers.push(await list.text());
      })(),
      // Slack: the admin links their account the way the link page does, then asks for logs by
      // command and by button; one upload fails; a forged request is refused.
      (async () => {
        const command = (text: string) =>
          slack.sendCommand(slackCommandsUrl, { teamId: SLACK_TEAM, userId: SLACK_ADMIN, text });
        const code = /code=([A-Za-z0-9_-]+)/.exec(await answerTo(await command('link')))![1]!;
        const confirmed = await fetch(`${stack.baseUrl}/trpc/slack.confirmLink`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: stack.baseUrl, cookie },
          body: JSON.stringify({ code }),
        });
        expect(confirmed.status).toBe(200);
        // Commands are independent jobs: sent together, as a team's admins would.
        const button = slack.messages
          .flatMap((message) => message.blocks ?? [])
          .flatMap((block) => (block.elements as { action_id?: string; value?: string }[] | undefined) ?? [])
          .find((element) => element.action_id === 'download_log_xlsx')!;
        const answers = await Promise.all([
          command('latest').then(answerTo),
          command(`${runIds.Google} xlsx`).then(answerTo),
          command('"Workday server error" csv').then(answerTo),
          slack
            .clickButton(slackCommandsUrl.replace(/commands$/, 'interactions'), {
              teamId: SLACK_TEAM,
              userId: SLACK_ADMIN,
              actionId: button.action_id!,
              value: button.value!,
            })
            .then(answerTo),
        ]);
        expect(answers).toEqual(
          Array(4).fill(expect.stringMatching(/^Sent “Sync Logs - .+” to you in a direct message\.$/)),
        );
        expect(slack.files).toHaveLength(4);
        // Help is answered in the acknowledgement itself.
        expect(JSON.parse((await command('help')).body).text).toContain('/sync-logs link');
        const forged = await slack.sendCommand(slackCommandsUrl, {
          teamId: SLACK_TEAM,
          userId: SLACK_ADMIN,
          text: 'latest',
          signature: 'bad',
        });
        expect(forged.status).toBe(401);
        slack.fault({ upload: 500, times: 1 });
        expect(await answerTo(await command(`${runIds['SFTP key']} csv`))).toMatch(
          /^Slack did not take the file/,
        );
        await answerTo(await command('unlink'));
      })(),
    ]);
    expect(dryRun!.code).toBe(1);

    // The run the queue retried, after its token endpoint came back.
    expect((await settled([slowRun!])).get(slowRun!)).toBe(slowCase.expect);
    await downloadLog(cookie, slowRun!, 'xlsx');
    expect(slack.messages.length).toBe(Object.keys(runIds).length - 1);

    // The control: the same searches find each canary where it was planted on purpose (the CLI's
    // input, a table of its own), so a clean result below means the secrets are absent, not that the
    // searches are blind.
    const fed = readdirSync(inputDir)
      .map((name) => readFileSync(join(inputDir, name), 'utf8'))
      .join('\n');
    expect(canaryNamesIn(`${fed}\n${slack.signingSecret}`).sort()).toEqual(Object.keys(CANARIES).sort());
    expect(canariesIn('input', fed).length).toBeGreaterThan(Object.keys(CANARIES).length);
    await sql('create schema canary_control');
    await sql('create table canary_control.planted (note text, payload jsonb, raw bytea)');
    await sql('insert into canary_control.planted values ($1, $2, $3)', [
      `a note: ${CANARIES['sftp-password']}`,
      JSON.stringify({ key: googleKey }),
      Buffer.from(`bytes ${CANARIES['slack-bot-token']} bytes`),
    ]);
    const database = await canariesInDatabase(stack.database.url);
    await sql('drop schema canary_control cascade');

    // The database: the planted rows found, and nothing else (a leak is listed with the others below).
    const isPlanted = (hit: ColumnHit) => hit.column.startsWith('canary_control.');
    expect(database.hits.filter(isPlanted)).toEqual([
      { column: 'canary_control.planted.note', rows: 1 },
      { column: 'canary_control.planted.payload', rows: 1 },
      { column: 'canary_control.planted.raw', rows: 1 },
    ]);
    const leaks = database.hits
      .filter((hit) => !isPlanted(hit))
      .map((hit) => `database column ${hit.column}: ${hit.rows} row(s)`);
    expect(database.searched).toEqual(
      expect.arrayContaining([
        'public.sync_log_chunk.lines',
        'public.sync_run.error_summary',
        'pgboss.job.data',
      ]),
    );
    const sealed = await sql<{ column: string; value: string }>(
      `select 'secrets' as column, secrets as value from sync_configuration
        union all select 'bot_token', bot_token from slack_installation`,
    );
    expect(sealed).toHaveLength(Object.keys(configurationIds).length + 1);
    expect(sealed.flatMap((row) => canariesIn(row.column, row.value ?? ''))).toEqual([]);
    expect(sealed.every((row) => row.value !== null)).toBe(true);

    // Everything else the product wrote or sent: the processes' output (complete once they have
    // stopped), API answers, exports, and what Slack received.
    await stack.close();
    for (const file of stack.logFiles()) leaks.push(...canariesIn(file, readFileSync(file, 'utf8')));
    for (const answer of apiAnswers) leaks.push(...canariesIn('api answer', answer));
    const exported = readdirSync(exportDir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
    expect(exported).toHaveLength(Object.keys(runIds).length + 2);
    for (const file of exported) leaks.push(...canariesIn(file, await exportText(file, readFileSync(file))));
    for (const message of slack.messages) leaks.push(...canariesIn('slack message', JSON.stringify(message)));
    for (const response of slack.responses)
      leaks.push(...canariesIn('slack response', JSON.stringify(response)));
    for (const file of slack.files) {
      leaks.push(...canariesIn(`slack file ${file.filename}`, `${file.title} ${file.initialComment}`));
      leaks.push(...canariesIn(`slack file ${file.filename}`, await exportText(file.filename, file.bytes)));
    }
    expect(leaks).toEqual([]);
  }, 300_000);
});
