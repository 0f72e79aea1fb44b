import { DIRECTORY_FIELD_TABLE, DIRECTORY_FIELDS, type DirectoryField } from '@provisioning/shared';
import {
  type DirectoryRecord,
  type DirectoryRecordField,
  type ExistingUser,
  RECORD_PROPERTIES,
} from './types.ts';

/**
 * A user's compared fields as one string, built by the database (`signatureSql`): each field `=value`,
 * or nothing when null, joined by tabs. A record is checked against it in place (`matchesSignature`).
 *
 * Reading one string per user instead of a column per field is most of what reading the directory costs,
 * and an unchanged user (nearly every user of a rerun) is then told by one comparison. Equal signatures
 * mean equal fields as long as no value holds a tab: a record with one never matches and is compared
 * field by field, and a stored user with one is read field by field (`readableSignature`).
 */

/** The fields a run compares (those the source has a column for), in the one order both sides use. */
export function comparedFields(present: ReadonlySet<DirectoryField>): DirectoryField[] {
  return DIRECTORY_FIELDS.filter((field) => present.has(field));
}

/** directory_user's value of each field, as text: dates in the form the records hold them. */
const COLUMN_TEXT = Object.fromEntries(
  DIRECTORY_FIELD_TABLE.map(({ field, column, sqlType }) => [
    field,
    sqlType === 'date' ? `to_char(${column}, 'YYYY-MM-DD')` : column,
  ]),
) as Readonly<Record<DirectoryField, string>>;

/** The SQL expression of a directory_user row's signature over `fields` (from comparedFields). */
export function signatureSql(fields: readonly DirectoryField[]): string {
  return `concat_ws(E'\\t', ${fields.map((field) => `coalesce('=' || ${COLUMN_TEXT[field]}, '')`).join(', ')})`;
}

/** SQL select-list items for `fields`, each under its record name: `, job_title as "jobTitle"`. */
export function fieldColumnsSql(fields: readonly DirectoryField[]): string {
  return fields.map((field) => `, ${COLUMN_TEXT[field]} as "${RECORD_PROPERTIES[field]}"`).join('');
}

/** The select-list items of the fields not compared (read as columns by users read by signature). */
export function otherFieldsSql(fields: readonly DirectoryField[]): string {
  return fieldColumnsSql(DIRECTORY_FIELDS.filter((field) => !fields.includes(field)));
}

/**
 * Whether a record's signature over the compared properties equals `signature`, checked in place (no
 * string is built: this runs for every row of a rerun). With a readable signature (count - 1 tabs, as
 * loadDirectory makes sure of) equal means every field equal: a record value holding a tab would add one.
 */
export function matchesSignature(
  record: DirectoryRecord,
  properties: readonly DirectoryRecordField[],
  signature: string,
): boolean {
  let at = 0;
  for (let i = 0; i < properties.length; i++) {
    if (i > 0) {
      if (signature.charCodeAt(at) !== TAB) return false;
      at++;
    }
    const value = record[properties[i] as DirectoryRecordField];
    // A null field is empty: the next tab, or the end, must follow at once (checked next).
    if (value === null) continue;
    if (signature.charCodeAt(at) !== EQUALS || !signature.startsWith(value, at + 1)) return false;
    at += 1 + value.length;
  }
  return at === signature.length;
}
const TAB = 9;
const EQUALS = 61;

/** The values of `count` fields in a signature, or null when it cannot be read (a value holds a tab). */
export function decodeSignature(signature: string, count: number): (string | null)[] | null {
  const parts = signature.split('\t');
  if (parts.length !== count) return null;
  const values: (string | null)[] = [];
  for (const part of parts) {
    if (part === '') values.push(null);
    else if (part.startsWith('=')) values.push(part.slice(1));
    else return null;
  }
  return values;
}

/** Whether a signature of `count` fields can be read back: exactly count - 1 tabs. */
export function readableSignature(signature: string, count: number): boolean {
  let tabs = 0;
  for (let at = signature.indexOf('\t'); at !== -1; at = signature.indexOf('\t', at + 1)) {
    if (++tabs >= count) return false;
  }
  return tabs === count - 1;
}

/** A directory_user row read with its signature, as loadDirectory's query returns it. */
export interface SignedRow extends Partial<DirectoryRecord> {
  id: string;
  externalId: string | null;
  email: string;
  status: 'active' | 'deactivated';
  managedById: string | null;
  signature: string;
}

/** The record's properties that SignedUser decodes (the others, the matching keys, are read as columns). */
const DECODED_PROPERTIES = DIRECTORY_FIELD_TABLE.map((entry) => entry.property).filter(
  (property) => property !== 'externalId' && property !== 'email',
);
/** Each property with its value when neither the signature nor a column holds it (never, in practice). */
const RECORD_DEFAULTS = DIRECTORY_FIELD_TABLE.map(
  (entry) => [entry.property, entry.required ? '' : null] as const,
);

/** The decoded fields: accessors the class defines from the field table (its static block). */
export interface SignedUser extends Omit<DirectoryRecord, 'externalId' | 'email'> {}

/**
 * A directory user read by signature. ID, external ID, email, status and manager are read as columns (the
 * planner matches on them); the other fields are decoded from the signature when first asked for, which
 * for a rerun is only for the users that changed or leave.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: its static block defines the interface's accessors
export class SignedUser implements ExistingUser {
  readonly id: string;
  readonly externalId: string | null;
  readonly email: string;
  readonly status: 'active' | 'deactivated';
  readonly managedById: string | null;
  /** null when the stored values cannot be told by signature (a tab in one): then `whole` is set. */
  readonly signature: string | null;
  #row: SignedRow | null;
  #record: DirectoryRecord | null = null;

  static {
    // Prototype accessors, as getters written out one by one would be: nothing is added per user.
    for (const property of DECODED_PROPERTIES) {
      Object.defineProperty(SignedUser.prototype, property, {
        get(this: SignedUser) {
          return this.record()[property];
        },
        configurable: true,
      });
    }
  }

  constructor(
    row: SignedRow,
    private readonly fields: readonly DirectoryField[],
    /** The user read field by field, when its signature cannot be read back. */
    whole?: DirectoryRecord,
  ) {
    this.id = row.id;
    this.externalId = row.externalId;
    this.email = row.email;
    this.status = row.status;
    this.managedById = row.managedById;
    this.signature = whole ? null : row.signature;
    this.#row = whole ? null : row;
    if (whole) this.#record = { ...whole };
  }

  /** The whole record: decoded once, on first use. */
  private record(): DirectoryRecord {
    if (this.#record) return this.#record;
    const row = this.#row as SignedRow;
    const values = decodeSignature(row.signature, this.fields.length);
    if (!values) throw new Error(`The signature of directory user ${this.id} cannot be read`);
    const writable: Partial<Record<DirectoryRecordField, string | null>> = {};
    for (const [property, fallback] of RECORD_DEFAULTS) writable[property] = row[property] ?? fallback;
    this.fields.forEach((field, i) => {
      writable[RECORD_PROPERTIES[field]] = values[i] ?? null;
    });
    const record = writable as DirectoryRecord;
    this.#record = record;
    this.#row = null;
    return record;
  }
}
