import type { EntityManager } from '@mikro-orm/postgresql';
import { ROLE_LABELS, ROLES, type Role } from '@provisioning/shared';
import { Account, Organisation } from './entities/index.ts';
import { createAccount } from './repositories/account.repository.ts';
import { createOrganisation } from './repositories/organisation.repository.ts';

export const DEMO_ORGANISATION_NAME = 'Demo Company';
/** Printed by `pnpm start`; the demo runs only on the local embedded database. */
export const DEMO_PASSWORD = 'provisioning-demo';

export interface DemoSeed {
  organisationId: string;
  created: boolean;
  accounts: { email: string; role: Role; roleLabel: string; password: string }[];
}

export function demoAccountEmail(role: Role): string {
  return `${role}@demo.example`;
}

/** The demo organisation with one account per role; running it again changes nothing. */
export async function seedDemo(em: EntityManager): Promise<DemoSeed> {
  let organisation = await em.findOne(Organisation, { name: DEMO_ORGANISATION_NAME });
  const created = organisation === null;
  organisation ??= await createOrganisation(em, {
    name: DEMO_ORGANISATION_NAME,
    timeZone: 'Europe/London',
    provisioningEnabled: true,
    syncService: 'user-sync',
  });
  for (const role of ROLES) {
    const email = demoAccountEmail(role);
    if ((await em.count(Account, { email })) === 0) {
      await createAccount(em, {
        organisationId: organisation.id,
        email,
        name: `Demo ${ROLE_LABELS[role]}`,
        password: DEMO_PASSWORD,
        roles: [role],
      });
    }
  }
  return {
    organisationId: organisation.id,
    created,
    accounts: ROLES.map((role) => ({
      email: demoAccountEmail(role),
      role,
      roleLabel: ROLE_LABELS[role],
      password: DEMO_PASSWORD,
    })),
  };
}
