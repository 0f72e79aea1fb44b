export * from '@provisioning/sample-source';
export * from './bad-files.ts';
export * from './ports.ts';
export * from './slack-server.ts';
export * from './timing.ts';
