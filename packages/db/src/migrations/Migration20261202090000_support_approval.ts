import { Migration } from '@mikro-orm/migrations';

const ORGANISATION = `nullif(current_setting('app.organisation_id', true), '')::uuid`;

/**
 * Support's approval of a run blocked by the deactivation threshold (`sync approve`).
 *
 * - `sync_run_blocked_user`: every user a blocked run would have deactivated, written with its final
 *   status. Its run reference is checked per statement (see statement_level_references): a broken source
 *   can plan every managed user's deactivation at once.
 * - `sync_run_approval`: one per blocked run (by, reason, when, until when, which run used it, outcome).
 * - `sync_run.trigger` takes `approval`; `sync_run.approval_id` names the approval such a run runs under,
 *   cleared when the approval is deleted (with its blocked run).
 * - The API's role reads both tables for the run details (a row is visible when its run is), and of
 *   `directory_user` only the columns that name a person in the planned-deactivations list, for its own
 *   organisation.
 */
export class Migration20261202090000_support_approval extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sync_run" drop constraint "sync_run_trigger_check";`);
    this.addSql(
      `alter table "sync_run" add constraint "sync_run_trigger_check" check ("trigger" in ('schedule', 'manual', 'approval'));`,
    );

    this.addSql(
      `create table "sync_run_blocked_user" ("run_id" uuid not null, "user_id" uuid not null, constraint "sync_run_blocked_user_pkey" primary key ("run_id", "user_id"));`,
    );
    for (const event of ['insert', 'update']) {
      this.addSql(
        `create trigger "sync_run_blocked_user_run_id_${event}_check" after ${event} on "sync_run_blocked_user"
           referencing new table as new_rows for each statement
           execute function "check_references"('run_id', 'sync_run');`,
      );
    }
    this.addSql(
      `create trigger "sync_run_delete_sync_run_blocked_user_run_id" after delete on "sync_run"
         referencing old table as old_rows for each statement
         execute function "apply_reference_delete_rule"('sync_run_blocked_user', 'run_id', 'cascade');`,
    );

    this.addSql(
      `create table "sync_run_approval" ("id" uuid not null, "blocked_run_id" uuid not null, "approved_by" text not null, "reason" text not null, "approved_at" timestamptz not null, "expires_at" timestamptz not null, "used_by_run_id" uuid null, "outcome" text check ("outcome" in ('applied', 'plan_grew', 'lapsed')) null, constraint "sync_run_approval_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "sync_run_approval" add constraint "sync_run_approval_blocked_run_id_unique" unique ("blocked_run_id");`,
    );
    this.addSql(
      `create index "sync_run_approval_used_by_run_id_index" on "sync_run_approval" ("used_by_run_id");`,
    );
    this.addSql(
      `alter table "sync_run_approval" add constraint "sync_run_approval_blocked_run_id_foreign" foreign key ("blocked_run_id") references "sync_run" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sync_run_approval" add constraint "sync_run_approval_used_by_run_id_foreign" foreign key ("used_by_run_id") references "sync_run" ("id") on update cascade on delete set null;`,
    );

    this.addSql(`alter table "sync_run" add column "approval_id" uuid null;`);
    this.addSql(
      `create index "sync_run_approval_id_index" on "sync_run" ("approval_id") where "approval_id" is not null;`,
    );
    this.addSql(
      `create trigger "sync_run_approval_delete_sync_run_approval_id" after delete on "sync_run_approval"
         referencing old table as old_rows for each statement
         execute function "apply_reference_delete_rule"('sync_run', 'approval_id', 'set null');`,
    );

    this.addSql(`grant select on "sync_run_blocked_user", "sync_run_approval" to "provisioning_api";`);
    this.addSql(`alter table "sync_run_blocked_user" enable row level security;`);
    this.addSql(`alter table "sync_run_approval" enable row level security;`);
    // Visible when the run is: the run's own policy applies inside the subquery.
    this.addSql(
      `create policy "sync_run_blocked_user_organisation" on "sync_run_blocked_user" for select to "provisioning_api" using (exists (select 1 from "sync_run" r where r."id" = "sync_run_blocked_user"."run_id"));`,
    );
    this.addSql(
      `create policy "sync_run_approval_organisation" on "sync_run_approval" for select to "provisioning_api" using (exists (select 1 from "sync_run" r where r."id" = "sync_run_approval"."blocked_run_id"));`,
    );
    this.addSql(
      `grant select ("id", "organisation_id", "external_id", "email", "first_name", "last_name") on "directory_user" to "provisioning_api";`,
    );
    this.addSql(`alter table "directory_user" enable row level security;`);
    this.addSql(
      `create policy "directory_user_organisation" on "directory_user" for select to "provisioning_api" using ("organisation_id" = ${ORGANISATION});`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop policy if exists "directory_user_organisation" on "directory_user";`);
    this.addSql(`alter table "directory_user" disable row level security;`);
    this.addSql(`revoke all on "directory_user" from "provisioning_api";`);
    this.addSql(
      `drop trigger if exists "sync_run_approval_delete_sync_run_approval_id" on "sync_run_approval";`,
    );
    this.addSql(`drop index if exists "sync_run_approval_id_index";`);
    this.addSql(`alter table "sync_run" drop column if exists "approval_id";`);
    this.addSql(`drop table if exists "sync_run_approval" cascade;`);
    this.addSql(`drop trigger if exists "sync_run_delete_sync_run_blocked_user_run_id" on "sync_run";`);
    this.addSql(`drop table if exists "sync_run_blocked_user" cascade;`);
    this.addSql(`delete from "sync_run" where "trigger" = 'approval';`);
    this.addSql(`alter table "sync_run" drop constraint "sync_run_trigger_check";`);
    this.addSql(
      `alter table "sync_run" add constraint "sync_run_trigger_check" check ("trigger" in ('schedule', 'manual'));`,
    );
  }
}
