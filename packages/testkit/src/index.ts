export * from './ports.ts';
export * from './test-database.ts';
