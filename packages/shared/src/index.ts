export * from './connectors.ts';
export * from './directory-fields.ts';
export * from './errors.ts';
export * from './organisation.ts';
export * from './permissions.ts';
export * from './roles.ts';
export * from './run-status.ts';
export * from './sync-configuration.ts';
