import type { Orm } from '../orm.ts';

/**
 * The statements `orm`'s driver is handed while `fn` runs (knex's `query` event): how many round trips a
 * read makes, and what it sends.
 */
export async function statementsSentBy(orm: Orm, fn: () => Promise<unknown>): Promise<string[]> {
  const knex = orm.em.getConnection().getKnex();
  const sent: string[] = [];
  const record = (query: { sql: string }) => sent.push(query.sql);
  knex.on('query', record);
  try {
    await fn();
  } finally {
    knex.off('query', record);
  }
  return sent;
}
