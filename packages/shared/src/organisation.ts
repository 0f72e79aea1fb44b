import { z } from 'zod';
import { retentionDays } from './log-retention.ts';
import { singleLineText } from './text.ts';

/** Organisations set up before the migration stay on the legacy sync until support migrates them. */
export const SYNC_SERVICES = ['user-sync', 'legacy'] as const;
export type SyncService = (typeof SYNC_SERVICES)[number];
export const SyncServiceSchema = z.enum(SYNC_SERVICES, {
  error: () => `Sync service must be one of: ${SYNC_SERVICES.join(', ')}`,
});

export function isValidTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const standardTimeZoneSpelling = new Map(
  [...Intl.supportedValuesOf('timeZone'), 'UTC'].map((zone) => [zone.toLowerCase(), zone]),
);

export const TimeZoneSchema = z
  .string()
  .trim()
  // abort: an empty or overlong value is not looked up too, which would add a second, confusing message.
  .min(1, { error: 'Time zone is required', abort: true })
  .max(64, { error: 'Time zone must be at most 64 characters', abort: true })
  .refine(isValidTimeZone, {
    error: (issue) =>
      `Unknown time zone "${String(issue.input)}": use an IANA name such as Europe/London or America/New_York`,
  })
  // Stored in its standard spelling ("europe/london" → "Europe/London"), never swapped for an alias.
  .transform((value) => standardTimeZoneSpelling.get(value.toLowerCase()) ?? value);

export const OrganisationNameSchema = singleLineText('Name', 200);

export const OrganisationInputSchema = z.object({
  name: OrganisationNameSchema,
  timeZone: TimeZoneSchema.default('UTC'),
  provisioningEnabled: z.boolean().default(true),
  syncService: SyncServiceSchema.default('user-sync'),
});
export type OrganisationInput = z.infer<typeof OrganisationInputSchema>;

export const OrganisationUpdateSchema = z
  .object({
    name: OrganisationNameSchema,
    timeZone: TimeZoneSchema,
    provisioningEnabled: z.boolean(),
    syncService: SyncServiceSchema,
    /** Whether the two stand together is checked against the stored pair (retentionOrderProblem). */
    logRetentionDays: retentionDays('Log retention'),
    runRetentionDays: retentionDays('Run retention'),
  })
  .partial();
export type OrganisationUpdate = z.infer<typeof OrganisationUpdateSchema>;
