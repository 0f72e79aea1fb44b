import { Migration } from '@mikro-orm/migrations';

/**
 * A person's history across runs: `sync_log_person` indexes each log line that changed or skipped a
 * person (created, updated, reactivated, deactivated, skipped; never unchanged) by organisation,
 * lower-cased email and lower-cased external ID, with what the history shows of the line (action, outcome,
 * name, field changes, message). Those are copied, not read from the line's `sync_log_chunk`: reading a
 * line out of its chunk parses the chunk's JSON up to it, and 25 of those made a page of history several
 * times slower than the index lookup (bench:people). The rows go with the run, and with its log when the
 * log is purged (`deletePersonIndexForRuns`, in the purge's transaction).
 *
 * - Looked up by exact key (hash indexes), newest apply first.
 * - Written by the run's apply, in its transaction; `applied_at` is the apply's clock after the
 *   organisation's lock, so an organisation's entries order as its applies committed.
 * - The run reference is checked per statement and deletes cascade (see statement_level_references): a
 *   first import writes a row per user.
 * - The API's role reads the rows of the organisation its transaction names, as for runs.
 */
export class Migration20261202120000_person_history extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "sync_log_person" ("run_id" uuid not null, "seq" int not null, "organisation_id" uuid not null,
         "applied_at" timestamptz not null, "email" text null, "external_id" text null,
         "action" text not null, "outcome" text not null, "name" text null, "changes" jsonb null, "message" text null,
         constraint "sync_log_person_pkey" primary key ("run_id", "seq"));`,
    );
    // Hash indexes: a lookup is by equality only, and a person has few rows to sort. A first import adds a
    // row per user at random places in both; 100k such inserts took about a third less time into hashes
    // than into B-trees of (organisation, key, time), measured side by side, and hashes are smaller.
    this.addSql(`create index "sync_log_person_email_index" on "sync_log_person" using hash ("email");`);
    this.addSql(
      `create index "sync_log_person_external_id_index" on "sync_log_person" using hash ("external_id");`,
    );
    for (const event of ['insert', 'update']) {
      this.addSql(
        `create trigger "sync_log_person_run_id_${event}_check" after ${event} on "sync_log_person"
           referencing new table as new_rows for each statement
           execute function "check_references"('run_id', 'sync_run');`,
      );
    }
    this.addSql(
      `create trigger "sync_run_delete_sync_log_person_run_id" after delete on "sync_run"
         referencing old table as old_rows for each statement
         execute function "apply_reference_delete_rule"('sync_log_person', 'run_id', 'cascade');`,
    );

    this.addSql(`grant select on "sync_log_person" to "provisioning_api";`);
    this.addSql(`alter table "sync_log_person" enable row level security;`);
    this.addSql(
      `create policy "sync_log_person_organisation" on "sync_log_person" for select to "provisioning_api" using ("organisation_id" = nullif(current_setting('app.organisation_id', true), '')::uuid);`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "sync_run_delete_sync_log_person_run_id" on "sync_run";`);
    this.addSql(`drop table if exists "sync_log_person" cascade;`);
  }
}
