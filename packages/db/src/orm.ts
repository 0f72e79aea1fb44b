import { fileURLToPath } from 'node:url';
import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { ENTITIES } from './entities/index.ts';
import { MIGRATIONS } from './migrations/index.ts';

export type Orm = MikroORM<PostgreSqlDriver>;

interface PgConnection {
  query(sql: string, callback: (error: Error | undefined) => void): void;
}

export interface OrmOptions {
  databaseUrl: string;
  /** Connections kept by this process; the embedded database serialises them anyway. */
  poolSize?: number;
  debug?: boolean;
  /**
   * A database role every connection switches to (`set role`), e.g. API_DATABASE_ROLE: row-level
   * security does not apply to superusers and table owners, so the API reads as a role it applies to.
   */
  role?: string;
}

/** The role the API's connections use; created, granted and given row-level policies by the migrations. */
export const API_DATABASE_ROLE = 'provisioning_api';

export function ormConfig({
  databaseUrl,
  poolSize = 10,
  debug = false,
  role,
}: OrmOptions): Options<PostgreSqlDriver> {
  return {
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: {
      min: 0,
      max: poolSize,
      ...(role === undefined
        ? {}
        : {
            afterCreate(
              connection: PgConnection,
              done: (error: Error | null, connection: PgConnection) => void,
            ) {
              connection.query(`set role "${role.replaceAll('"', '""')}"`, (error) =>
                done(error ?? null, connection),
              );
            },
          }),
    },
    debug,
    // Every request and job forks its own EntityManager; the global one must never be used by accident.
    allowGlobalContext: false,
    // A mistyped database name must fail, not quietly create an empty database and migrate that.
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: true },
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
      emit: 'ts',
      // fileURLToPath, not URL.pathname, which keeps %20 for a space (a checkout under "My Projects").
      path: fileURLToPath(new URL('./migrations', import.meta.url)),
    },
  };
}

export function createOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init(ormConfig(options));
}
