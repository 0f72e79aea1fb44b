import { Migration } from '@mikro-orm/migrations';

/**
 * The Slack bot's tables.
 *
 * - `run_notification`: the outbox of run outcomes. A trigger on sync_run (beside sync_run_stamp_change)
 *   inserts one row when a run's status becomes final, in the transaction that wrote that status, so
 *   every path (apply, a run that wrote nothing, a cancel by support or by the reaper) leaves exactly one
 *   row, and the sync engine stays free of queues. The API reads it (run details), per organisation.
 * - `slack_installation`: an organisation's workspace, its sealed bot token and channel.
 * - `slack_account_link` / `slack_link_code`: Slack users linked to accounts. The API's role confirms a
 *   code and writes the link, only within the signed-in organisation (row-level security).
 * - `slack_request`: requests already taken, so a replayed slash command runs once.
 */
export class Migration20261202070212_slack extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "slack_account_link" ("team_id" text not null, "slack_user_id" text not null, "organisation_id" uuid not null, "account_id" uuid not null, "created_at" timestamptz not null, constraint "slack_account_link_pkey" primary key ("team_id", "slack_user_id"));`,
    );
    this.addSql(`create index "slack_account_link_account_id_index" on "slack_account_link" ("account_id");`);

    this.addSql(
      `create table "slack_installation" ("id" uuid not null, "organisation_id" uuid not null, "team_id" text not null, "team_name" text null, "bot_user_id" text not null, "bot_id" text null, "bot_token" text not null, "channel_id" text not null, "notify" text check ("notify" in ('all', 'failures', 'failures-and-recovery')) not null default 'failures-and-recovery', "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "slack_installation_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "slack_installation" add constraint "slack_installation_organisation_unique" unique ("organisation_id");`,
    );
    this.addSql(
      `alter table "slack_installation" add constraint "slack_installation_team_unique" unique ("team_id");`,
    );

    this.addSql(
      `create table "slack_link_code" ("code_hash" text not null, "organisation_id" uuid not null, "team_id" text not null, "slack_user_id" text not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null, constraint "slack_link_code_pkey" primary key ("code_hash"));`,
    );
    this.addSql(`create index "slack_link_code_expires_at_index" on "slack_link_code" ("expires_at");`);

    this.addSql(
      `create table "slack_request" ("key" text not null, "received_at" timestamptz not null, constraint "slack_request_pkey" primary key ("key"));`,
    );
    this.addSql(`create index "slack_request_received_at_index" on "slack_request" ("received_at");`);

    this.addSql(
      `create table "run_notification" ("run_id" uuid not null, "organisation_id" uuid not null, "status" text check ("status" in ('queued', 'in_progress', 'success', 'needs_attention', 'data_load_failed', 'above_deactivation_threshold', 'cancelled')) not null, "state" text check ("state" in ('pending', 'sending', 'sent', 'skipped', 'failed')) not null default 'pending', "attempts" int not null default 0, "channel_id" text null, "message_ts" text null, "last_error" text null, "retry_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "run_notification_pkey" primary key ("run_id"));`,
    );
    this.addSql(
      `create index "run_notification_unfinished_index" on "run_notification" ("created_at") where "state" in ('pending', 'sending');`,
    );

    this.addSql(
      `alter table "slack_account_link" add constraint "slack_account_link_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "slack_account_link" add constraint "slack_account_link_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "slack_installation" add constraint "slack_installation_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "slack_link_code" add constraint "slack_link_code_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "run_notification" add constraint "run_notification_run_id_foreign" foreign key ("run_id") references "sync_run" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "run_notification" add constraint "run_notification_organisation_id_foreign" foreign key ("organisation_id") references "organisation" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(`create function "sync_run_queue_notification"() returns trigger language plpgsql as $$
    begin
      if new."status" in ('success', 'needs_attention', 'data_load_failed', 'above_deactivation_threshold', 'cancelled')
         and old."status" is distinct from new."status" then
        insert into "run_notification" ("run_id", "organisation_id", "status")
        values (new."id", new."organisation_id", new."status")
        on conflict do nothing;
      end if;
      return null;
    end $$;`);
    this.addSql(
      `create trigger "sync_run_queue_notification" after update of "status" on "sync_run" for each row execute function "sync_run_queue_notification"();`,
    );

    this.addSql(`grant select on "run_notification" to "provisioning_api";`);
    this.addSql(`grant select on "slack_installation" to "provisioning_api";`);
    this.addSql(`grant select, update on "slack_link_code" to "provisioning_api";`);
    this.addSql(`grant select, insert, update on "slack_account_link" to "provisioning_api";`);
    for (const table of ['run_notification', 'slack_installation', 'slack_link_code', 'slack_account_link']) {
      this.addSql(`alter table "${table}" enable row level security;`);
      this.addSql(
        `create policy "${table}_organisation" on "${table}" for all to "provisioning_api" using ("organisation_id" = nullif(current_setting('app.organisation_id', true), '')::uuid) with check ("organisation_id" = nullif(current_setting('app.organisation_id', true), '')::uuid);`,
      );
    }
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "sync_run_queue_notification" on "sync_run";`);
    this.addSql(`drop function if exists "sync_run_queue_notification"();`);
    this.addSql(`drop table if exists "slack_account_link" cascade;`);

    this.addSql(`drop table if exists "slack_installation" cascade;`);

    this.addSql(`drop table if exists "slack_link_code" cascade;`);

    this.addSql(`drop table if exists "slack_request" cascade;`);

    this.addSql(`drop table if exists "run_notification" cascade;`);
  }
}
