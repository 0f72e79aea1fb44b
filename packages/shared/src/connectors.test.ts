import { describe, expect, it } from 'vitest';
import {
  CONNECTOR_LABELS,
  CONNECTORS,
  ConnectorSchema,
  GoogleWorkspaceSettingsSchema,
  parseConnectorSettings,
  parseWorkdayReportUrl,
  SECRET_SETTINGS_FIELDS,
  SftpSettingsSchema,
  splitSecrets,
  WorkdaySettingsSchema,
} from './connectors.ts';

const FINGERPRINT = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';

const SFTP = {
  host: 'sftp.example.com',
  username: 'acme',
  password: 's3cret',
  hostFingerprint: FINGERPRINT,
  path: '/outbound/employees.csv',
};
const WORKDAY = {
  reportUrl: 'https://wd3-services1.myworkday.com/ccx/service/customreport2/acme/isu/Employees?format=json',
  username: 'isu_provisioning',
  password: 'wd-secret',
};
const GOOGLE = {
  adminEmail: 'admin@acme.example',
  serviceAccountEmail: 'sync@acme-project.iam.gserviceaccount.com',
  privateKey: PEM,
};

type Issues = { path: PropertyKey[]; message: string }[];

/** The problems of a failed parse as "path: message" lines. */
function problems(result: { success: boolean; error?: { issues: Issues } }): string[] {
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('connectors', () => {
  it('has a label for every connector and rejects unknown ones by listing them', () => {
    for (const connector of CONNECTORS) expect(CONNECTOR_LABELS[connector]).not.toBe('');
    expect(problems(ConnectorSchema.safeParse('ldap'))).toEqual([
      ': Connector must be one of: sftp, workday, google-workspace',
    ]);
  });
});

describe('SFTP settings', () => {
  it('parse with the defaults filled in', () => {
    expect(SftpSettingsSchema.parse(SFTP)).toEqual({
      ...SFTP,
      port: 22,
      format: 'auto',
      encoding: 'utf-8',
      maxBytes: 200 * 1024 * 1024,
      maxRows: 500_000,
      maxTextBytes: 128 * 1024 * 1024,
    });
  });

  it('accept a private key with a passphrase instead of a password', () => {
    const { password: _, ...rest } = SFTP;
    const settings = SftpSettingsSchema.parse({ ...rest, privateKey: PEM, passphrase: 'pass' });
    expect(settings.privateKey).toBe(PEM);
    expect(settings.password).toBeUndefined();
  });

  it('keep explicit values and normalise the encoding name', () => {
    const settings = SftpSettingsSchema.parse({
      ...SFTP,
      port: 2222,
      format: 'xlsx',
      sheet: 'Employees',
      encoding: ' UTF-16LE ',
      maxBytes: 1024,
      maxRows: 10,
    });
    expect(settings).toMatchObject({ port: 2222, format: 'xlsx', sheet: 'Employees', encoding: 'utf-16le' });
  });

  it('require a password or a private key', () => {
    const { password: _, ...rest } = SFTP;
    expect(problems(SftpSettingsSchema.safeParse(rest))).toEqual([
      'password: Either password or privateKey is required',
    ]);
  });

  it.each([
    ['an MD5 fingerprint', 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48'],
    ['a hex digest', 'b8d895ced92c0ac0e1771cbae4e5c3f3d1b01f3b4cc5f19a0d1e9f0f0e2c3a4b'],
    ['a digest without its prefix', 'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'],
    ['a truncated digest', 'SHA256:uNiVztksCsDhcc0u9e8BujQ'],
  ])('reject %s as the host fingerprint, showing the expected form', (_, hostFingerprint) => {
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, hostFingerprint }))).toEqual([
      `hostFingerprint: Host fingerprint must be in OpenSSH form, e.g. ${FINGERPRINT}`,
    ]);
  });

  it('require a host fingerprint', () => {
    const { hostFingerprint: _, ...rest } = SFTP;
    expect(problems(SftpSettingsSchema.safeParse(rest))).toHaveLength(1);
  });

  it('reject a relative path with an example of an absolute one', () => {
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, path: 'outbound/employees.csv' }))).toEqual([
      'path: Path must be absolute, e.g. /outbound/employees.csv',
    ]);
  });

  it('reject unknown keys', () => {
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, hostname: 'typo.example.com' }))).toEqual([
      ': Unrecognized key: "hostname"',
    ]);
  });

  it.each([
    [0, 'port: Port must be between 1 and 65535'],
    [70_000, 'port: Port must be between 1 and 65535'],
    ['22', 'port: Port must be a number between 1 and 65535'],
    [22.5, 'port: Port must be a whole number between 1 and 65535'],
  ])('reject port %j', (port, message) => {
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, port }))).toEqual([message]);
  });

  it('reject oversized values with one message each, without echoing them', () => {
    const huge = 'x'.repeat(1024 * 1024);
    const found = problems(
      SftpSettingsSchema.safeParse({ ...SFTP, username: huge, password: huge, host: huge, path: `/${huge}` }),
    );
    expect(found).toEqual([
      'host: Host must be at most 253 characters',
      'username: Username must be at most 200 characters',
      'password: Password is too long',
      'path: Path must be at most 1024 characters',
    ]);
  });

  it('reject a size limit above 2 GB and a row limit above 5 million', () => {
    expect(
      problems(SftpSettingsSchema.safeParse({ ...SFTP, maxBytes: 3 * 1024 ** 3, maxRows: 6_000_000 })),
    ).toHaveLength(2);
  });

  it('reject a text limit of zero or above 2 GB', () => {
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, maxTextBytes: 0 }))).toHaveLength(1);
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, maxTextBytes: 3 * 1024 ** 3 }))).toHaveLength(1);
  });

  it.each([
    ['a newline', 'sftp.example.com\nevil.example.com'],
    ['a NUL', 'sftp.example.com\u0000'],
    ['a space', 'sftp example.com'],
    ['a URL', 'sftp://sftp.example.com'],
    ['a user@ prefix', 'acme@sftp.example.com'],
    ['an option-like value', '-oProxyCommand=touch /tmp/x'],
  ])('reject a host containing %s', (_, host) => {
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, host }))).toEqual([
      'host: Host must be a host name or an IP address',
    ]);
  });

  it.each(['192.0.2.10', '2001:db8::1', '[2001:db8::1]', 'files.example-hr.co.uk'])(
    'accept the host %s',
    (host) => {
      expect(SftpSettingsSchema.parse({ ...SFTP, host }).host).toBe(host);
    },
  );

  it('reject control characters in the path and the username', () => {
    expect(
      problems(
        SftpSettingsSchema.safeParse({ ...SFTP, path: '/outbound/a.csv\u0000.txt', username: 'acme\nroot' }),
      ),
    ).toEqual([
      'username: Username must not contain control characters such as newlines',
      'path: Path must not contain control characters such as newlines',
    ]);
  });

  it('reject an empty password rather than treating it as absent', () => {
    expect(problems(SftpSettingsSchema.safeParse({ ...SFTP, password: '' }))).toEqual([
      'password: Password must not be empty',
    ]);
  });

  it('reject an unsupported encoding and format', () => {
    expect(
      problems(SftpSettingsSchema.safeParse({ ...SFTP, encoding: 'ebcdic', format: 'pdf' })),
    ).toHaveLength(2);
  });
});

describe('Workday settings', () => {
  const LIMITS = { timeoutMs: 60_000, maxBytes: 200 * 1024 * 1024, maxRows: 500_000 };
  const SOAP = {
    mode: 'soap',
    baseUrl: 'https://wd2-impl-services1.workday.com',
    tenant: 'acme',
    username: 'isu_provisioning',
    password: 'wd-secret',
  };
  const OAUTH = { clientId: 'client-1', clientSecret: 'client-secret', refreshToken: 'refresh-token' };

  it('parse settings without a mode as a custom report (RaaS), with the defaults filled in', () => {
    expect(WorkdaySettingsSchema.parse(WORKDAY)).toEqual({ mode: 'raas', ...WORKDAY, ...LIMITS });
  });

  it('read the tenant, owner and report from a report URL, prompts left in the query', () => {
    expect(
      parseWorkdayReportUrl(
        'https://wd3-services1.myworkday.com/ccx/service/customreport2/acme/isu%20owner/All_Workers?Effective_as_of_Date=2016-02-02-08:00',
      ),
    ).toEqual({
      origin: 'https://wd3-services1.myworkday.com',
      tenant: 'acme',
      owner: 'isu owner',
      report: 'All_Workers',
    });
  });

  it.each([
    'https://wd3-services1.myworkday.com/report',
    'https://wd3-services1.myworkday.com/ccx/service/customreport2/acme/isu',
    'https://wd3-services1.myworkday.com/ccx/service/customreport2/acme/isu/Employees/extra',
    'https://wd3-services1.myworkday.com/ccx/service/acme/Human_Resources/v41.0',
  ])('refuse %s, which is not a report URL, and show the shape expected', (reportUrl) => {
    expect(problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, reportUrl }))).toEqual([
      'reportUrl: reportUrl must be a Workday report URL: https://{host}/ccx/service/customreport2/{tenant}/{owner}/{report}',
    ]);
  });

  it('refuse plain http on a host that is not loopback', () => {
    const reportUrl = 'http://wd3-services1.myworkday.com/ccx/service/customreport2/acme/isu/Employees';
    expect(problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, reportUrl }))).toEqual([
      'reportUrl: Must use https (plain http is accepted only on localhost)',
    ]);
  });

  it('refuse plain http on a host that only starts like loopback', () => {
    const reportUrl = 'http://localhost.example.com/ccx/service/customreport2/acme/isu/Employees';
    expect(problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, reportUrl }))).toEqual([
      'reportUrl: Must use https (plain http is accepted only on localhost)',
    ]);
  });

  it.each(['http://127.0.0.1:8080', 'http://localhost:9000', 'http://[::1]:9000'])(
    'accept plain http on loopback: %s',
    (origin) => {
      const reportUrl = `${origin}/ccx/service/customreport2/acme/isu/Employees`;
      expect(WorkdaySettingsSchema.parse({ ...WORKDAY, reportUrl }).mode).toBe('raas');
    },
  );

  it.each(['not a url', 'https://', '', 'wd3-services1.myworkday.com/report'])(
    'report %j as not a URL instead of throwing',
    (reportUrl) => {
      expect(problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, reportUrl }))).toEqual([
        'reportUrl: Must be an http(s) URL',
      ]);
    },
  );

  it.each(['ftp://files.example.com/report', 'file:///etc/passwd', 'javascript:alert(1)'])(
    'reject the non-http URL %s with one message',
    (reportUrl) => {
      expect(problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, reportUrl }))).toEqual([
        'reportUrl: Must be an http(s) URL',
      ]);
    },
  );

  it('require a password or OAuth, and reject a timeout below one second', () => {
    const { password: _, ...rest } = WORKDAY;
    expect(problems(WorkdaySettingsSchema.safeParse({ ...rest, timeoutMs: 10 }))).toEqual([
      'timeoutMs: timeoutMs must be at least 1000 (one second)',
      'password: Either password or oauth is required',
    ]);
  });

  it('accept OAuth instead of a password, given as an object or as the JSON text it is stored as', () => {
    const { password: _, ...rest } = WORKDAY;
    expect(WorkdaySettingsSchema.parse({ ...rest, oauth: OAUTH }).oauth).toEqual(OAUTH);
    expect(WorkdaySettingsSchema.parse({ ...rest, oauth: JSON.stringify(OAUTH) }).oauth).toEqual(OAUTH);
  });

  it('refuse OAuth that lacks a part, without echoing the secrets given', () => {
    const partial = { clientId: 'client-1', clientSecret: 'client-secret' };
    expect(problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, oauth: partial }))).toEqual([
      'oauth.refreshToken: Invalid input: expected string, received undefined',
    ]);
    const refused = problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, oauth: 'refresh-token-text' }));
    expect(refused).toEqual(['oauth: OAuth must be an object with clientId, clientSecret and refreshToken']);
    expect(refused.join()).not.toContain('refresh-token-text');
  });

  it('refuse a mode other than raas or soap by naming both', () => {
    expect(problems(WorkdaySettingsSchema.safeParse({ ...WORKDAY, mode: 'rest' }))).toEqual([
      'mode: mode must be "raas" (a custom report) or "soap" (Get_Workers)',
    ]);
  });

  it('parse Get_Workers settings with the default version and page size, a "v" before the version dropped', () => {
    expect(WorkdaySettingsSchema.parse(SOAP)).toEqual({ ...SOAP, version: '41.0', pageSize: 100, ...LIMITS });
    expect(WorkdaySettingsSchema.parse({ ...SOAP, version: 'v40.1' })).toMatchObject({ version: '40.1' });
  });

  it('name every bad Get_Workers setting at once', () => {
    const { password: _, ...rest } = SOAP;
    expect(
      problems(
        WorkdaySettingsSchema.safeParse({
          ...rest,
          baseUrl: 'https://wd2-impl-services1.workday.com/ccx/service',
          tenant: 'acme corp',
          version: '29.2',
          pageSize: 1000,
          statusColumn: '',
        }),
      ),
    ).toEqual([
      'baseUrl: baseUrl must be the Workday web services host only, e.g. https://wd2-impl-services1.workday.com',
      'tenant: Tenant must be the Workday tenant name: letters, digits, _ and - only',
      'version: Version must be a Workday web service version of 30.0 or later, such as 41.0',
      'pageSize: pageSize must be between 1 and 999',
      'statusColumn: Status column is required',
      'password: Password is required: Get_Workers logs in as the Integration System User',
    ]);
  });

  it('keep OAuth out of Get_Workers settings, which sign in with the password', () => {
    expect(problems(WorkdaySettingsSchema.safeParse({ ...SOAP, oauth: OAUTH }))).toEqual([
      'oauth: oauth is for reports (mode "raas") only: Get_Workers signs in with the password',
    ]);
  });

  it('keep a report setting out of Get_Workers settings', () => {
    expect(problems(WorkdaySettingsSchema.safeParse({ ...SOAP, reportUrl: WORKDAY.reportUrl }))).toEqual([
      ': Unrecognized key: "reportUrl"',
    ]);
  });
});

describe('Google Workspace settings', () => {
  it('parse with the default customer and Google endpoints', () => {
    expect(GoogleWorkspaceSettingsSchema.parse(GOOGLE)).toEqual({
      ...GOOGLE,
      customerId: 'my_customer',
      tokenUrl: 'https://oauth2.googleapis.com/token',
      apiBaseUrl: 'https://admin.googleapis.com',
      maxBytes: 200 * 1024 * 1024,
      maxRows: 500_000,
      timeoutMs: 60_000,
    });
  });

  it('take a Directory search query, trimmed, and refuse one spanning lines or empty', () => {
    expect(GoogleWorkspaceSettingsSchema.parse({ ...GOOGLE, query: " orgUnitPath='/Staff' " }).query).toBe(
      "orgUnitPath='/Staff'",
    );
    expect(problems(GoogleWorkspaceSettingsSchema.safeParse({ ...GOOGLE, query: 'a\nb' }))).toEqual([
      'query: Query must not contain control characters such as newlines',
    ]);
    expect(problems(GoogleWorkspaceSettingsSchema.safeParse({ ...GOOGLE, query: '  ' }))).toEqual([
      'query: Query is required',
    ]);
  });

  it('take row, size and time limits, and name the bound a bad one breaks', () => {
    const limits = { maxRows: 10, maxBytes: 4096, timeoutMs: 1000 };
    expect(GoogleWorkspaceSettingsSchema.parse({ ...GOOGLE, ...limits })).toMatchObject(limits);
    expect(
      problems(
        GoogleWorkspaceSettingsSchema.safeParse({
          ...GOOGLE,
          maxRows: 0,
          maxBytes: 3 * 1024 ** 3,
          timeoutMs: 10,
        }),
      ),
    ).toEqual([
      'maxBytes: maxBytes must be at most 2 GB (2147483648)',
      'maxRows: maxRows must be at least 1',
      'timeoutMs: timeoutMs must be at least 1000 (one second)',
    ]);
    expect(
      problems(GoogleWorkspaceSettingsSchema.safeParse({ ...GOOGLE, maxRows: 1.5, timeoutMs: '60s' })),
    ).toEqual([
      'maxRows: maxRows must be a whole number of rows',
      'timeoutMs: timeoutMs must be a number of milliseconds',
    ]);
  });

  it('still accept settings stored before the limits and the query existed', () => {
    const stored = { ...GOOGLE, customerId: 'C03az79cb', domain: 'acme.example' };
    expect(GoogleWorkspaceSettingsSchema.parse(stored)).toMatchObject({ ...stored, maxRows: 500_000 });
  });

  it('reject an admin email that is not an email address', () => {
    expect(problems(GoogleWorkspaceSettingsSchema.safeParse({ ...GOOGLE, adminEmail: 'admin' }))).toEqual([
      'adminEmail: Admin email must be an email address',
    ]);
  });

  it('reject a service account email that is not an email address', () => {
    expect(
      problems(GoogleWorkspaceSettingsSchema.safeParse({ ...GOOGLE, serviceAccountEmail: 'sync at acme' })),
    ).toEqual(['serviceAccountEmail: Service account email must be an email address']);
  });

  it('reject a private key that is not a PEM private key', () => {
    expect(
      problems(
        GoogleWorkspaceSettingsSchema.safeParse({ ...GOOGLE, privateKey: '{"type":"service_account"}' }),
      ),
    ).toEqual(['privateKey: Private key must be the PEM key from the service account JSON']);
  });

  it('accept local token and API endpoints over http on loopback only', () => {
    const local = { tokenUrl: 'http://127.0.0.1:4010/token', apiBaseUrl: 'http://127.0.0.1:4010' };
    expect(GoogleWorkspaceSettingsSchema.parse({ ...GOOGLE, ...local })).toMatchObject(local);
    expect(
      problems(
        GoogleWorkspaceSettingsSchema.safeParse({ ...GOOGLE, tokenUrl: 'http://token.example.com/token' }),
      ),
    ).toEqual(['tokenUrl: Must use https (plain http is accepted only on localhost)']);
  });
});

describe('parseConnectorSettings', () => {
  it('uses the schema of the given connector', () => {
    expect(parseConnectorSettings('sftp', SFTP).success).toBe(true);
    expect(parseConnectorSettings('workday', SFTP).success).toBe(false);
    expect(parseConnectorSettings('google-workspace', GOOGLE).success).toBe(true);
  });
});

describe('splitSecrets', () => {
  it('puts exactly the SFTP password, private key and passphrase aside', () => {
    const settings = SftpSettingsSchema.parse({ ...SFTP, privateKey: PEM, passphrase: 'pass' });
    const { plain, secrets } = splitSecrets('sftp', settings);
    expect(secrets).toEqual({ password: 's3cret', privateKey: PEM, passphrase: 'pass' });
    expect(plain).toEqual({
      host: 'sftp.example.com',
      port: 22,
      username: 'acme',
      hostFingerprint: FINGERPRINT,
      path: '/outbound/employees.csv',
      format: 'auto',
      encoding: 'utf-8',
      maxBytes: 200 * 1024 * 1024,
      maxRows: 500_000,
      maxTextBytes: 128 * 1024 * 1024,
    });
  });

  it('puts the Workday password and OAuth aside (OAuth as JSON text) and keeps the username', () => {
    const oauth = { clientId: 'client-1', clientSecret: 'client-secret', refreshToken: 'refresh-token' };
    const { plain, secrets } = splitSecrets('workday', WorkdaySettingsSchema.parse({ ...WORKDAY, oauth }));
    expect(secrets).toEqual({ password: 'wd-secret', oauth: JSON.stringify(oauth) });
    expect(plain).toEqual({
      mode: 'raas',
      reportUrl: WORKDAY.reportUrl,
      username: 'isu_provisioning',
      timeoutMs: 60_000,
      maxBytes: 200 * 1024 * 1024,
      maxRows: 500_000,
    });
    expect(WorkdaySettingsSchema.parse({ ...plain, ...secrets })).toMatchObject({ oauth });
  });

  it('puts the Google private key aside', () => {
    const { plain, secrets } = splitSecrets('google-workspace', GoogleWorkspaceSettingsSchema.parse(GOOGLE));
    expect(secrets).toEqual({ privateKey: PEM });
    expect(Object.keys(plain).sort()).toEqual([
      'adminEmail',
      'apiBaseUrl',
      'customerId',
      'maxBytes',
      'maxRows',
      'serviceAccountEmail',
      'timeoutMs',
      'tokenUrl',
    ]);
  });

  it('leaves out secret fields that are not set', () => {
    const { secrets } = splitSecrets('sftp', { host: 'h', password: undefined, privateKey: PEM });
    expect(secrets).toEqual({ privateKey: PEM });
  });

  it('never leaves a secret field in the plain part, for every connector', () => {
    for (const connector of CONNECTORS) {
      const settings = Object.fromEntries(SECRET_SETTINGS_FIELDS[connector].map((field) => [field, 'x']));
      const { plain, secrets } = splitSecrets(connector, { ...settings, other: 1 });
      expect(plain).toEqual({ other: 1 });
      expect(Object.keys(secrets).sort()).toEqual([...SECRET_SETTINGS_FIELDS[connector]].sort());
    }
  });
});
