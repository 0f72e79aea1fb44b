export * from './bad-files.ts';
export * from './hr-files.ts';
export * from './ports.ts';
export * from './sftp-server.ts';
