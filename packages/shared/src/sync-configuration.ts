import { z } from 'zod';
import { ConnectorSchema } from './connectors.ts';
import { FieldMappingSchema } from './directory-fields.ts';
import { TimeZoneSchema } from './organisation.ts';
import { singleLineText } from './text.ts';

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

function cronValue(token: string, field: (typeof CRON_FIELDS)[number]): number | null {
  if (/^\d{1,2}$/.test(token)) {
    const n = Number(token);
    return n >= field.min && n <= field.max ? n : null;
  }
  if ('names' in field) {
    const index = (field.names as readonly string[]).indexOf(token.toLowerCase());
    if (index >= 0) return index + (field.name === 'month' ? 1 : 0);
  }
  return null;
}

/** Checks a five-field cron expression; returns a readable problem, or null when it is valid. */
export function cronProblem(expression: string): string | null {
  const parts = expression.trim().split(/\s+/);
  if (parts.length === 1 && parts[0] === '') {
    return 'Schedule is empty: give 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *" for 02:00 daily';
  }
  if (parts.length !== 5) {
    return `Schedule must have 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}: e.g. "0 2 * * *" for 02:00 daily`;
  }
  for (const [i, part] of parts.entries()) {
    const field = CRON_FIELDS[i] as (typeof CRON_FIELDS)[number];
    for (const item of part.split(',')) {
      const match = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(item);
      const range = match?.[1];
      const step = match?.[2];
      let ok = range !== undefined && (step === undefined || Number(step) > 0);
      if (ok && range !== '*') {
        const [from, to, ...rest] = (range as string).split('-');
        const a = from === undefined ? null : cronValue(from, field);
        const b = to === undefined ? a : cronValue(to, field);
        ok = rest.length === 0 && a !== null && b !== null && a <= b;
      }
      if (!ok) return `Schedule ${field.name} "${item}" is not valid (allowed ${field.min}-${field.max})`;
    }
  }
  return null;
}

export const CronSchema = z
  .string()
  .trim()
  .max(100)
  .superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const ConfigurationNameSchema = singleLineText('Name', 100);

export const DEFAULT_THRESHOLD_COUNT = 500;
export const DEFAULT_THRESHOLD_PERCENT = 20;
/** The percentage limit applies only from this many active managed users. */
export const THRESHOLD_PERCENT_MIN_USERS = 100;

export const ThresholdCountSchema = z
  .number({ error: 'Threshold count must be a whole number' })
  .int('Threshold count must be a whole number')
  .min(0, 'Threshold count must be 0 or more')
  .max(10_000_000);
export const ThresholdPercentSchema = z
  .number({ error: 'Threshold percent must be a number' })
  .min(0, 'Threshold percent must be between 0 and 100')
  .max(100, 'Threshold percent must be between 0 and 100')
  // Stored as numeric(5,2): more decimals would be rounded silently.
  .refine((value) => Math.abs(Math.round(value * 100) - value * 100) < 1e-6, {
    message: 'Threshold percent may have at most two decimals',
  });

/** What support gives to create a configuration; connector settings are checked per connector. */
export const SyncConfigurationInputSchema = z.object({
  name: ConfigurationNameSchema,
  connector: ConnectorSchema,
  settings: z.record(z.string(), z.unknown()),
  mapping: FieldMappingSchema.default({}),
  schedule: CronSchema.nullable().default(null),
  scheduleTimeZone: TimeZoneSchema.nullable().default(null),
  thresholdCount: ThresholdCountSchema.default(DEFAULT_THRESHOLD_COUNT),
  thresholdPercent: ThresholdPercentSchema.default(DEFAULT_THRESHOLD_PERCENT),
  enabled: z.boolean().default(true),
});
export type SyncConfigurationInput = z.input<typeof SyncConfigurationInputSchema>;
