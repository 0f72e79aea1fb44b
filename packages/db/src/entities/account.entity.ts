import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { Role } from '@provisioning/shared';
import { Organisation } from './organisation.entity.ts';
import { createdAt, updatedAt, uuidPrimaryKey } from './properties.ts';

/** Someone who signs in to the admin panel (not a synced directory user). */
export const Account = defineEntity({
  name: 'Account',
  tableName: 'account',
  properties: {
    id: uuidPrimaryKey(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    email: p.text(),
    name: p.text(),
    passwordHash: p.text(),
    roles: p.array<Role>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  indexes: [{ properties: ['organisation'] }],
  uniques: [
    {
      name: 'account_email_ci_unique',
      expression: 'create unique index "account_email_ci_unique" on "account" (lower("email"))',
    },
  ],
});
export type Account = InferEntity<typeof Account>;
