import {
  configurationView,
  createAccount,
  createConfiguration,
  createOrganisation,
  directoryUserView,
  getRun,
  listConfigurations,
  listDirectoryUsers,
  listRunsForSupport,
  migrate,
  runView,
  updateOrganisation,
} from '@provisioning/db';
import {
  AccountInputSchema,
  OrganisationInputSchema,
  OrganisationUpdateSchema,
  parseInput,
  ROLES,
  SyncConfigurationInputSchema,
} from '@provisioning/shared';
import {
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

export interface Command {
  usage: string;
  summary: string;
  options: OptionsSpec;
  positionals: string[];
  run(db: Database, values: Values, positionals: Record<string, string>): Promise<unknown>;
}

/** A command whose capability is not built yet: it says so instead of pretending. */
export class NotAvailableError extends Error {}

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

const notAvailable = (what: string) => async () => {
  throw new NotAvailableError(
    `${what} is not available yet: it needs the sync engine and worker, which are not built yet`,
  );
};

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
      'org update ID [--name N] [--timezone TZ] [--provisioning on|off] [--sync-service user-sync|legacy]',
    summary: 'Change an organisation',
    options: orgFlags,
    positionals: ['ID'],
    run: async (db, values, { ID }) => {
      const fields = orgFields(values);
      if (Object.keys(fields).length === 0) throw new UsageError('Nothing to update: give at least one flag');
      const update = parseInput(OrganisationUpdateSchema, fields, 'Organisation update');
      const organisation = await updateOrganisation(db.orm.em.fork(), ID as string, update);
      return {
        id: organisation.id,
        name: organisation.name,
        timeZone: organisation.timeZone,
        provisioningEnabled: organisation.provisioningEnabled,
        syncService: organisation.syncService,
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
  'config create': {
    usage:
      'config create --org ORG --name N --connector sftp|workday|google-workspace --settings FILE.json [--mapping FILE.json] [--schedule CRON] [--threshold-count N] [--threshold-percent P]',
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
      };
      const input = parseInput(SyncConfigurationInputSchema, raw, 'Configuration');
      const configuration = await createConfiguration(
        db.orm.em.fork(),
        organisationId,
        input,
        db.secretKey(),
      );
      return { id: configuration.id };
    },
  },
  'config list': {
    usage: 'config list --org ORG',
    summary: "List an organisation's sync configurations (secrets never shown)",
    options: { org: { type: 'string' } },
    positionals: [],
    run: async (db, values) =>
      (await listConfigurations(db.orm.em.fork(), requiredFlag(values, 'org'))).map(configurationView),
  },
  'sync run': {
    usage: 'sync run CONFIG [--wait]',
    summary: 'Enqueue a run of a configuration for the worker',
    options: { wait: { type: 'boolean' } },
    positionals: ['CONFIG'],
    run: notAvailable('sync run'),
  },
  'sync cancel': {
    usage: 'sync cancel RUN',
    summary: 'Cancel a queued or running run',
    options: {},
    positionals: ['RUN'],
    run: notAvailable('sync cancel'),
  },
  'runs list': {
    usage: 'runs list --org ORG',
    summary: "List an organisation's runs, newest first (at most 100)",
    options: { org: { type: 'string' } },
    positionals: [],
    run: async (db, values) =>
      (await listRunsForSupport(db.orm.em.fork(), requiredFlag(values, 'org'))).map(runView),
  },
  'runs show': {
    usage: 'runs show RUN',
    summary: 'Show one run with its counts',
    options: {},
    positionals: ['RUN'],
    run: async (db, _values, { RUN }) => runView(await getRun(db.orm.em.fork(), RUN as string)),
  },
  'logs export': {
    usage: 'logs export RUN --format csv|xlsx --out DIR',
    summary: "Write a run's log file under its download name",
    options: { format: { type: 'string' }, out: { type: 'string' } },
    positionals: ['RUN'],
    run: notAvailable('logs export'),
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
