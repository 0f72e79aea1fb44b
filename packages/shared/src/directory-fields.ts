import { z } from 'zod';
import { singleLineText } from './text.ts';

/**
 * Directory fields a source column can map to. The names are also the default headers: a source header
 * matches one case-, space- and underscore-insensitively.
 */
export const DIRECTORY_FIELDS = [
  'employee_id',
  'email',
  'first_name',
  'last_name',
  'job_title',
  'department',
  'location',
  'manager_email',
  'employee_number',
  'phone',
  'start_date',
] as const;
export type DirectoryField = (typeof DIRECTORY_FIELDS)[number];
export const REQUIRED_DIRECTORY_FIELDS = ['email', 'first_name', 'last_name'] as const;

export const DIRECTORY_USER_STATUSES = ['active', 'deactivated'] as const;
export type DirectoryUserStatus = (typeof DIRECTORY_USER_STATUSES)[number];

/** `{"email": "Work Email", ...}`: directory field → source column header. */
export const FieldMappingSchema = z
  .partialRecord(z.enum(DIRECTORY_FIELDS), singleLineText('Column name', 200), {
    // zod reports keys outside the enum as one unrecognized_keys issue of the record (its typings for record
    // issues do not list that code yet), so the key schema's own message would never be shown.
    error: (issue) => {
      const { keys } = issue as { keys?: string[] };
      if (!keys?.length) return undefined;
      const names = keys.map((key) => `"${key}"`).join(', ');
      return `Unknown directory field${keys.length > 1 ? 's' : ''} ${names}: use one of ${DIRECTORY_FIELDS.join(', ')}`;
    },
  })
  .superRefine((mapping, ctx) => {
    const seen = new Map<string, string>();
    for (const [field, column] of Object.entries(mapping)) {
      const key = column?.toLowerCase();
      if (key === undefined) continue;
      const other = seen.get(key);
      if (other) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `Column "${column}" is already mapped to ${other}`,
        });
      }
      seen.set(key, field);
    }
  });
export type FieldMapping = z.infer<typeof FieldMappingSchema>;
