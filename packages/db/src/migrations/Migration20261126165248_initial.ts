import { Migration } from '@mikro-orm/migrations';

export class Migration20261126165248_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "organisation" ("id" uuid not null, "name" text not null, "time_zone" text not null default 'UTC', "provisioning_enabled" boolean not null default true, "sync_service" text check ("sync_service" in ('user-sync', 'legacy')) not null default 'user-sync', "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "organisation_pkey" primary key ("id"));`,
    );

    this.addSql(
      `create table "account" ("id" uuid not null, "organisation_id" uuid not null, "email" text not null, "name" text not null, "password_hash" text not null, "roles" text[] not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "account_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "account_organisation_id_index" on "account" ("organisation_id");`);
    this.addSql(`create unique index "account_email_ci_unique" on "account" (lower("email"));`);

    this.addSql(
      `create table "session" ("token_hash" text not null, "account_id" uuid not null, "created_at" timestamptz not null, "last_seen_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "ip_address" text null, "user_agent" text null, constraint "session_pkey" primary key ("token_hash"));`,
    );
    this.addSql(`create index "session_account_id_index" on "session" ("account_id");`);

    this.addSql(
      `create table "sync_configuration" ("id" uuid not null, "organisation_id" uuid not null, "name" text not null, "connector" text check ("connector" in ('sftp', 'workday', 'google-workspace')) not null, "settings" jsonb not null, "secrets" text null, "mapping" jsonb not null, "schedule" text null, "schedule_time_zone" text null, "threshold_count" int not null default 500, "threshold_percent" numeric(5,2) not null default 20, "enabled" boolean not null default true, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "sync_configuration_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create unique index "sync_configuration_name_unique" on "sync_configuration" ("organisation_id", lower("name"));`,
    );

    this.addSql(
      `create table "directory_user" ("id" uuid not null, "organisation_id" uuid not null, "external_id" text null, "email" text not null, "first_name" text not null, "last_name" text not null, "job_title" text null, "department" text null, "location" text null, "manager_email" text null, "employee_number" text null, "phone" text null, "start_date" date null, "status" text check ("status" in ('active', 'deactivated')) not null default 'active', "managed_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deactivated_at" timestamptz null, constraint "directory_user_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "directory_user_managed_by_external_id_index" on "directory_user" ("managed_by_id", "external_id");`,
    );
    this.addSql(
      `create index "directory_user_organisation_external_id_index" on "directory_user" ("organisation_id", "external_id");`,
    );
    this.addSql(
      `create unique index "directory_user_email_ci_unique" on "directory_user" ("organisation_id", lower("email"));`,
    );

    this.addSql(
      `create table "sync_run" ("id" uuid not null, "organisation_id" uuid not null, "configuration_id" uuid not null, "status" text check ("status" in ('queued', 'in_progress', 'success', 'needs_attention', 'data_load_failed', 'above_deactivation_threshold', 'cancelled')) not null default 'queued', "trigger" text check ("trigger" in ('schedule', 'manual')) not null, "queued_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, "duration_ms" int null, "created_count" int not null default 0, "updated_count" int not null default 0, "reactivated_count" int not null default 0, "deactivated_count" int not null default 0, "unchanged_count" int not null default 0, "skipped_count" int not null default 0, "warning_count" int not null default 0, "error_count" int not null default 0, "rows_read" int not null default 0, "rows_planned" int not null default 0, "rows_applied" int not null default 0, "error_summary" text null, "threshold_details" jsonb null, "attempt" int not null default 0, "heartbeat_at" timestamptz null, "cancel_requested_at" timestamptz null, constraint "sync_run_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "sync_run_organisation_queued_at_index" on "sync_run" ("organisation_id", "queued_at", "id");`,
    );
    this.addSql(
      `create index "sync_run_organisation_status_queued_at_index" on "sync_run" ("organisation_id", "status", "queued_at", "id");`,
    );
    this.addSql(
      `create index "sync_run_configuration_queued_at_index" on "sync_run" ("configuration_id", "queued_at", "id");`,
    );
    this.addSql(
      `create unique index "sync_run_one_queued_per_configuration" on "sync_run" ("configuration_id") where "status" = 'queued';`,
    );
    this.addSql(
      `create unique index "sync_run_one_in_progress_per_configuration" on "sync_run" ("configuration_id") where "status" = 'in_progress';`,
    );
    this.addSql(
      `create index "sync_run_unfinished_index" on "sync_run" ("status", "heartbeat_at") where "status" in ('queued', 'in_progress');`,
    );

    this.addSql(
      `create table "sync_log" ("run_id" uuid not null, "seq" int not null, "row_number" int null, "external_id" text null, "email" text null, "name" text null, "action" text check ("action" in ('create', 'update', 'reactivate', 'deactivate', 'unchanged', 'skip', 'error')) not null, "outcome" text check ("outcome" in ('applied', 'no_change', 'warning', 'failed', 'not_applied')) not null, "changes" jsonb null, "message" text null, "hint" text null, constraint "sync_log_pkey" primary key ("run_id", "seq"));`,
    );

    this.addSql(
      `alter table "account" add constraint "account_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "session" add constraint "session_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "sync_configuration" add constraint "sync_configuration_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "directory_user" add constraint "directory_user_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "directory_user" add constraint "directory_user_managed_by_id_foreign" foreign key ("managed_by_id") references "sync_configuration" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "sync_run" add constraint "sync_run_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sync_run" add constraint "sync_run_configuration_id_foreign" foreign key ("configuration_id") references "sync_configuration" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "sync_log" add constraint "sync_log_run_id_foreign" foreign key ("run_id") references "sync_run" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "account" drop constraint "account_organisation_id_foreign";`);

    this.addSql(
      `alter table "sync_configuration" drop constraint "sync_configuration_organisation_id_foreign";`,
    );

    this.addSql(`alter table "directory_user" drop constraint "directory_user_organisation_id_foreign";`);

    this.addSql(`alter table "sync_run" drop constraint "sync_run_organisation_id_foreign";`);

    this.addSql(`alter table "session" drop constraint "session_account_id_foreign";`);

    this.addSql(`alter table "directory_user" drop constraint "directory_user_managed_by_id_foreign";`);

    this.addSql(`alter table "sync_run" drop constraint "sync_run_configuration_id_foreign";`);

    this.addSql(`alter table "sync_log" drop constraint "sync_log_run_id_foreign";`);

    this.addSql(`drop table if exists "organisation" cascade;`);

    this.addSql(`drop table if exists "account" cascade;`);

    this.addSql(`drop table if exists "session" cascade;`);

    this.addSql(`drop table if exists "sync_configuration" cascade;`);

    this.addSql(`drop table if exists "directory_user" cascade;`);

    this.addSql(`drop table if exists "sync_run" cascade;`);

    this.addSql(`drop table if exists "sync_log" cascade;`);
  }
}
