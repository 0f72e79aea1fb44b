import { z } from 'zod';
import { ConnectorSchema } from './connectors.ts';
import { cronProblem } from './cron.ts';
import { FieldMappingSchema } from './directory-fields.ts';
import { TimeZoneSchema } from './organisation.ts';
import { singleLineText } from './text.ts';

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

/**
 * The circuit breaker: after this many Data Load Failed runs in a row a Slack alert goes out, and after
 * DEFAULT_PAUSE_AFTER_FAILURES the configuration's schedule is paused until support resumes it.
 */
export const DEFAULT_ALERT_AFTER_FAILURES = 3;
export const DEFAULT_PAUSE_AFTER_FAILURES = 5;
export const MAX_FAILURES_LIMIT = 100;

const failureCount = (label: string) =>
  z
    .number({ error: `${label} must be a whole number` })
    .int(`${label} must be a whole number`)
    .min(1, `${label} must be between 1 and ${MAX_FAILURES_LIMIT}`)
    .max(MAX_FAILURES_LIMIT, `${label} must be between 1 and ${MAX_FAILURES_LIMIT}`);

/** Support's pause of a configuration's schedule: `config pause ID --reason TEXT`. */
export const ConfigurationPauseInputSchema = z.strictObject({
  reason: singleLineText('The reason (--reason)', 500),
});
export type ConfigurationPauseInput = z.input<typeof ConfigurationPauseInputSchema>;

/** What support gives to create a configuration; connector settings are checked per connector. */
export const SyncConfigurationInputSchema = z
  .object({
    name: ConfigurationNameSchema,
    connector: ConnectorSchema,
    settings: z.record(z.string(), z.unknown()),
    mapping: FieldMappingSchema.default({}),
    schedule: CronSchema.nullable().default(null),
    scheduleTimeZone: TimeZoneSchema.nullable().default(null),
    thresholdCount: ThresholdCountSchema.default(DEFAULT_THRESHOLD_COUNT),
    thresholdPercent: ThresholdPercentSchema.default(DEFAULT_THRESHOLD_PERCENT),
    enabled: z.boolean().default(true),
    alertAfterFailures: failureCount('Alert after failures').default(DEFAULT_ALERT_AFTER_FAILURES),
    pauseAfterFailures: failureCount('Pause after failures').default(DEFAULT_PAUSE_AFTER_FAILURES),
  })
  .refine((input) => input.pauseAfterFailures >= input.alertAfterFailures, {
    message: 'Pause after failures must not be below alert after failures: the alert comes first',
    path: ['pauseAfterFailures'],
  });
export type SyncConfigurationInput = z.input<typeof SyncConfigurationInputSchema>;
