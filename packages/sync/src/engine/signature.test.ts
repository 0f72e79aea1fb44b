import type { Orm } from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import { DIRECTORY_FIELDS, type DirectoryField } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  comparedFields,
  decodeSignature,
  matchesSignature,
  otherFieldsSql,
  readableSignature,
  type SignedRow,
  SignedUser,
  signatureSql,
} from './signature.ts';
import { createTestOrganisation } from './sync-fixture.test-support.ts';
import { type DirectoryRecord, type DirectoryRecordField, RECORD_PROPERTIES } from './types.ts';

let database: MigratedTestOrm;
let orm: Orm;
let organisationId: string;

beforeAll(async () => {
  database = await createMigratedTestOrm('signature');
  orm = database.orm;
  organisationId = await createTestOrganisation(orm, 'Signatures');
});

afterAll(async () => {
  await database?.close();
});

const FULL: DirectoryRecord = {
  externalId: 'E-0042',
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  jobTitle: '=SUM(A1) & "quotes" \\ backslash',
  department: 'R&D = research',
  location: 'Zürich 🏔',
  managerEmail: 'boss@example.com',
  employeeNumber: '000123',
  phone: '+41 44 000 00 00',
  startDate: '2019-02-28',
};

const SPARSE: DirectoryRecord = {
  ...FULL,
  externalId: null,
  jobTitle: null,
  department: '',
  location: null,
  managerEmail: null,
  employeeNumber: null,
  phone: null,
  startDate: null,
};

let counter = 0;

/**
 * Stores the record as a directory user (its email made unique) and reads it back the way loadDirectory
 * does: the row, and the record as stored.
 */
async function stored(
  given: DirectoryRecord,
  fields: readonly DirectoryField[],
): Promise<{ row: SignedRow; record: DirectoryRecord }> {
  counter++;
  const record = { ...given, email: `${counter}.${given.email}` };
  const email = record.email;
  const connection = orm.em.getConnection();
  await connection.execute(
    `insert into directory_user (id, organisation_id, external_id, email, first_name, last_name, job_title,
       department, location, manager_email, employee_number, phone, start_date, status, created_at, updated_at)
     values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::date, 'active', now(), now())`,
    [
      organisationId,
      record.externalId,
      email,
      record.firstName,
      record.lastName,
      record.jobTitle,
      record.department,
      record.location,
      record.managerEmail,
      record.employeeNumber,
      record.phone,
      record.startDate,
    ],
  );
  const [row] = await connection.execute<SignedRow[]>(
    `select id, external_id as "externalId", email, status, managed_by_id as "managedById",
       ${signatureSql(fields)} as signature${otherFieldsSql(fields)}
     from directory_user where organisation_id = ? and email = ?`,
    [organisationId, email],
  );
  return { row: row as SignedRow, record };
}

const propertiesOf = (fields: readonly DirectoryField[]) => fields.map((field) => RECORD_PROPERTIES[field]);

const FIELD_SETS: [string, DirectoryField[]][] = [
  ['every field', [...DIRECTORY_FIELDS]],
  [
    'the required fields and a few',
    comparedFields(new Set<DirectoryField>(['email', 'first_name', 'last_name', 'department', 'start_date'])),
  ],
];

describe.each(FIELD_SETS)('signature over %s', (_name, fields) => {
  const properties = propertiesOf(fields);

  it.each([
    ['full', FULL],
    ['sparse', SPARSE],
  ])('matches the %s record it was stored from, and decodes back to it', async (_kind, given) => {
    const { row, record } = await stored(given, fields);
    expect(readableSignature(row.signature, fields.length)).toBe(true);
    expect(matchesSignature(record, properties, row.signature)).toBe(true);
    const user = new SignedUser(row, fields);
    const decoded = Object.fromEntries(
      Object.keys(record).map((property) => [property, user[property as DirectoryRecordField]]),
    );
    expect(decoded).toEqual(record);
  });

  it.each([
    ['full', FULL],
    ['sparse', SPARSE],
  ])(
    'does not match when any one compared field of the %s record differs in any way',
    async (_kind, given) => {
      const { row, record } = await stored(given, fields);
      const variants = (value: string | null): (string | null)[] =>
        value === null
          ? ['', 'x']
          : [
              null,
              '',
              `${value}x`,
              value.slice(0, -1),
              value.toUpperCase() === value ? `${value} ` : value.toUpperCase(),
            ];
      let checked = 0;
      for (const property of properties) {
        const original = record[property];
        for (const variant of variants(original).filter((v) => v !== original)) {
          const changed = { ...record, [property]: variant } as DirectoryRecord;
          expect(matchesSignature(changed, properties, row.signature), `${property} = ${variant}`).toBe(
            false,
          );
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(properties.length * 2);
    },
  );

  it('ignores the fields it does not compare', async () => {
    const { row, record } = await stored(FULL, fields);
    const others = (Object.keys(FULL) as DirectoryRecordField[]).filter((p) => !properties.includes(p));
    const changed = { ...record };
    for (const property of others) (changed as Record<string, string | null>)[property] = 'something else';
    expect(matchesSignature(changed, properties, row.signature)).toBe(true);
  });
});

describe('values holding a tab', () => {
  const fields = [...DIRECTORY_FIELDS];
  const properties = propertiesOf(fields);

  it('make a stored signature unreadable, so the user is read field by field', async () => {
    const { row } = await stored({ ...FULL, department: 'Sales\tOps' }, fields);
    expect(readableSignature(row.signature, fields.length)).toBe(false);
    expect(decodeSignature(row.signature, fields.length)).toBeNull();
    const user = new SignedUser(row, fields, { ...FULL, department: 'Sales\tOps' });
    expect(user.signature).toBeNull();
    expect(user.department).toBe('Sales\tOps');
  });

  it('never let a record match a signature whose fields split elsewhere', async () => {
    // "=Sales\t=Ops" is department "Sales" then location "Ops": a department "Sales\t=Ops" with no
    // location would spell the same text with one tab too many.
    const { row, record } = await stored({ ...FULL, department: 'Sales', location: 'Ops' }, fields);
    const shifted = { ...record, department: 'Sales\t=Ops', location: null };
    expect(matchesSignature(shifted, properties, row.signature)).toBe(false);
  });
});

describe('readableSignature and decodeSignature', () => {
  it('read a signature with one tab fewer than fields, and nothing else', () => {
    expect(readableSignature('=a\t\t=c', 3)).toBe(true);
    expect(decodeSignature('=a\t\t=c', 3)).toEqual(['a', null, 'c']);
    expect(decodeSignature('=\t=b', 2)).toEqual(['', 'b']);
    expect(readableSignature('=a\t=b', 3)).toBe(false);
    expect(readableSignature('=a\t=b\t\t', 3)).toBe(false);
    expect(decodeSignature('=a\tb', 2)).toBeNull();
  });
});
