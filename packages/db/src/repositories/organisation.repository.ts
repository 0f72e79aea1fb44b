import type { EntityManager } from '@mikro-orm/postgresql';
import {
  DomainError,
  type OrganisationInput,
  OrganisationInputSchema,
  type OrganisationUpdate,
  OrganisationUpdateSchema,
  parseInput,
} from '@provisioning/shared';
import { Organisation } from '../entities/index.ts';

export async function createOrganisation(em: EntityManager, input: OrganisationInput): Promise<Organisation> {
  const data = parseInput(OrganisationInputSchema, input, 'Organisation');
  const organisation = em.create(Organisation, data);
  await em.flush();
  return organisation;
}

export async function getOrganisation(em: EntityManager, id: string): Promise<Organisation> {
  const organisation = isUuid(id) ? await em.findOne(Organisation, { id }) : null;
  if (!organisation) throw new DomainError('NOT_FOUND', `Organisation ${id} not found`);
  return organisation;
}

export async function updateOrganisation(
  em: EntityManager,
  id: string,
  update: OrganisationUpdate,
): Promise<Organisation> {
  const data = parseInput(OrganisationUpdateSchema, update, 'Organisation update');
  const organisation = await getOrganisation(em, id);
  em.assign(organisation, data);
  await em.flush();
  return organisation;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** IDs are UUIDs; anything else cannot name a row, and must not reach PostgreSQL as a uuid cast error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
