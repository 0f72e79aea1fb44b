import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { DIRECTORY_USER_STATUSES } from '@provisioning/shared';
import { Organisation } from './organisation.entity.ts';
import { createdAt, updatedAt, uuidPrimaryKey } from './properties.ts';
import { SyncConfiguration } from './sync-configuration.entity.ts';

/** A person in the organisation's directory, synced in from a source or created by hand. */
export const DirectoryUser = defineEntity({
  name: 'DirectoryUser',
  tableName: 'directory_user',
  properties: {
    id: uuidPrimaryKey(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade').createForeignKeyConstraint(false),
    externalId: p.text().nullable(),
    email: p.text(),
    firstName: p.text(),
    lastName: p.text(),
    jobTitle: p.text().nullable(),
    department: p.text().nullable(),
    location: p.text().nullable(),
    managerEmail: p.text().nullable(),
    employeeNumber: p.text().nullable(),
    phone: p.text().nullable(),
    startDate: p.date().nullable(),
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
  },
  indexes: [
    { name: 'directory_user_managed_by_external_id_index', properties: ['managedBy', 'externalId'] },
    { name: 'directory_user_organisation_external_id_index', properties: ['organisation', 'externalId'] },
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
