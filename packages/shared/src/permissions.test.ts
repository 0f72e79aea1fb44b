import { describe, expect, it } from 'vitest';
import type { SyncService } from './organisation.ts';
import {
  ACCESS_DENIAL_MESSAGES,
  type AccessSubject,
  can,
  checkAccess,
  PERMISSIONS,
  type Permission,
} from './permissions.ts';
import { ROLES, type Role } from './roles.ts';

const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];
const ALLOWED_ROLES: readonly Role[] = ['org-admin', 'people-admin'];

function subject(roles: readonly Role[], provisioningEnabled = true, syncService: SyncService = 'user-sync') {
  return { roles, organisation: { provisioningEnabled, syncService } } satisfies AccessSubject;
}

/** What checkAccess must answer for one role: the role check comes first, then the organisation's state. */
function expectedResult(role: Role, provisioningEnabled: boolean, syncService: SyncService) {
  if (!ALLOWED_ROLES.includes(role)) return { allowed: false, reason: 'no-permission' };
  if (!provisioningEnabled) return { allowed: false, reason: 'provisioning-disabled' };
  if (syncService !== 'user-sync') return { allowed: false, reason: 'legacy-sync-service' };
  return { allowed: true };
}

const MATRIX = PERMISSION_NAMES.flatMap((permission) =>
  ROLES.flatMap((role) =>
    [true, false].flatMap((provisioningEnabled) =>
      (['user-sync', 'legacy'] as const).map((syncService) => ({
        permission,
        role,
        provisioningEnabled,
        syncService,
      })),
    ),
  ),
);

describe('the permission table', () => {
  it('covers both provisioning permissions and all seven roles', () => {
    expect(PERMISSION_NAMES.sort()).toEqual(['provisioning.download-logs', 'provisioning.view']);
    expect(ROLES).toHaveLength(7);
    expect(MATRIX).toHaveLength(2 * 7 * 2 * 2);
  });

  it.each(MATRIX)(
    '$permission for $role with provisioning enabled=$provisioningEnabled on $syncService',
    ({ permission, role, provisioningEnabled, syncService }) => {
      const expected = expectedResult(role, provisioningEnabled, syncService);
      const s = subject([role], provisioningEnabled, syncService);
      expect(checkAccess(s, permission)).toEqual(expected);
      expect(can(s, permission)).toBe(expected.allowed);
    },
  );

  it('allows exactly org-admin and people-admin when provisioning is on and on the user sync service', () => {
    for (const permission of PERMISSION_NAMES) {
      const allowed = ROLES.filter((role) => can(subject([role]), permission));
      expect(allowed).toEqual(['org-admin', 'people-admin']);
    }
  });

  it('allows an account holding several roles when one of them is allowed', () => {
    for (const permission of PERMISSION_NAMES) {
      expect(can(subject(['basic-user', 'people-admin']), permission)).toBe(true);
      expect(can(subject(['content-creator', 'group-admin', 'org-admin']), permission)).toBe(true);
    }
  });

  it('refuses an account holding several roles when none of them is allowed', () => {
    const s = subject(['basic-user', 'support-admin', 'content-moderator']);
    expect(checkAccess(s, 'provisioning.view')).toEqual({ allowed: false, reason: 'no-permission' });
  });

  it('refuses an account with no roles at all', () => {
    for (const permission of PERMISSION_NAMES) {
      expect(checkAccess(subject([]), permission)).toEqual({ allowed: false, reason: 'no-permission' });
      expect(can(subject([]), permission)).toBe(false);
    }
  });

  it('reports the missing role before the organisation state when both are wrong', () => {
    expect(checkAccess(subject(['basic-user'], false, 'legacy'), 'provisioning.view')).toEqual({
      allowed: false,
      reason: 'no-permission',
    });
  });

  it('reports disabled provisioning before the legacy sync service', () => {
    expect(checkAccess(subject(['org-admin'], false, 'legacy'), 'provisioning.view')).toEqual({
      allowed: false,
      reason: 'provisioning-disabled',
    });
  });

  it('has a title and an action for every denial reason', () => {
    for (const reason of ['no-permission', 'provisioning-disabled', 'legacy-sync-service'] as const) {
      expect(ACCESS_DENIAL_MESSAGES[reason].title).not.toBe('');
      expect(ACCESS_DENIAL_MESSAGES[reason].action).not.toBe('');
    }
  });
});
