import type { EntityManager } from '@mikro-orm/postgresql';
import { DirectoryUser } from '../entities/index.ts';
import { getOrganisation } from './organisation.repository.ts';

export function directoryUserView(user: DirectoryUser) {
  return {
    externalId: user.externalId ?? null,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    jobTitle: user.jobTitle ?? null,
    department: user.department ?? null,
    location: user.location ?? null,
    managerEmail: user.managerEmail ?? null,
    employeeNumber: user.employeeNumber ?? null,
    phone: user.phone ?? null,
    startDate: user.startDate ?? null,
    status: user.status,
  };
}

export async function listDirectoryUsers(
  em: EntityManager,
  organisationId: string,
): Promise<DirectoryUser[]> {
  const organisation = await getOrganisation(em, organisationId);
  return em.find(DirectoryUser, { organisation }, { orderBy: [{ email: 'asc' }] });
}
