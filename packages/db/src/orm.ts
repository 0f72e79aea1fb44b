import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { DriverException, MikroORM, type Options } from '@mikro-orm/core';
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
  /**
   * Where the driver's own warnings go (a pooled connection the server dropped, say): knex prints them
   * on stdout otherwise, a plain line among a process's JSON logs.
   */
  logger?: DriverLogger;
}

/** What the driver's warnings need of a logger; a pino logger is one. */
export interface DriverLogger {
  warn(message: string): void;
  error(message: string): void;
}

/** The role the API's connections use; created, granted and given row-level policies by the migrations. */
export const API_DATABASE_ROLE = 'provisioning_api';

export function ormConfig({
  databaseUrl,
  poolSize = 10,
  debug = false,
  role,
  logger,
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
    ...(logger === undefined
      ? {}
      : {
          driverOptions: {
            log: {
              warn: (message: unknown) => logger.warn(driverMessage(message)),
              deprecate: (message: unknown) => logger.warn(driverMessage(message)),
              error: (message: unknown) => logger.error(driverMessage(message)),
            },
          },
        }),
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

function driverMessage(message: unknown): string {
  return `database driver: ${typeof message === 'string' ? message : inspect(message)}`;
}

export function createOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init(ormConfig(options));
}

/**
 * What went wrong, for a person to read: a database error's code, message and hint, without the SQL and
 * values knex puts before the message or the row MikroORM adds after it as detail (they may hold secrets
 * and say nothing to an operator).
 */
export function databaseErrorMessage(error: unknown): string {
  // MikroORM's own operations throw a DriverException; a raw `execute` throws pg's error. Either way the
  // message reads "<statement> - <server's message>", then MikroORM's "\n - detail: ..." and "\n - hint: ...".
  const fromServer =
    error instanceof DriverException ||
    (error instanceof Error && typeof (error as { severity?: unknown }).severity === 'string');
  if (!fromServer) return error instanceof Error ? error.message : String(error);
  const { code, hint, message } = error as Error & { code?: string; hint?: string };
  const own = message
    .replace(/\n - (detail|hint): [\s\S]*$/, '')
    .split(' - ')
    .pop();
  return `database error${code ? ` ${code}` : ''}: ${own}${hint ? ` (${hint})` : ''}`;
}
