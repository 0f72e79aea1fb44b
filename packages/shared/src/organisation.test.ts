import { describe, expect, it } from 'vitest';
import {
  isValidTimeZone,
  OrganisationInputSchema,
  OrganisationUpdateSchema,
  TimeZoneSchema,
} from './organisation.ts';

function messages(result: { success: boolean; error?: { issues: { message: string }[] } }): string[] {
  return result.error?.issues.map((issue) => issue.message) ?? [];
}

describe('time zones', () => {
  it.each(['Europe/London', 'America/New_York', 'Asia/Kolkata', 'UTC'])('accepts %s', (zone) => {
    expect(isValidTimeZone(zone)).toBe(true);
    expect(TimeZoneSchema.parse(zone)).toBe(zone);
  });

  it('rejects an unknown zone with a message naming it and showing an example', () => {
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    const result = TimeZoneSchema.safeParse('Mars/Olympus');
    expect(result.success).toBe(false);
    expect(messages(result)).toEqual([
      'Unknown time zone "Mars/Olympus": use an IANA name such as Europe/London or America/New_York',
    ]);
  });

  it('rejects an empty zone with only "Time zone is required"', () => {
    const result = TimeZoneSchema.safeParse('');
    expect(result.success).toBe(false);
    expect(messages(result)).toEqual(['Time zone is required']);
  });

  it('rejects a zone made only of spaces as empty', () => {
    expect(messages(TimeZoneSchema.safeParse('   '))).toEqual(['Time zone is required']);
  });

  it('rejects an overlong zone with a single message', () => {
    expect(messages(TimeZoneSchema.safeParse(`Europe/${'x'.repeat(60)}`))).toEqual([
      'Time zone must be at most 64 characters',
    ]);
  });

  it('rejects a value that is not a string', () => {
    expect(TimeZoneSchema.safeParse(60).success).toBe(false);
  });

  it('trims spaces around a zone', () => {
    expect(TimeZoneSchema.parse('  Europe/Paris ')).toBe('Europe/Paris');
  });
});

describe('organisation input', () => {
  it('defaults to UTC, provisioning enabled and the user sync service', () => {
    expect(OrganisationInputSchema.parse({ name: 'Acme' })).toEqual({
      name: 'Acme',
      timeZone: 'UTC',
      provisioningEnabled: true,
      syncService: 'user-sync',
    });
  });

  it('keeps explicit values', () => {
    expect(
      OrganisationInputSchema.parse({
        name: ' Acme Ltd ',
        timeZone: 'Europe/London',
        provisioningEnabled: false,
        syncService: 'legacy',
      }),
    ).toEqual({
      name: 'Acme Ltd',
      timeZone: 'Europe/London',
      provisioningEnabled: false,
      syncService: 'legacy',
    });
  });

  it('requires a name', () => {
    expect(messages(OrganisationInputSchema.safeParse({ name: ' ' }))).toEqual(['Name is required']);
    expect(OrganisationInputSchema.safeParse({}).success).toBe(false);
  });

  it('rejects a name longer than 200 characters', () => {
    expect(messages(OrganisationInputSchema.safeParse({ name: 'x'.repeat(201) }))).toEqual([
      'Name must be at most 200 characters',
    ]);
  });

  it('rejects an unknown sync service by listing the valid ones', () => {
    expect(messages(OrganisationInputSchema.safeParse({ name: 'Acme', syncService: 'v2' }))).toEqual([
      'Sync service must be one of: user-sync, legacy',
    ]);
  });

  it('lets an update change a single field and adds no defaults', () => {
    expect(OrganisationUpdateSchema.parse({ timeZone: 'Europe/Berlin' })).toEqual({
      timeZone: 'Europe/Berlin',
    });
    expect(OrganisationUpdateSchema.safeParse({ timeZone: 'Mars/Olympus' }).success).toBe(false);
  });
});

describe('time zone spelling', () => {
  it('stores a time zone typed in another case in its standard spelling', () => {
    expect(TimeZoneSchema.parse('europe/london')).toBe('Europe/London');
    expect(TimeZoneSchema.parse('utc')).toBe('UTC');
  });
});
