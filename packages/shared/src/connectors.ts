import { z } from 'zod';
import { noControlCharacters, singleLineText } from './text.ts';

export const CONNECTORS = ['sftp', 'workday', 'google-workspace'] as const;
export type Connector = (typeof CONNECTORS)[number];
export const ConnectorSchema = z.enum(CONNECTORS, {
  error: () => `Connector must be one of: ${CONNECTORS.join(', ')}`,
});

export const CONNECTOR_LABELS: Record<Connector, string> = {
  sftp: 'SFTP Sync',
  workday: 'Workday',
  'google-workspace': 'Google Workspace',
};

const hostName = z
  .string()
  .trim()
  .min(1, 'Host is required')
  .max(253, 'Host must be at most 253 characters')
  .regex(/^[A-Za-z0-9.-]+$|^\[?[0-9A-Fa-f:]+\]?$/, 'Host must be a host name or an IP address');

/** Plain-HTTP endpoints are only accepted on loopback (local fakes); real ones must be HTTPS. */
const endpointUrl = z
  .url({ protocol: /^https?$/, error: 'Must be an http(s) URL' })
  .max(2000)
  .refine((value) => {
    // Runs even when the URL check above failed (already reported): `new URL` would throw out of safeParse.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.protocol !== 'http:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  }, 'Must use https (plain http is accepted only on localhost)');

/** Control characters (newline, NUL...) are never part of a real user name or path, and would forge log lines. */

const username = z
  .string()
  .trim()
  .min(1, 'Username is required')
  .max(200, 'Username must be at most 200 characters')
  .pipe(noControlCharacters('Username'));

const secret = (label: string) =>
  z.string().min(1, `${label} must not be empty`).max(20_000, `${label} is too long`);

/**
 * Default of maxTextBytes: the source text a run may hold (its distinct values; for an XLSX file also the
 * shared strings and each reference to one), the guard against small files that unfold into gigabytes.
 * 200,000 generated users count 12 MB from CSV, 43 MB from a workbook with shared strings (as Excel
 * writes them). 470k rows of unique 1,000-character values peaked at 477 MB with 256 MB (120 MB of it
 * the bare process); 128 MB keeps that under the worker's 512 MB even for text that V8 stores at two
 * bytes a character (non-Latin scripts).
 */
export const DEFAULT_MAX_TEXT_BYTES = 128 * 1024 ** 2;

/** The most a run downloads from its source (compressed workbooks are also bounded unpacked). */
const maxBytes = z
  .number({ error: 'maxBytes must be a number of bytes' })
  .int('maxBytes must be a whole number of bytes')
  .min(1, 'maxBytes must be at least 1 byte')
  .max(2 * 1024 ** 3, 'maxBytes must be at most 2 GB (2147483648)')
  .default(200 * 1024 ** 2);

/** The most people a run reads from its source. */
const maxRows = z
  .number({ error: 'maxRows must be a number of rows' })
  .int('maxRows must be a whole number of rows')
  .min(1, 'maxRows must be at least 1')
  .max(5_000_000, 'maxRows must be at most 5000000')
  .default(500_000);

export const SftpSettingsSchema = z
  .object({
    host: hostName,
    port: z
      .number({ error: 'Port must be a number between 1 and 65535' })
      .int('Port must be a whole number between 1 and 65535')
      .min(1, 'Port must be between 1 and 65535')
      .max(65535, 'Port must be between 1 and 65535')
      .default(22),
    username,
    password: secret('Password').optional(),
    privateKey: secret('Private key').optional(),
    passphrase: secret('Passphrase').optional(),
    hostFingerprint: z
      .string()
      .trim()
      .regex(
        /^SHA256:[A-Za-z0-9+/]{43}=?$/,
        'Host fingerprint must be in OpenSSH form, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
      ),
    path: z
      .string()
      .trim()
      .min(1, 'Path is required')
      .max(1024, 'Path must be at most 1024 characters')
      .startsWith('/', 'Path must be absolute, e.g. /outbound/employees.csv')
      .pipe(noControlCharacters('Path')),
    format: z.enum(['auto', 'csv', 'xlsx']).default('auto'),
    sheet: singleLineText('Sheet', 31).optional(),
    delimiter: z.enum([',', ';', '\t', '|']).optional(),
    encoding: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'iso-8859-1']))
      .default('utf-8'),
    maxBytes,
    maxRows,
    /** Text a run may hold from the file, counted while reading (DEFAULT_MAX_TEXT_BYTES says why). */
    maxTextBytes: z
      .number()
      .int()
      .min(1)
      .max(2 * 1024 ** 3)
      .default(DEFAULT_MAX_TEXT_BYTES),
  })
  .strict()
  .refine((s) => s.password !== undefined || s.privateKey !== undefined, {
    message: 'Either password or privateKey is required',
    path: ['password'],
  });

/**
 * A Workday report-as-a-service URL: `https://{host}/ccx/service/customreport2/{tenant}/{owner}/{report}`,
 * prompts as query parameters (`?Effective_as_of_Date=2016-02-02-08:00`). The connector asks for JSON
 * itself (`format=json`). Null when `value` is not one: the parts otherwise.
 */
export function parseWorkdayReportUrl(
  value: string,
): { origin: string; tenant: string; owner: string; report: string } | null {
  if (!URL.canParse(value)) return null;
  const url = new URL(value);
  const match = /^\/ccx\/service\/customreport2\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
  if (!match) return null;
  const [tenant, owner, report] = match.slice(1).map((part) => decodeURIComponent(part)) as [
    string,
    string,
    string,
  ];
  return { origin: url.origin, tenant, owner, report };
}

/** Checks after endpointUrl's own skip what it already refused (not a URL, not http), not to say it twice. */
const isHttpUrl = (value: string) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

const WORKDAY_TENANT = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * Optional OAuth for Workday (an API client registered for integrations): a refresh token is exchanged at
 * `/ccx/oauth2/{tenant}/token` for a bearer token. Stored as one secret (JSON text), read back here.
 */
const workdayOauth = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  },
  z
    .object(
      {
        clientId: secret('OAuth client ID').pipe(noControlCharacters('OAuth client ID')),
        clientSecret: secret('OAuth client secret'),
        refreshToken: secret('OAuth refresh token'),
      },
      { error: 'OAuth must be an object with clientId, clientSecret and refreshToken' },
    )
    .strict(),
);

/** What both ways of reading Workday share: the Integration System User, limits, the status column. */
const workdayCommon = {
  /** The Integration System User (ISU): its plain name; SOAP logs in as `name@tenant`. */
  username,
  password: secret('Password').optional(),
  oauth: workdayOauth.optional(),
  /** The longest one request may take, the whole response included. */
  timeoutMs: z
    .number({ error: 'timeoutMs must be a number of milliseconds' })
    .int('timeoutMs must be a whole number of milliseconds')
    .min(1000, 'timeoutMs must be at least 1000 (one second)')
    .max(600_000, 'timeoutMs must be at most 600000 (ten minutes)')
    .default(60_000),
  /** The largest answer accepted: the report, or one Get_Workers page (pages are not kept). */
  maxBytes: z
    .number({ error: 'maxBytes must be a number of bytes' })
    .int('maxBytes must be a whole number of bytes')
    .min(1, 'maxBytes must be at least 1')
    .max(1024 ** 3, 'maxBytes must be at most 1073741824 (1 GB)')
    .default(200 * 1024 ** 2),
  maxRows: z
    .number({ error: 'maxRows must be a number' })
    .int('maxRows must be a whole number')
    .min(1, 'maxRows must be at least 1')
    .max(5_000_000, 'maxRows must be at most 5000000')
    .default(500_000),
  /**
   * The column saying whether a worker is active (`0`, `false`, `Terminated`, `Inactive`: left out).
   * Default: `Active`, else `Worker_Status`, when the report has one.
   */
  statusColumn: singleLineText('Status column', 200).optional(),
};

const WorkdayRaasSettingsSchema = z
  .object({
    mode: z.literal('raas'),
    reportUrl: endpointUrl.refine(
      (value) => !isHttpUrl(value) || parseWorkdayReportUrl(value) !== null,
      'reportUrl must be a Workday report URL: https://{host}/ccx/service/customreport2/{tenant}/{owner}/{report}',
    ),
    ...workdayCommon,
  })
  .strict()
  .refine((settings) => settings.password !== undefined || settings.oauth !== undefined, {
    message: 'Either password or oauth is required',
    path: ['password'],
  });

const WorkdaySoapSettingsSchema = z
  .object({
    mode: z.literal('soap'),
    /** The web services host, e.g. https://wd2-impl-services1.workday.com (no path). */
    baseUrl: endpointUrl.refine(
      (value) => !isHttpUrl(value) || /^\/?$/.test(new URL(value).pathname + new URL(value).search),
      'baseUrl must be the Workday web services host only, e.g. https://wd2-impl-services1.workday.com',
    ),
    tenant: z
      .string({ error: 'Tenant must be text' })
      .trim()
      .regex(WORKDAY_TENANT, 'Tenant must be the Workday tenant name: letters, digits, _ and - only'),
    /** The Human_Resources web service version, e.g. 41.0 (v30 or later). */
    version: z
      .string({ error: 'Version must be text such as 41.0' })
      .trim()
      .transform((value) => value.replace(/^v/i, ''))
      .pipe(
        z
          .string()
          .regex(
            /^[3-9]\d\.\d$/,
            'Version must be a Workday web service version of 30.0 or later, such as 41.0',
          ),
      )
      .default('41.0'),
    /** Workers per Get_Workers page (Workday allows up to 999). */
    pageSize: z
      .number({ error: 'pageSize must be a number' })
      .int('pageSize must be a whole number')
      .min(1, 'pageSize must be between 1 and 999')
      .max(999, 'pageSize must be between 1 and 999')
      .default(100),
    ...workdayCommon,
  })
  .strict()
  .refine((settings) => settings.password !== undefined, {
    message: 'Password is required: Get_Workers logs in as the Integration System User',
    path: ['password'],
  })
  .refine((settings) => settings.oauth === undefined, {
    message: 'oauth is for reports (mode "raas") only: Get_Workers signs in with the password',
    path: ['oauth'],
  });

/**
 * Workday settings: a custom report (RaaS, `mode: "raas"`, the default) or the Human_Resources SOAP
 * service's Get_Workers (`mode: "soap"`).
 */
export const WorkdaySettingsSchema = z.preprocess(
  (value) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && !('mode' in value)
      ? { mode: 'raas', ...value }
      : value,
  z.discriminatedUnion('mode', [WorkdayRaasSettingsSchema, WorkdaySoapSettingsSchema], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'mode must be "raas" (a custom report) or "soap" (Get_Workers)'
        : undefined,
  }),
);

export const GoogleWorkspaceSettingsSchema = z
  .object({
    customerId: singleLineText('Customer ID', 100).default('my_customer'),
    domain: singleLineText('Domain', 253).optional(),
    /** The Workspace administrator the service account impersonates (domain-wide delegation). */
    adminEmail: z.email('Admin email must be an email address'),
    serviceAccountEmail: z.email('Service account email must be an email address'),
    privateKey: secret('Private key').refine(
      (value) => value.includes('PRIVATE KEY'),
      'Private key must be the PEM key from the service account JSON',
    ),
    /**
     * A Directory API search (`orgUnitPath='/Staff'`, `isEnrolledIn2Sv=true`): only the users it matches
     * are synced, and only those can be deactivated by their absence.
     */
    query: singleLineText('Query', 1000).optional(),
    tokenUrl: endpointUrl.default('https://oauth2.googleapis.com/token'),
    apiBaseUrl: endpointUrl.default('https://admin.googleapis.com'),
    /** Counted over every page of the listing, as the responses arrive. */
    maxBytes,
    maxRows,
    /** How long one request may wait for an answer, and a response go without sending a byte. */
    timeoutMs: z
      .number({ error: 'timeoutMs must be a number of milliseconds' })
      .int('timeoutMs must be a whole number of milliseconds')
      .min(1000, 'timeoutMs must be at least 1000 (one second)')
      .max(600_000, 'timeoutMs must be at most 600000 (ten minutes)')
      .default(60_000),
  })
  .strict();

export const CONNECTOR_SETTINGS_SCHEMAS = {
  sftp: SftpSettingsSchema,
  workday: WorkdaySettingsSchema,
  'google-workspace': GoogleWorkspaceSettingsSchema,
} as const;

export type SftpSettings = z.infer<typeof SftpSettingsSchema>;
export type WorkdaySettings = z.infer<typeof WorkdaySettingsSchema>;
export type WorkdayRaasSettings = Extract<WorkdaySettings, { mode: 'raas' }>;
export type WorkdaySoapSettings = Extract<WorkdaySettings, { mode: 'soap' }>;
export type GoogleWorkspaceSettings = z.infer<typeof GoogleWorkspaceSettingsSchema>;
export type ConnectorSettings = {
  sftp: SftpSettings;
  workday: WorkdaySettings;
  'google-workspace': GoogleWorkspaceSettings;
};

/** Settings fields that are secrets: stored encrypted, never returned by any API or CLI output. */
export const SECRET_SETTINGS_FIELDS: Record<Connector, readonly string[]> = {
  sftp: ['password', 'privateKey', 'passphrase'],
  workday: ['password', 'oauth'],
  'google-workspace': ['privateKey'],
};

export function parseConnectorSettings<C extends Connector>(connector: C, settings: unknown) {
  return CONNECTOR_SETTINGS_SCHEMAS[connector].safeParse(settings);
}

/** Splits validated settings into the plain part and the secret part (encrypted at rest). */
export function splitSecrets(
  connector: Connector,
  settings: Record<string, unknown>,
): { plain: Record<string, unknown>; secrets: Record<string, string> } {
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (SECRET_SETTINGS_FIELDS[connector].includes(key)) {
      // A secret made of parts (Workday's oauth) is kept as JSON text; its schema reads it back.
      if (value !== undefined) secrets[key] = typeof value === 'string' ? value : JSON.stringify(value);
    } else {
      plain[key] = value;
    }
  }
  return { plain, secrets };
}
