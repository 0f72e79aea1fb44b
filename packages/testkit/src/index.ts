export * from '@provisioning/sample-source';
export * from './bad-files.ts';
export * from './ports.ts';
