/**
 * A stand-in HR source, as product code: deterministic HR exports (CSV, XLSX) and a read-only SFTP
 * server over a local folder. The demo of `pnpm start` serves its sample files with it; the test kit
 * re-exports it, so tests and the demo run one SFTP server and one generator, not two copies.
 */
export * from './hr-files.ts';
export * from './sftp-server.ts';
