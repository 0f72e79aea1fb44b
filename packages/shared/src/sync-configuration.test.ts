import { describe, expect, it } from 'vitest';
import { cronProblem } from './cron.ts';
import { DIRECTORY_FIELDS, FieldMappingSchema } from './directory-fields.ts';
import {
  ConfigurationNameSchema,
  CronSchema,
  DEFAULT_THRESHOLD_COUNT,
  DEFAULT_THRESHOLD_PERCENT,
  SyncConfigurationInputSchema,
  ThresholdPercentSchema,
} from './sync-configuration.ts';

type Issues = { path: PropertyKey[]; message: string }[];

function problems(result: { success: boolean; error?: { issues: Issues } }): string[] {
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('cronProblem', () => {
  it.each([
    '0 2 * * *',
    '*/15 * * * *',
    '0 9 * * mon-fri',
    '0 9 * * MON-FRI',
    '0 0 1 jan,jul *',
    '30 6 1-7 * 1',
    '0 0 * * 0,7',
    '0-30/10 8-18/2 * * *',
    '  5 4 * * sun  ',
    '0 0 28-31 * *',
  ])('accepts "%s"', (expression) => {
    expect(cronProblem(expression)).toBeNull();
  });

  it.each([
    ['0 2 * *', 4],
    ['0 0 2 * * *', 6],
  ])('rejects "%s" for having %i fields, explaining the expected form', (expression, count) => {
    expect(cronProblem(expression)).toBe(
      `Schedule must have 5 fields (minute hour day-of-month month day-of-week), got ${count}: e.g. "0 2 * * *" for 02:00 daily`,
    );
  });

  it.each([
    ['60 * * * *', 'Schedule minute "60" is not valid (allowed 0-59)'],
    ['* 24 * * *', 'Schedule hour "24" is not valid (allowed 0-23)'],
    ['*/0 * * * *', 'Schedule minute "*/0" is not valid (allowed 0-59)'],
    ['5-1 * * * *', 'Schedule minute "5-1" is not valid (allowed 0-59)'],
    ['0 0 0 * *', 'Schedule day of month "0" is not valid (allowed 1-31)'],
    ['0 0 32 * *', 'Schedule day of month "32" is not valid (allowed 1-31)'],
    ['0 0 * 13 *', 'Schedule month "13" is not valid (allowed 1-12)'],
    ['0 0 * foo *', 'Schedule month "foo" is not valid (allowed 1-12)'],
    ['0 0 * * 8', 'Schedule day of week "8" is not valid (allowed 0-7)'],
    ['0 0 * * mon-funday', 'Schedule day of week "mon-funday" is not valid (allowed 0-7)'],
    ['0 0 * mon *', 'Schedule month "mon" is not valid (allowed 1-12)'],
    ['1,,2 * * * *', 'Schedule minute "" is not valid (allowed 0-59)'],
    ['1-2-3 * * * *', 'Schedule minute "1-2-3" is not valid (allowed 0-59)'],
    ['-5 * * * *', 'Schedule minute "-5" is not valid (allowed 0-59)'],
    ['5- * * * *', 'Schedule minute "5-" is not valid (allowed 0-59)'],
    ['*/x * * * *', 'Schedule minute "*/x" is not valid (allowed 0-59)'],
    ['? * * * *', 'Schedule minute "?" is not valid (allowed 0-59)'],
    ['0 2 * * 1;rm', 'Schedule day of week "1;rm" is not valid (allowed 0-7)'],
  ])('rejects "%s" naming the field', (expression, message) => {
    expect(cronProblem(expression)).toBe(message);
  });

  it('rejects an empty schedule and one of only spaces', () => {
    const message =
      'Schedule is empty: give 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *" for 02:00 daily';
    expect(cronProblem('')).toBe(message);
    expect(cronProblem('   ')).toBe(message);
  });
});

describe('CronSchema', () => {
  it('trims a valid expression', () => {
    expect(CronSchema.parse(' 0 2 * * * ')).toBe('0 2 * * *');
  });

  it('reports the problem as its message', () => {
    expect(problems(CronSchema.safeParse('60 * * * *'))).toEqual([
      ': Schedule minute "60" is not valid (allowed 0-59)',
    ]);
  });
});

const BASE = { name: 'HR feed', connector: 'sftp', settings: { host: 'sftp.example.com' } };

describe('SyncConfigurationInputSchema', () => {
  it('fills in the defaults: 500 users / 20%, enabled, no schedule, no mapping, alert after 3 failures, pause after 5', () => {
    expect(SyncConfigurationInputSchema.parse(BASE)).toEqual({
      ...BASE,
      mapping: {},
      schedule: null,
      scheduleTimeZone: null,
      thresholdCount: 500,
      thresholdPercent: 20,
      enabled: true,
      alertAfterFailures: 3,
      pauseAfterFailures: 5,
    });
    expect(DEFAULT_THRESHOLD_COUNT).toBe(500);
    expect(DEFAULT_THRESHOLD_PERCENT).toBe(20);
  });

  it('keeps a schedule, its time zone, thresholds of 0 and a disabled state', () => {
    const parsed = SyncConfigurationInputSchema.parse({
      ...BASE,
      schedule: '0 2 * * mon-fri',
      scheduleTimeZone: 'Europe/London',
      thresholdCount: 0,
      thresholdPercent: 0,
      enabled: false,
    });
    expect(parsed).toMatchObject({
      schedule: '0 2 * * mon-fri',
      scheduleTimeZone: 'Europe/London',
      thresholdCount: 0,
      thresholdPercent: 0,
      enabled: false,
    });
  });

  it('accepts a fractional percentage and 100%', () => {
    expect(SyncConfigurationInputSchema.parse({ ...BASE, thresholdPercent: 12.5 }).thresholdPercent).toBe(
      12.5,
    );
    expect(SyncConfigurationInputSchema.parse({ ...BASE, thresholdPercent: 100 }).thresholdPercent).toBe(100);
  });

  it.each([
    [{ thresholdCount: -1 }, 'thresholdCount: Threshold count must be 0 or more'],
    [{ thresholdCount: 2.5 }, 'thresholdCount: Threshold count must be a whole number'],
    [{ thresholdCount: '500' }, 'thresholdCount: Threshold count must be a whole number'],
    [{ thresholdPercent: 101 }, 'thresholdPercent: Threshold percent must be between 0 and 100'],
    [{ thresholdPercent: -0.5 }, 'thresholdPercent: Threshold percent must be between 0 and 100'],
    [{ schedule: '0 2 * *' }, 'schedule: Schedule must have 5 fields'],
    [{ scheduleTimeZone: 'Mars/Olympus' }, 'scheduleTimeZone: Unknown time zone "Mars/Olympus"'],
    [{ connector: 'ldap' }, 'connector: Connector must be one of: sftp, workday, google-workspace'],
    [{ name: '  ' }, 'name: Name is required'],
    [{ name: 'x'.repeat(101) }, 'name: Name must be at most 100 characters'],
  ])('rejects %j', (change, message) => {
    const found = problems(SyncConfigurationInputSchema.safeParse({ ...BASE, ...change }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });
});

describe('FieldMappingSchema', () => {
  it('accepts a mapping of directory fields to trimmed column names', () => {
    expect(FieldMappingSchema.parse({ email: ' Work Email ', employee_id: 'Worker ID' })).toEqual({
      email: 'Work Email',
      employee_id: 'Worker ID',
    });
  });

  it('rejects an unknown field by listing the valid fields', () => {
    expect(problems(FieldMappingSchema.safeParse({ emial: 'Work Email' }))).toEqual([
      `: Unknown directory field "emial": use one of ${DIRECTORY_FIELDS.join(', ')}`,
    ]);
  });

  it('names every unknown field in one message', () => {
    const [message] = problems(FieldMappingSchema.safeParse({ surname: 'Last', forename: 'First' }));
    expect(message).toMatch(
      /^: Unknown directory fields "surname", "forename": use one of employee_id, email,/,
    );
  });

  it('rejects the same column mapped to two fields, case-insensitively', () => {
    expect(
      problems(FieldMappingSchema.safeParse({ email: 'Work Email', manager_email: 'work email' })),
    ).toEqual(['manager_email: Column "work email" is already mapped to email']);
  });

  it('rejects an empty column name', () => {
    expect(problems(FieldMappingSchema.safeParse({ email: '   ' }))).toEqual([
      'email: Column name is required',
    ]);
  });

  it('rejects a column name that is not text', () => {
    expect(FieldMappingSchema.safeParse({ email: 3 }).success).toBe(false);
  });
});

describe('names and percentages', () => {
  it('rejects a configuration name with a newline or a NUL character', () => {
    expect(problems(ConfigurationNameSchema.safeParse('HR\nfeed'))).toEqual([
      ': Name must not contain control characters such as newlines',
    ]);
    expect(ConfigurationNameSchema.safeParse('HR\u0000feed').success).toBe(false);
  });

  it('accepts a threshold percent with two decimals and rejects a third', () => {
    expect(ThresholdPercentSchema.parse(33.33)).toBe(33.33);
    expect(problems(ThresholdPercentSchema.safeParse(99.999))).toEqual([
      ': Threshold percent may have at most two decimals',
    ]);
  });
});
