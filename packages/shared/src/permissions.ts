import type { SyncService } from './organisation.ts';
import type { Role } from './roles.ts';

/**
 * The one permission table. The API procedures, the log downloads, the web navigation and the Slack
 * listeners all ask `can()` / `checkAccess()`; nothing else compares role names.
 */
export const PERMISSIONS = {
  'provisioning.view': ['org-admin', 'people-admin'],
  'provisioning.download-logs': ['org-admin', 'people-admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export interface AccessSubject {
  roles: readonly Role[];
  organisation: { provisioningEnabled: boolean; syncService: SyncService };
}

/** Why access was refused, in the order they are checked; each has its own explanation in the UI. */
export type AccessDenial = 'no-permission' | 'provisioning-disabled' | 'legacy-sync-service';

export const ACCESS_DENIAL_MESSAGES: Record<AccessDenial, { title: string; action: string }> = {
  'no-permission': {
    title: 'Your role cannot view User Provisioning',
    action: 'Ask an Organisation Admin or People Admin of your organisation for access.',
  },
  'provisioning-disabled': {
    title: 'User Provisioning is not enabled for your organisation',
    action: 'Contact your account team to enable User Provisioning.',
  },
  'legacy-sync-service': {
    title: 'Your organisation is not yet on the User Sync Service',
    action: 'Ask support to migrate your organisation from the legacy sync to the User Sync Service.',
  },
};

export type AccessResult = { allowed: true } | { allowed: false; reason: AccessDenial };

/** Whether one of these roles carries the permission (the organisation's conditions aside). */
export function roleAllows(roles: readonly Role[], permission: Permission): boolean {
  const allowedRoles: readonly Role[] = PERMISSIONS[permission];
  return roles.some((role) => allowedRoles.includes(role));
}

export function checkAccess(subject: AccessSubject, permission: Permission): AccessResult {
  if (!roleAllows(subject.roles, permission)) {
    return { allowed: false, reason: 'no-permission' };
  }
  if (!subject.organisation.provisioningEnabled) {
    return { allowed: false, reason: 'provisioning-disabled' };
  }
  if (subject.organisation.syncService !== 'user-sync') {
    return { allowed: false, reason: 'legacy-sync-service' };
  }
  return { allowed: true };
}

export function can(subject: AccessSubject, permission: Permission): boolean {
  return checkAccess(subject, permission).allowed;
}
