import type { Transaction } from '@mikro-orm/core';
import type { Migrator } from '@mikro-orm/migrations';
import type { Orm } from './orm.ts';

interface MigratorInternals {
  // Migrator.up() re-runs its table check on a pooled connection before taking our transaction; this is
  // the step after that check, which runs every query on the given transaction.
  runInTransaction(trx: Transaction, method: 'up', options: object): Promise<{ name: string }[]>;
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so several processes starting
 * together (api, worker replicas, the CLI) apply them once. Everything inside the transaction runs on its
 * connection: the embedded database serialises connections, so waiting on another one there would hang.
 */
export async function migrate(orm: Orm): Promise<string[]> {
  const migrator = orm.getMigrator() as Migrator;
  // Creates the migrations table when missing, outside any transaction.
  if ((await migrator.getPendingMigrations()).length === 0) return [];
  const connection = orm.em.getConnection();
  return connection.transactional(async (trx) => {
    await connection.execute(
      "select pg_advisory_xact_lock(hashtext('provisioning:migrations'))",
      [],
      'run',
      trx,
    );
    const applied = await (migrator as unknown as MigratorInternals).runInTransaction(trx, 'up', {});
    return applied.map((migration) => migration.name);
  });
}
