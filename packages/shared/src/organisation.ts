import { z } from 'zod';

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

export const TimeZoneSchema = z
  .string()
  .trim()
  // abort: an empty or overlong value is not looked up too, which would add a second, confusing message.
  .min(1, { error: 'Time zone is required', abort: true })
  .max(64, { error: 'Time zone must be at most 64 characters', abort: true })
  .refine(isValidTimeZone, {
    error: (issue) =>
      `Unknown time zone "${String(issue.input)}": use an IANA name such as Europe/London or America/New_York`,
  });

export const OrganisationNameSchema = z
  .string()
  .trim()
  .min(1, 'Name is required')
  .max(200, 'Name must be at most 200 characters');

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
  })
  .partial();
export type OrganisationUpdate = z.infer<typeof OrganisationUpdateSchema>;
