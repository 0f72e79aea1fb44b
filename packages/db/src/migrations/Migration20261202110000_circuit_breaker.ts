import { Migration } from '@mikro-orm/migrations';

/**
 * The failure circuit breaker of a configuration.
 *
 * - `sync_configuration.consecutive_failures`: Data Load Failed runs since the last completed run (Success
 *   or Needs Attention). Above Deactivation Threshold and Cancelled leave it as it is: the first loaded the
 *   source (it is a guard, not a failure of the source) and the second says nothing about the source.
 * - `alert_after_failures` (default 3) and `pause_after_failures` (default 5, not below the alert): at the
 *   alert a Slack notification goes out; at the pause `paused_at` / `paused_reason` are set and the
 *   scheduler queues no more runs until support resumes the configuration (manual runs still work).
 * - The trigger `sync_run_circuit_breaker` keeps all of it on sync_run's final statuses, in the transaction
 *   that writes the status, so no code path (apply, a run that wrote nothing, the reaper) can skip it.
 * - `run_notification` takes a second row per run, `kind = 'circuit'`, inserted by the same trigger when the
 *   streak reaches the alert and when it reaches the pause: each at most once per streak. It keeps the
 *   count and whether the configuration was paused then, which its message says.
 */
export class Migration20261202110000_circuit_breaker extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sync_configuration"
      add column "consecutive_failures" int not null default 0,
      add column "alert_after_failures" int not null default 3,
      add column "pause_after_failures" int not null default 5,
      add column "paused_at" timestamptz null,
      add column "paused_reason" text null;`);
    this.addSql(
      `alter table "sync_configuration" add constraint "sync_configuration_circuit_check" check (alert_after_failures >= 1 and alert_after_failures <= 100 and pause_after_failures >= alert_after_failures and pause_after_failures <= 100);`,
    );

    this.addSql(`alter table "run_notification"
      add column "kind" text check ("kind" in ('run', 'circuit')) not null default 'run',
      add column "consecutive_failures" int null,
      add column "paused" boolean null;`);
    this.addSql(`alter table "run_notification" drop constraint "run_notification_pkey";`);
    this.addSql(
      `alter table "run_notification" add constraint "run_notification_pkey" primary key ("run_id", "kind");`,
    );

    this.addSql(`create function "sync_run_circuit_breaker"() returns trigger language plpgsql as $$
    declare
      configuration record;
    begin
      if old."status" is not distinct from new."status" then
        return null;
      end if;
      if new."status" in ('success', 'needs_attention') then
        update "sync_configuration" set "consecutive_failures" = 0
        where "id" = new."configuration_id" and "consecutive_failures" <> 0;
      elsif new."status" = 'data_load_failed' then
        update "sync_configuration" c set
          "consecutive_failures" = c."consecutive_failures" + 1,
          "paused_at" = case when c."paused_at" is null and c."consecutive_failures" + 1 >= c."pause_after_failures"
            then now() else c."paused_at" end,
          "paused_reason" = case when c."paused_at" is null and c."consecutive_failures" + 1 >= c."pause_after_failures"
            then format('Paused after %s consecutive Data Load Failed runs', c."consecutive_failures" + 1)
            else c."paused_reason" end
        where c."id" = new."configuration_id"
        returning c."consecutive_failures", c."alert_after_failures", c."pause_after_failures", c."paused_at"
        into configuration;
        if configuration."consecutive_failures" in (configuration."alert_after_failures", configuration."pause_after_failures") then
          insert into "run_notification" ("run_id", "organisation_id", "status", "kind", "consecutive_failures", "paused")
          values (new."id", new."organisation_id", new."status", 'circuit', configuration."consecutive_failures",
            configuration."paused_at" is not null)
          on conflict do nothing;
        end if;
      end if;
      return null;
    end $$;`);
    this.addSql(
      `create trigger "sync_run_circuit_breaker" after update of "status" on "sync_run" for each row execute function "sync_run_circuit_breaker"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "sync_run_circuit_breaker" on "sync_run";`);
    this.addSql(`drop function if exists "sync_run_circuit_breaker"();`);
    this.addSql(`delete from "run_notification" where "kind" <> 'run';`);
    this.addSql(`alter table "run_notification" drop constraint "run_notification_pkey";`);
    this.addSql(
      `alter table "run_notification" add constraint "run_notification_pkey" primary key ("run_id");`,
    );
    this.addSql(`alter table "run_notification"
      drop column "kind", drop column "consecutive_failures", drop column "paused";`);
    this.addSql(`alter table "sync_configuration" drop constraint "sync_configuration_circuit_check";`);
    this.addSql(`alter table "sync_configuration"
      drop column "consecutive_failures", drop column "alert_after_failures", drop column "pause_after_failures",
      drop column "paused_at", drop column "paused_reason";`);
  }
}
