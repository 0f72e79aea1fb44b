/**
 * A stand-in HR source, as product code: deterministic HR exports (CSV, XLSX), a read-only SFTP
 * server over a local folder, and a Workday tenant (report, OAuth, Get_Workers). The demo of `pnpm start`
 * serves its sample data with them; the test kit re-exports them, so tests and the demo run one server
 * and one generator, not two copies.
 */
export * from './hr-files.ts';
export * from './sftp-server.ts';
export * from './workday-server.ts';
