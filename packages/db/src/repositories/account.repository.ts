import type { EntityManager } from '@mikro-orm/postgresql';
import { type AccountInput, AccountInputSchema, DomainError, parseInput } from '@provisioning/shared';
import { Account } from '../entities/index.ts';
import { hashPassword } from '../password.ts';
import { escapeLike, flushOrConflict } from './common.ts';
import { getOrganisation } from './organisation.repository.ts';

export async function createAccount(em: EntityManager, input: AccountInput): Promise<Account> {
  const data = parseInput(AccountInputSchema, input, 'Account');
  const organisation = await getOrganisation(em, data.organisationId);
  const taken = await em.count(Account, { email: { $ilike: escapeLike(data.email) } });
  if (taken > 0) throw new DomainError('CONFLICT', `An account with email ${data.email} already exists`);
  const account = em.create(Account, {
    organisation,
    email: data.email,
    name: data.name,
    passwordHash: await hashPassword(data.password),
    roles: data.roles,
  });
  await flushOrConflict(em, `An account with email ${data.email} already exists`);
  return account;
}

/** The account with this email (case-insensitive), or NOT_FOUND. */
export async function getAccountByEmail(em: EntityManager, email: string): Promise<Account> {
  const account = await em.findOne(Account, { email: { $ilike: escapeLike(email.trim()) } });
  if (!account) throw new DomainError('NOT_FOUND', `No account has the email ${email.trim()}`);
  return account;
}
