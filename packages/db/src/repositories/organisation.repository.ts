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
import { isUuid } from './common.ts';

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
