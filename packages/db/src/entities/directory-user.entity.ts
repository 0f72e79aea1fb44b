import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import {
  DIRECTORY_FIELD_TABLE,
  DIRECTORY_USER_STATUSES,
  type DirectoryFieldEntry,
} from '@provisioning/shared';
import { Organisation } from './organisation.entity.ts';
import { createdAt, updatedAt, uuidPrimaryKey } from './properties.ts';
import { SyncConfiguration } from './sync-configuration.entity.ts';

/** The property builder of each kind of directory field column. */
const COLUMN_BUILDERS = {
  text: {
    required: (column: string) => p.text().fieldName(column),
    optional: (column: string) => p.text().fieldName(column).nullable(),
  },
  date: {
    required: (column: string) => p.date().fieldName(column),
    optional: (column: string) => p.date().fieldName(column).nullable(),
  },
};
type ColumnBuilder<E extends DirectoryFieldEntry> = ReturnType<
  (typeof COLUMN_BUILDERS)[E['sqlType']][E['required'] extends true ? 'required' : 'optional']
>;

/** The directory fields' properties and columns, from the shared field table. */
const directoryFieldProperties = Object.fromEntries(
  DIRECTORY_FIELD_TABLE.map((entry) => [
    entry.property,
    COLUMN_BUILDERS[entry.sqlType][entry.required ? 'required' : 'optional'](entry.column),
  ]),
) as { [E in DirectoryFieldEntry as E['property']]: ColumnBuilder<E> };

/** A person in the organisation's directory, synced in from a source or created by hand. */
export const DirectoryUser = defineEntity({
  name: 'DirectoryUser',
  tableName: 'directory_user',
  properties: {
    id: uuidPrimaryKey(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade').createForeignKeyConstraint(false),
    ...directoryFieldProperties,
    status: p.enum([...DIRECTORY_USER_STATUSES]).default('active'),
    /** The configuration that created or claimed this user; null for users created by hand. */
    managedBy: p
      .manyToOne(SyncConfiguration)
      .nullable()
      .deleteRule('set null')
      .createForeignKeyConstraint(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deactivatedAt: p.datetime().nullable(),
    // The log line that created the user, for the person's history (see the person_history_creates
    // migration): set by the creating apply, cleared when an update changes the email, ID or name.
    createdRunId: p.uuid().nullable(),
    createdSeq: p.integer().nullable(),
    createdAppliedAt: p.datetime().nullable(),
  },
  checks: [
    {
      name: 'directory_user_created_check',
      expression:
        '(created_run_id is null) = (created_seq is null) and (created_run_id is null) = (created_applied_at is null)',
    },
  ],
  indexes: [
    { name: 'directory_user_managed_by_external_id_index', properties: ['managedBy', 'externalId'] },
    {
      name: 'directory_user_organisation_external_id_index',
      expression:
        'create index "directory_user_organisation_external_id_index" on "directory_user" ("organisation_id", lower("external_id"))',
    },
  ],
  uniques: [
    {
      name: 'directory_user_email_ci_unique',
      expression:
        'create unique index "directory_user_email_ci_unique" on "directory_user" ("organisation_id", lower("email"))',
    },
  ],
});
export type DirectoryUser = InferEntity<typeof DirectoryUser>;
