/**
 * Helpers for tests and benchmarks of every package: exported as `@provisioning/db/testing` only, never
 * from the package's main entry, so production code does not pull them in.
 */
export * from './seed.ts';
export * from './statements.ts';
export * from './test-database.ts';
