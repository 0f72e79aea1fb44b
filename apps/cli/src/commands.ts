import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  approveBlockedRun,
  configurationView,
  createAccount,
  createBoss,
  createConfiguration,
  createOrganisation,
  deleteSlackInstallation,
  directoryUserView,
  ensureQueues,
  getAccountByEmail,
  getConfiguration,
  getOrganisation,
  getRunDetailsForSupport,
  getSlackInstallation,
  listConfigurations,
  listDirectoryUsers,
  listRunsForSupport,
  migrate,
  notificationSummary,
  pauseConfiguration,
  requestCancel,
  resumeConfiguration,
  revokeSessionsOf,
  triggerRun,
  updateOrganisation,
} from '@provisioning/db';
import {
  AccountInputSchema,
  LOG_FORMATS,
  type LogFormat,
  OrganisationInputSchema,
  OrganisationUpdateSchema,
  parseInput,
  ROLES,
  RUN_STATUS_INFO,
  type RunDetails,
  SLACK_NOTIFY_POLICIES,
  SlackNotifyPolicySchema,
  SyncConfigurationInputSchema,
} from '@provisioning/shared';
import { connectWorkspace } from '@provisioning/slack';
import {
  connectorHosts,
  dryRunLogBatches,
  dryRunSync,
  hostWarning,
  LogDirectoryError,
  logFileName,
  SourceError,
  writeFileInto,
  writeLogFile,
  writeRunLogFile,
} from '@provisioning/sync';
import type PgBoss from 'pg-boss';
import {
  daysFlag,
  numberFlag,
  type OptionsSpec,
  onOffFlag,
  optionalFlag,
  readJsonFile,
  requiredFlag,
  UsageError,
} from './args.ts';
import type { Database } from './database.ts';

type Values = Record<string, string | string[] | boolean | undefined>;

/** Where a command writes its output: the process's streams, or a test's buffers. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Command {
  usage: string;
  summary: string;
  options: OptionsSpec;
  positionals: string[];
  run(db: Database, values: Values, positionals: Record<string, string>, io: CliIo): Promise<unknown>;
}

const orgFlags: OptionsSpec = {
  name: { type: 'string' },
  timezone: { type: 'string' },
  provisioning: { type: 'string' },
  'sync-service': { type: 'string' },
};

function orgFields(values: Values): Record<string, unknown> {
  const update: Record<string, unknown> = {
    name: optionalFlag(values, 'name'),
    timeZone: optionalFlag(values, 'timezone'),
    provisioningEnabled: onOffFlag(values, 'provisioning'),
    syncService: optionalFlag(values, 'sync-service'),
  };
  return Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined));
}

function logFormatFlag(values: Values): LogFormat {
  const format = requiredFlag(values, 'format');
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be "csv" or "xlsx", got ${JSON.stringify(format)}`);
  }
  return format as LogFormat;
}

function outDirFlag(values: Values): string {
  const dir = resolve(requiredFlag(values, 'out'));
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--out: ${dir} is not a directory`);
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--out: ${dir} ${code === 'ENOENT' ? 'does not exist' : `is not a writable directory (${code ?? (error as Error).message})`}`,
    );
  }
  return dir;
}

/** `write` into `dir` (see writeFileInto); a directory it cannot write in is a bad `--out`. */
async function writeOut<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof LogDirectoryError) throw new UsageError(`--out: ${error.message}`);
    throw error;
  }
}

/**
 * `sync dry-run`: what a run would do now, writing nothing; with `--out`, the result log it would write,
 * under the download name of a run started now.
 */
async function dryRun(db: Database, configurationId: string, values: Values) {
  const dir = values.out === undefined ? null : outDirFlag(values);
  if (dir === null && values.format !== undefined) {
    throw new UsageError('--format applies to the log written with --out DIR: give --out too');
  }
  const format: LogFormat = values.format === undefined ? 'csv' : logFormatFlag(values);
  let result: Awaited<ReturnType<typeof dryRunSync>>;
  try {
    result = await dryRunSync(db.orm, configurationId, {
      secretKey: db.secretKey(),
      allowList: db.allowList,
    });
  } catch (error) {
    if (error instanceof SourceError) throw new Error(`${error.message}\nWhat to do: ${error.hint}`);
    throw error;
  }
  if (dir === null) return result.report;
  const name = logFileName(result.startedAt, result.timeZone, format);
  const log = await writeOut(() =>
    writeFileInto(dir, name, (output) =>
      writeLogFile('result', format, dryRunLogBatches(result.plan), output),
    ),
  );
  return { ...result.report, log };
}

export const COMMANDS: Record<string, Command> = {
  migrate: {
    usage: 'migrate',
    summary: 'Apply pending database migrations',
    options: {},
    positionals: [],
    run: async (db) => ({ applied: await migrate(db.orm) }),
  },
  'org create': {
    usage: 'org create --name N [--timezone TZ] [--provisioning on|off] [--sync-service user-sync|legacy]',
    summary: 'Create an organisation',
    options: orgFlags,
    positionals: [],
    run: async (db, values) => {
      requiredFlag(values, 'name');
      const input = parseInput(OrganisationInputSchema, orgFields(values), 'Organisation');
      const organisation = await createOrganisation(db.orm.em.fork(), input);
      return { id: organisation.id };
    },
  },
  'org update': {
    usage:
      'org update ID [--name N] [--timezone TZ] [--provisioning on|off] [--sync-service user-sync|legacy] [--log-retention-days N] [--run-retention-days N]',
    summary:
      'Change an organisation; retention: days a finished run keeps its log (7-3650, default 90) and its record (at least the log retention, default 400)',
    options: {
      ...orgFlags,
      'log-retention-days': { type: 'string' },
      'run-retention-days': { type: 'string' },
    },
    positionals: ['ID'],
    run: async (db, values, { ID }) => {
      const retention = {
        logRetentionDays: daysFlag(values, 'log-retention-days'),
        runRetentionDays: daysFlag(values, 'run-retention-days'),
      };
      const fields = {
        ...orgFields(values),
        ...Object.fromEntries(Object.entries(retention).filter(([, v]) => v !== undefined)),
      };
      if (Object.keys(fields).length === 0) throw new UsageError('Nothing to update: give at least one flag');
      const update = parseInput(OrganisationUpdateSchema, fields, 'Organisation update');
      const organisation = await updateOrganisation(db.orm.em.fork(), ID as string, update);
      return {
        id: organisation.id,
        name: organisation.name,
        timeZone: organisation.timeZone,
        provisioningEnabled: organisation.provisioningEnabled,
        syncService: organisation.syncService,
        logRetentionDays: organisation.logRetentionDays,
        runRetentionDays: organisation.runRetentionDays,
      };
    },
  },
  'account create': {
    usage: `account create --org ORG --email E --name N --password P --role R [--role R ...]  (R: ${ROLES.join(' ')})`,
    summary: 'Create an admin-panel account',
    options: {
      org: { type: 'string' },
      email: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string', multiple: true },
    },
    positionals: [],
    run: async (db, values) => {
      const input = parseInput(
        AccountInputSchema,
        {
          organisationId: requiredFlag(values, 'org'),
          email: requiredFlag(values, 'email'),
          name: requiredFlag(values, 'name'),
          password: requiredFlag(values, 'password'),
          roles: (values.role as string[] | undefined) ?? [],
        },
        'Account',
      );
      const account = await createAccount(db.orm.em.fork(), input);
      return { id: account.id };
    },
  },
  'account sign-out': {
    usage: 'account sign-out --email E',
    summary: 'Sign an account out of every browser (its sessions are revoked)',
    options: { email: { type: 'string' } },
    positionals: [],
    run: async (db, values) => {
      const em = db.orm.em.fork();
      const account = await getAccountByEmail(em, requiredFlag(values, 'email'));
      return { accountId: account.id, revokedSessions: await revokeSessionsOf(em, account.id) };
    },
  },
  'config create': {
    usage:
      'config create --org ORG --name N --connector sftp|workday|google-workspace --settings FILE.json [--mapping FILE.json] [--schedule CRON] [--threshold-count N] [--threshold-percent P] [--alert-after N] [--pause-after N]',
    summary: 'Create a sync configuration (secrets in the settings are stored encrypted)',
    options: {
      org: { type: 'string' },
      name: { type: 'string' },
      connector: { type: 'string' },
      settings: { type: 'string' },
      mapping: { type: 'string' },
      schedule: { type: 'string' },
      'threshold-count': { type: 'string' },
      'threshold-percent': { type: 'string' },
      'alert-after': { type: 'string' },
      'pause-after': { type: 'string' },
    },
    positionals: [],
    run: async (db, values) => {
      const organisationId = requiredFlag(values, 'org');
      const raw = {
        name: requiredFlag(values, 'name'),
        connector: requiredFlag(values, 'connector'),
        settings: readJsonFile(requiredFlag(values, 'settings'), 'settings'),
        mapping:
          values.mapping === undefined ? undefined : readJsonFile(requiredFlag(values, 'mapping'), 'mapping'),
        schedule: optionalFlag(values, 'schedule'),
        thresholdCount: numberFlag(values, 'threshold-count'),
        thresholdPercent: numberFlag(values, 'threshold-percent'),
        alertAfterFailures: numberFlag(values, 'alert-after'),
        pauseAfterFailures: numberFlag(values, 'pause-after'),
      };
      const input = parseInput(SyncConfigurationInputSchema, raw, 'Configuration');
      const configuration = await createConfiguration(
        db.orm.em.fork(),
        organisationId,
        input,
        db.secretKey(),
      );
      const hosts = connectorHosts(configuration.connector, input.settings);
      const warnings = (await Promise.all(hosts.map((host) => hostWarning(host, db.allowList)))).filter(
        (warning) => warning !== null,
      );
      // Created all the same: support may be about to add the host to the allow-list.
      return warnings.length === 0 ? { id: configuration.id } : { id: configuration.id, warnings };
    },
  },
  'config list': {
    usage: 'config list --org ORG',
    summary:
      "List an organisation's sync configurations (secrets never shown), each with its failure streak: failing from the alert, paused and why",
    options: { org: { type: 'string' } },
    positionals: [],
    run: async (db, values) =>
      (await listConfigurations(db.orm.em.fork(), requiredFlag(values, 'org'))).map(configurationView),
  },
  'config show': {
    usage: 'config show ID',
    summary: 'Show one sync configuration (secrets never shown), with its failure streak and pause',
    options: {},
    positionals: ['ID'],
    run: async (db, _values, { ID }) =>
      configurationView(await getConfiguration(db.orm.em.fork(), ID as string)),
  },
  'config pause': {
    usage: 'config pause ID --reason TEXT',
    summary:
      'Pause the schedule of a configuration: no scheduled run is queued until `config resume`; `sync run` still works',
    options: { reason: { type: 'string' } },
    positionals: ['ID'],
    run: (db, values, { ID }) =>
      pauseConfiguration(db.orm.em.fork(), ID as string, { reason: requiredFlag(values, 'reason') }),
  },
  'config resume': {
    usage: 'config resume ID',
    summary:
      'Resume the schedule of a paused configuration (paused by support, or by the circuit breaker after failures in a row) and clear its failure streak',
    options: {},
    positionals: ['ID'],
    run: (db, _values, { ID }) => resumeConfiguration(db.orm.em.fork(), ID as string),
  },
  'sync run': {
    usage: 'sync run CONFIG [--wait]',
    summary: 'Enqueue a run of a configuration for the worker',
    options: { wait: { type: 'boolean' } },
    positionals: ['CONFIG'],
    run: async (db, values, { CONFIG }, io) => {
      const { runId } = await withBoss(db, (boss) => triggerRun(db.orm, boss, CONFIG as string, 'manual'));
      if (!values.wait) return getRunDetailsForSupport(db.orm.em.fork(), runId);
      return waitForRun(db, runId, io);
    },
  },
  'sync dry-run': {
    usage: 'sync dry-run CONFIG [--out DIR] [--format csv|xlsx]',
    summary:
      'Load, plan and check the threshold as a run of the configuration would now, writing nothing (no run, no users, no log); --out writes the result log it would write (CSV unless --format xlsx)',
    options: { out: { type: 'string' }, format: { type: 'string' } },
    positionals: ['CONFIG'],
    run: (db, values, { CONFIG }) => dryRun(db, CONFIG as string, values),
  },
  'sync approve': {
    usage: 'sync approve RUN --by NAME --reason TEXT',
    summary:
      'Approve the plan of a run that ended Above Deactivation Threshold (the newest of its configuration, within 24 hours of its end, once) and queue the run that applies it: it may deactivate only users of that plan',
    options: { by: { type: 'string' }, reason: { type: 'string' } },
    positionals: ['RUN'],
    run: (db, values, { RUN }) => {
      const input = { by: requiredFlag(values, 'by'), reason: requiredFlag(values, 'reason') };
      return withBoss(db, (boss) => approveBlockedRun(db.orm, boss, RUN as string, input));
    },
  },
  'sync cancel': {
    usage: 'sync cancel RUN',
    summary: 'Cancel a queued or running run',
    options: {},
    positionals: ['RUN'],
    run: async (db, _values, { RUN }) => {
      const cancel = await requestCancel(db.orm.em.fork(), RUN as string);
      return { ...(await getRunDetailsForSupport(db.orm.em.fork(), RUN as string)), cancel };
    },
  },
  'runs list': {
    usage: 'runs list --org ORG',
    summary: "List an organisation's runs, newest first (at most 100)",
    options: { org: { type: 'string' } },
    positionals: [],
    run: (db, values) => listRunsForSupport(db.orm.em.fork(), requiredFlag(values, 'org')),
  },
  'runs show': {
    usage: 'runs show RUN',
    summary: 'Show one run with its counts',
    options: {},
    positionals: ['RUN'],
    run: (db, _values, { RUN }) => getRunDetailsForSupport(db.orm.em.fork(), RUN as string),
  },
  'logs export': {
    usage: 'logs export RUN --format csv|xlsx --out DIR',
    summary:
      "Write a run's log file into DIR under its download name (Sync Logs - 15 Jan 2024 10.30pm.csv), replacing one of that name",
    options: { format: { type: 'string' }, out: { type: 'string' } },
    positionals: ['RUN'],
    run: async (db, values, { RUN }) => {
      const format = logFormatFlag(values);
      const dir = outDirFlag(values);
      const em = db.orm.em.fork();
      return {
        path: (await writeOut(() => writeRunLogFile({ em, runId: RUN as string, format, dir }))).path,
      };
    },
  },
  'slack connect': {
    usage: `slack connect --org ORG --token-file FILE --channel CHANNEL_ID [--notify ${SLACK_NOTIFY_POLICIES.join('|')}]`,
    summary:
      "Connect an organisation's Slack workspace: the bot token is read from FILE, checked with Slack and stored encrypted",
    options: {
      org: { type: 'string' },
      'token-file': { type: 'string' },
      channel: { type: 'string' },
      notify: { type: 'string' },
    },
    positionals: [],
    run: async (db, values) => {
      const organisationId = requiredFlag(values, 'org');
      const notify = parseInput(
        SlackNotifyPolicySchema,
        optionalFlag(values, 'notify') ?? 'failures-and-recovery',
        'Notification policy',
      );
      const installation = await connectWorkspace(db.orm.em.fork(), db.secretKey(), {
        organisationId,
        botToken: readTokenFile(requiredFlag(values, 'token-file')),
        channelId: requiredFlag(values, 'channel'),
        notify,
        apiUrl: db.slackApiUrl,
      });
      return {
        ...installation,
        next: `Invite the bot to the channel (/invite in ${installation.channelId}), then set SLACK_SIGNING_SECRET for the worker.`,
      };
    },
  },
  'slack disconnect': {
    usage: 'slack disconnect --org ORG',
    summary: "Disconnect an organisation's Slack workspace (its token and linked Slack users are forgotten)",
    options: { org: { type: 'string' } },
    positionals: [],
    run: async (db, values) => ({
      disconnected: await deleteSlackInstallation(db.orm.em.fork(), requiredFlag(values, 'org')),
    }),
  },
  'slack status': {
    usage: 'slack status --org ORG',
    summary: "Show an organisation's Slack workspace and how its run notifications went (token never shown)",
    options: { org: { type: 'string' } },
    positionals: [],
    run: async (db, values) => {
      const em = db.orm.em.fork();
      const organisation = await getOrganisation(em, requiredFlag(values, 'org'));
      const installation = await getSlackInstallation(em, organisation.id);
      const notifications = await notificationSummary(em, organisation.id);
      return installation
        ? { connected: true, ...installation, notifications }
        : { connected: false, notifications };
    },
  },
  'users list': {
    usage: 'users list --org ORG',
    summary: "List an organisation's directory users",
    options: { org: { type: 'string' } },
    positionals: [],
    run: async (db, values) =>
      (await listDirectoryUsers(db.orm.em.fork(), requiredFlag(values, 'org'))).map(directoryUserView),
  },
};

/** Bytes a token file may have: a bot token is some 60 characters. */
const TOKEN_FILE_MAX_BYTES = 4096;

/** The bot token from a file (not a flag: flags end up in shell history and process lists). */
function readTokenFile(path: string): string {
  let text: string;
  try {
    if (statSync(path).size > TOKEN_FILE_MAX_BYTES) {
      throw new UsageError(
        `--token-file: ${path} is larger than a token file (${TOKEN_FILE_MAX_BYTES} bytes at most)`,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--token-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  return text.trim();
}

/** pg-boss as a sender only: no maintenance or schedules from the CLI, that is the worker's work. */
async function withBoss<T>(db: Database, use: (boss: PgBoss) => Promise<T>): Promise<T> {
  const boss = createBoss(db.url, { max: 2, supervise: false, schedule: false });
  await boss.start();
  try {
    await ensureQueues(boss);
    return await use(boss);
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

const WAIT_POLL_MS = 500;
const NO_WORKER_NOTICE_MS = 15_000;

/** Follows a run until it reaches a final status, as `sync run --wait` promises. */
async function waitForRun(db: Database, runId: string, io: CliIo): Promise<RunDetails> {
  const started = Date.now();
  let noticed = false;
  for (;;) {
    const run = await getRunDetailsForSupport(db.orm.em.fork(), runId);
    if (RUN_STATUS_INFO[run.status].final) return run;
    if (!noticed && run.status === 'queued' && Date.now() - started > NO_WORKER_NOTICE_MS) {
      io.stderr(
        'Still queued: is a worker running? (`pnpm start`, or `pnpm --filter ./apps/worker start`)\n',
      );
      noticed = true;
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}
