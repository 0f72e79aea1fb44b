import { Migration } from '@mikro-orm/migrations';

/**
 * Log retention (the `log-purge` job):
 *
 * - `organisation.log_retention_days` (default 90) and `run_retention_days` (default 400), each 7-3650
 *   days, the run's record kept at least as long as its log.
 * - `sync_run.log_purged_at` and `log_purge_retention_days`: when the purge deleted the run's log lines
 *   and under which retention, so every download of it can say so. Both or neither.
 * - Two partial indexes by organisation and end, of the final runs whose log is kept and of the runs
 *   whose log is purged: the purge's two look-ups (logs to delete, then records to delete) read only
 *   the expired rows, however long the history, and together they are no bigger than one index.
 */
export class Migration20261202130000_log_retention extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "organisation" add column "log_retention_days" int not null default 90, add column "run_retention_days" int not null default 400;`,
    );
    this.addSql(
      `alter table "organisation" add constraint "organisation_log_retention_days_check" check ("log_retention_days" >= 7 and "log_retention_days" <= 3650);`,
    );
    this.addSql(
      `alter table "organisation" add constraint "organisation_run_retention_days_check" check ("run_retention_days" >= 7 and "run_retention_days" <= 3650 and "run_retention_days" >= "log_retention_days");`,
    );

    this.addSql(
      `alter table "sync_run" add column "log_purged_at" timestamptz null, add column "log_purge_retention_days" int null;`,
    );
    this.addSql(
      `alter table "sync_run" add constraint "sync_run_log_purge_check" check (("log_purged_at" is null) = ("log_purge_retention_days" is null));`,
    );
    this.addSql(
      `create index "sync_run_log_kept_index" on "sync_run" ("organisation_id", "finished_at") where "log_purged_at" is null and "status" not in ('queued', 'in_progress');`,
    );
    this.addSql(
      `create index "sync_run_log_purged_index" on "sync_run" ("organisation_id", "finished_at") where "log_purged_at" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "sync_run_log_purged_index";`);
    this.addSql(`drop index if exists "sync_run_log_kept_index";`);
    this.addSql(`alter table "sync_run" drop constraint if exists "sync_run_log_purge_check";`);
    this.addSql(
      `alter table "sync_run" drop column if exists "log_purged_at", drop column if exists "log_purge_retention_days";`,
    );
    this.addSql(
      `alter table "organisation" drop constraint if exists "organisation_run_retention_days_check", drop constraint if exists "organisation_log_retention_days_check";`,
    );
    this.addSql(
      `alter table "organisation" drop column if exists "log_retention_days", drop column if exists "run_retention_days";`,
    );
  }
}
