import type { Transaction } from '@mikro-orm/core';
import type { Migrator } from '@mikro-orm/migrations';
import type { Orm } from './orm.ts';
import { sql } from './repositories/common.ts';

interface MigratorInternals {
  // Migrator.up() first runs its migrations-table check on a pooled connection; this is the step after that
  // check, which runs every query on the given transaction.
  runInTransaction(trx: Transaction, method: 'up', options: object): Promise<{ name: string }[]>;
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so several processes starting
 * together (api, worker replicas, the CLI) apply them once. Everything inside the transaction runs on its
 * connection: the embedded database serialises connections, so waiting on another one there would hang.
 */
export async function migrate(orm: Orm): Promise<string[]> {
  const migrator = orm.getMigrator() as Migrator;
  const table = orm.config.get('migrations').tableName ?? 'mikro_orm_migrations';
  const connection = orm.em.getConnection();
  return connection.transactional(async (trx) => {
    await sql(trx, "select pg_advisory_xact_lock(hashtext('provisioning:migrations'))");
    // Created here, under the lock, and not by the migrator: its check lists the tables and then creates
    // the missing one, so processes starting together on a fresh database race there and all but one fail
    // (duplicate key in pg_type). The columns are the ones MikroORM's MigrationStorage creates.
    await sql(
      trx,
      `create table if not exists "${table}" ("id" serial primary key, "name" varchar(255), "executed_at" timestamptz default current_timestamp)`,
    );
    const applied = await (migrator as unknown as MigratorInternals).runInTransaction(trx, 'up', {});
    return applied.map((migration) => migration.name);
  });
}
