import { Migration } from '@mikro-orm/migrations';

/**
 * `sync_run.source`: the fingerprint of the exact source a run read (connector, origin, SHA-256 and size
 * of the raw bytes, records), written with the run's final status. Null for runs before this, for runs
 * still going, and for loads that broke off before the source was read to the end. Adding a nullable
 * column rewrites nothing.
 */
export class Migration20261202100000_run_source extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sync_run" add column "source" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sync_run" drop column if exists "source";`);
  }
}
