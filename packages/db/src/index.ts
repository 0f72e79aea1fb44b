export * from './embedded-database.ts';
export * from './entities/index.ts';
export * from './migrate.ts';
export * from './orm.ts';
export * from './password.ts';
export * from './secret-box.ts';
