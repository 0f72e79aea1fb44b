import { z } from 'zod';

/** Machine values of the admin-panel roles, in the order the product lists them. */
export const ROLES = [
  'org-admin',
  'people-admin',
  'support-admin',
  'group-admin',
  'content-creator',
  'content-moderator',
  'basic-user',
] as const;

export type Role = (typeof ROLES)[number];

export const RoleSchema = z.enum(ROLES, {
  error: () => `Role must be one of: ${ROLES.join(', ')}`,
});

export const ROLE_LABELS: Record<Role, string> = {
  'org-admin': 'Organisation Admin',
  'people-admin': 'People Admin',
  'support-admin': 'Support Admin',
  'group-admin': 'Group Admin',
  'content-creator': 'Content Creator',
  'content-moderator': 'Content Moderator',
  'basic-user': 'Basic User',
};
