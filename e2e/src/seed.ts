/** The seeders of the db package, under the names the browser tests use. */
export * from '@provisioning/db/testing';
export { SEED_PASSWORD as PASSWORD } from '@provisioning/db/testing';
