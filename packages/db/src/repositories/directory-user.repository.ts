import type { EntityManager } from '@mikro-orm/postgresql';
import {
  DIRECTORY_FIELD_TABLE,
  type DirectoryRecord,
  type DirectoryRecordField,
  type DirectoryUserStatus,
} from '@provisioning/shared';
import { DirectoryUser } from '../entities/index.ts';
import { getOrganisation } from './organisation.repository.ts';

/** Every field of the directory field table, null when empty, and the status. */
export function directoryUserView(user: DirectoryUser): DirectoryRecord & { status: DirectoryUserStatus } {
  const view: Partial<Record<DirectoryRecordField, string | null>> = {};
  for (const { property } of DIRECTORY_FIELD_TABLE) view[property] = user[property] ?? null;
  return { ...(view as DirectoryRecord), status: user.status };
}

export async function listDirectoryUsers(
  em: EntityManager,
  organisationId: string,
): Promise<DirectoryUser[]> {
  const organisation = await getOrganisation(em, organisationId);
  return em.find(DirectoryUser, { organisation }, { orderBy: [{ email: 'asc' }] });
}
