import { Migration } from '@mikro-orm/migrations';

/**
 * The API's second wall and its live feed.
 *
 * - `provisioning_api`: the role the API's connections switch to (superusers and table owners bypass
 *   row-level security). It reads accounts, organisations, configurations, runs and logs, and keeps
 *   sessions; nothing else.
 * - Row-level security on configurations, runs and logs: that role sees only the rows of the organisation
 *   named by the transaction's `app.organisation_id` setting, and none when it is unset.
 * - `sync_run.change_xid`: the transaction that last changed the run, set by a trigger, and a NOTIFY on
 *   `sync_run_changed` with the organisation's ID, so the API can replay every change since a resume point.
 */
export class Migration20261126233000_api_access extends Migration {
  override async up(): Promise<void> {
    // Roles belong to the cluster, not the database: another database may have created it already.
    this.addSql(`do $$ begin
      create role "provisioning_api" nologin;
    exception when duplicate_object then null;
    end $$;`);
    this.addSql(`grant usage on schema public to "provisioning_api";`);
    this.addSql(
      `grant select on "organisation", "account", "sync_configuration", "sync_run", "sync_log" to "provisioning_api";`,
    );
    this.addSql(`grant select, insert, update, delete on "session" to "provisioning_api";`);

    this.addSql(`alter table "sync_configuration" enable row level security;`);
    this.addSql(`alter table "sync_run" enable row level security;`);
    this.addSql(`alter table "sync_log" enable row level security;`);
    this.addSql(
      `create policy "sync_configuration_organisation" on "sync_configuration" for select to "provisioning_api" using ("organisation_id" = nullif(current_setting('app.organisation_id', true), '')::uuid);`,
    );
    this.addSql(
      `create policy "sync_run_organisation" on "sync_run" for select to "provisioning_api" using ("organisation_id" = nullif(current_setting('app.organisation_id', true), '')::uuid);`,
    );
    // A log entry is visible when its run is: the run's own policy applies inside the subquery.
    this.addSql(
      `create policy "sync_log_organisation" on "sync_log" for select to "provisioning_api" using (exists (select 1 from "sync_run" r where r."id" = "sync_log"."run_id"));`,
    );

    this.addSql(`alter table "sync_run" add column "change_xid" bigint null;`);
    this.addSql(
      `create index "sync_run_organisation_change_xid_index" on "sync_run" ("organisation_id", "change_xid");`,
    );
    this.addSql(`create function "sync_run_stamp_change"() returns trigger language plpgsql as $$
    begin
      new."change_xid" := pg_current_xact_id()::text::bigint;
      return new;
    end $$;`);
    this.addSql(`create function "sync_run_notify_change"() returns trigger language plpgsql as $$
    begin
      -- Identical notifications of one transaction are delivered once.
      perform pg_notify('sync_run_changed', new."organisation_id"::text);
      return null;
    end $$;`);
    this.addSql(
      `create trigger "sync_run_stamp_change" before insert or update on "sync_run" for each row execute function "sync_run_stamp_change"();`,
    );
    this.addSql(
      `create trigger "sync_run_notify_change" after insert or update on "sync_run" for each row execute function "sync_run_notify_change"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "sync_run_notify_change" on "sync_run";`);
    this.addSql(`drop trigger if exists "sync_run_stamp_change" on "sync_run";`);
    this.addSql(`drop function if exists "sync_run_notify_change"();`);
    this.addSql(`drop function if exists "sync_run_stamp_change"();`);
    this.addSql(`drop index if exists "sync_run_organisation_change_xid_index";`);
    this.addSql(`alter table "sync_run" drop column if exists "change_xid";`);
    this.addSql(`drop policy if exists "sync_log_organisation" on "sync_log";`);
    this.addSql(`drop policy if exists "sync_run_organisation" on "sync_run";`);
    this.addSql(`drop policy if exists "sync_configuration_organisation" on "sync_configuration";`);
    this.addSql(`alter table "sync_log" disable row level security;`);
    this.addSql(`alter table "sync_run" disable row level security;`);
    this.addSql(`alter table "sync_configuration" disable row level security;`);
    this.addSql(
      `revoke all on "organisation", "account", "sync_configuration", "sync_run", "sync_log", "session" from "provisioning_api";`,
    );
  }
}
