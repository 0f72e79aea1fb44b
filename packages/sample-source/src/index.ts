/**
 * A stand-in HR source, as product code: deterministic HR exports (CSV, XLSX), a read-only SFTP server
 * over a local folder, a Workday tenant (report, OAuth, Get_Workers) and a Google Workspace tenant (token
 * endpoint and Directory API). The demo of `pnpm start` serves its samples with them; the test kit
 * re-exports them, so tests and the demo run one server of each kind and one generator, not two copies.
 */
export * from './google-directory-server.ts';
export * from './hr-files.ts';
export * from './sftp-server.ts';
export * from './workday-server.ts';
