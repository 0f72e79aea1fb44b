import type { EntityManager } from '@mikro-orm/postgresql';
import {
  DomainError,
  type OrganisationInput,
  OrganisationInputSchema,
  type OrganisationUpdate,
  OrganisationUpdateSchema,
  parseInput,
  retentionOrderProblem,
} from '@provisioning/shared';
import { Organisation } from '../entities/index.ts';
import { isUuid, sql } from './common.ts';

/**
 * A zone the runtime accepts may still be unknown to PostgreSQL (US/Pacific-New), which computes the
 * runs list's date filters in it: such a zone is refused here, where support sets it.
 */
async function requireKnownTimeZone(em: EntityManager, timeZone: string | undefined): Promise<void> {
  if (timeZone === undefined) return;
  const [row] = await sql<{ known: boolean }>(em, 'select known_time_zone(?) as known', [timeZone]);
  if (row?.known) return;
  throw new DomainError(
    'BAD_INPUT',
    `Time zone ${timeZone} is not known to the database: use a current IANA name such as America/Los_Angeles`,
    { timeZone: ['Not known to the database'] },
  );
}

export async function createOrganisation(em: EntityManager, input: OrganisationInput): Promise<Organisation> {
  const data = parseInput(OrganisationInputSchema, input, 'Organisation');
  await requireKnownTimeZone(em, data.timeZone);
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
  await requireKnownTimeZone(em, data.timeZone);
  const organisation = await getOrganisation(em, id);
  // Checked against the stored pair: an update may change only one of them. The table checks it too.
  const problem = retentionOrderProblem(
    data.logRetentionDays ?? organisation.logRetentionDays,
    data.runRetentionDays ?? organisation.runRetentionDays,
  );
  if (problem) throw new DomainError('BAD_INPUT', problem, { runRetentionDays: [problem] });
  em.assign(organisation, data);
  await em.flush();
  return organisation;
}
