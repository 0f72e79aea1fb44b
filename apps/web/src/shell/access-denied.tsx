import { ACCESS_DENIAL_MESSAGES, type AccessDenial, ROLE_LABELS } from '@provisioning/shared';
import type { Me } from '../api/trpc.ts';

/**
 * A direct visit to User Provisioning that the permission table refuses: which condition fails, what to
 * do about it, and how the other conditions stand, instead of an empty page.
 */
export function AccessDenied({ me, reason }: { me: Me; reason: AccessDenial }) {
  const { title, action } = ACCESS_DENIAL_MESSAGES[reason];
  const roles = me.roles.map((role) => ROLE_LABELS[role]).join(', ');
  const conditions = [
    {
      holds: me.conditions.roleAllowsProvisioning,
      text: me.conditions.roleAllowsProvisioning
        ? `Your role (${roles}) may view User Provisioning`
        : `Your role (${roles}) cannot view User Provisioning: Organisation Admins and People Admins can`,
    },
    {
      holds: me.conditions.provisioningEnabled,
      text: me.conditions.provisioningEnabled
        ? `User Provisioning is enabled for ${me.organisation.name}`
        : `User Provisioning is not enabled for ${me.organisation.name}`,
    },
    {
      holds: me.conditions.onUserSyncService,
      text: me.conditions.onUserSyncService
        ? `${me.organisation.name} is on the User Sync Service`
        : `${me.organisation.name} is still on the legacy sync`,
    },
  ];
  return (
    <section className="page" aria-labelledby="page-heading">
      <h1 id="page-heading">User Provisioning</h1>
      <div className="notice notice-denied" role="alert" data-reason={reason}>
        <h2 className="notice-title">{title}</h2>
        <p>{action}</p>
      </div>
      <h2 className="section-heading">What User Provisioning needs</h2>
      <ul className="conditions">
        {conditions.map((condition) => (
          <li key={condition.text} className={condition.holds ? 'condition-ok' : 'condition-failed'}>
            <span className="condition-mark" aria-hidden="true">
              {condition.holds ? '✓' : '✕'}
            </span>
            <span className="visually-hidden">{condition.holds ? 'Met: ' : 'Not met: '}</span>
            {condition.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
