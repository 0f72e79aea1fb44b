import { z } from 'zod';
import { singleLineText } from './text.ts';

/** What every line of DIRECTORY_FIELD_TABLE says about one field. */
interface DirectoryFieldSpec {
  /**
   * The name in mappings, logs and field changes. It is also the default header: a source header matches
   * it case-, space- and underscore-insensitively.
   */
  readonly field: string;
  /** The property of a directory record (and of the DirectoryUser entity). */
  readonly property: string;
  /** directory_user's column. */
  readonly column: string;
  /** The column's PostgreSQL type; a date travels as ISO text, YYYY-MM-DD. */
  readonly sqlType: 'text' | 'date';
  /** How messages name the field. */
  readonly label: string;
  /** Every row must have it (the row is skipped without it), so the column is never null. */
  readonly required: boolean;
  /** An email: compared ignoring case, so a case-only difference is not a change. */
  readonly caseInsensitive: boolean;
}

/** One line of the table, its literal names and `required` kept for the types derived below. */
function field<
  const F extends string,
  const P extends string,
  const T extends DirectoryFieldSpec['sqlType'],
  const R extends boolean,
>(
  name: F,
  property: P,
  column: string,
  sqlType: T,
  label: string,
  required: R,
  caseInsensitive: boolean,
): DirectoryFieldSpec & { field: F; property: P; sqlType: T; required: R } {
  return { field: name, property, column, sqlType, label, required, caseInsensitive };
}

/**
 * The directory fields a source column can map to, one line each and in the one order everything uses
 * (signatures, SQL column lists, logs). The lists, labels and record type below, the engine's SQL and the
 * DirectoryUser entity are derived from it: adding a field is a line here plus a migration of directory_user.
 */
// biome-ignore format: a table reads better aligned
export const DIRECTORY_FIELD_TABLE = [
  //    field              property          column             type    label              required  case-insensitive
  field('employee_id',     'externalId',     'external_id',     'text', 'Employee ID',     false,    false),
  field('email',           'email',          'email',           'text', 'Email',           true,     true),
  field('first_name',      'firstName',      'first_name',      'text', 'First name',      true,     false),
  field('last_name',       'lastName',       'last_name',       'text', 'Last name',       true,     false),
  field('job_title',       'jobTitle',       'job_title',       'text', 'Job title',       false,    false),
  field('department',      'department',     'department',      'text', 'Department',      false,    false),
  field('location',        'location',       'location',        'text', 'Location',        false,    false),
  field('manager_email',   'managerEmail',   'manager_email',   'text', 'Manager email',   false,    true),
  field('employee_number', 'employeeNumber', 'employee_number', 'text', 'Employee number', false,    false),
  field('phone',           'phone',          'phone',           'text', 'Phone',           false,    false),
  field('start_date',      'startDate',      'start_date',      'date', 'Start date',      false,    false),
] as const;

export type DirectoryFieldEntry = (typeof DIRECTORY_FIELD_TABLE)[number];
export type DirectoryField = DirectoryFieldEntry['field'];

/** A source row turned into directory fields: a required field is always set, any other may be null. */
export type DirectoryRecord = {
  [E in DirectoryFieldEntry as E['property']]: E['required'] extends true ? string : string | null;
};
export type DirectoryRecordField = keyof DirectoryRecord;

export const DIRECTORY_FIELDS: readonly DirectoryField[] = DIRECTORY_FIELD_TABLE.map((entry) => entry.field);
export const REQUIRED_DIRECTORY_FIELDS: readonly DirectoryField[] = DIRECTORY_FIELD_TABLE.filter(
  (entry) => entry.required,
).map((entry) => entry.field);

/** Directory field → DirectoryRecord property. */
export const RECORD_PROPERTIES = Object.fromEntries(
  DIRECTORY_FIELD_TABLE.map((entry) => [entry.field, entry.property]),
) as Readonly<Record<DirectoryField, DirectoryRecordField>>;

/** Directory field → how messages name it. */
export const DIRECTORY_FIELD_LABELS = Object.fromEntries(
  DIRECTORY_FIELD_TABLE.map((entry) => [entry.field, entry.label]),
) as Readonly<Record<DirectoryField, string>>;

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

/** A record's name as logs and messages show it. */
export function fullName(record: { firstName: string; lastName: string }): string {
  return `${record.firstName} ${record.lastName}`.trim();
}
