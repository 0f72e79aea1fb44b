import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { Role } from '@provisioning/shared';
import { Organisation } from './organisation.entity.ts';

/** Someone who signs in to the admin panel (not a synced directory user). */
export const Account = defineEntity({
  name: 'Account',
  tableName: 'account',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    email: p.text(),
    name: p.text(),
    passwordHash: p.text().lazy(),
    roles: p.array<Role>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
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
