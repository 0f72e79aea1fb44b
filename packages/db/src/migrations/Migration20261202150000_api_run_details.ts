import { Migration } from '@mikro-orm/migrations';

/**
 * `api_run_details(run_id, organisation_id)`: the run details read of the API (`getRunDetails`), the
 * rows and columns of `RUN_DETAILS_SELECT` for one run, as a plpgsql function so that PostgreSQL keeps
 * its plan per connection. Sent as a statement, the five-table join was planned afresh on every call,
 * with row-level security's subplans on each table (the approvals' `exists` on sync_run among them):
 * planning cost some five times the execution, and the API answered runs.get at a fraction of a bare
 * server's rate.
 *
 * It is `security invoker`: it reads as the caller, so the API's role still sees its own organisation's
 * rows and no other (the policies apply inside, and `app.organisation_id` is read when it runs, not when
 * it was planned). PostgreSQL plans it again when a table it reads changes or the role calling it does.
 * A column added to RUN_DETAILS_SELECT needs the function replaced by a migration: the repository tests
 * compare the two.
 */
export class Migration20261202150000_api_run_details extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function "api_run_details"(p_run_id uuid, p_organisation_id uuid)
      returns table ("id" uuid, "status" text, "trigger" text, "configuration_id" uuid,
        "configuration_name" text, "connector" text, "queued_at" timestamptz, "queued_at_key" text,
        "started_at" timestamptz, "finished_at" timestamptz, "duration_ms" int, "rows_read" int,
        "rows_planned" int, "rows_applied" int, "log_purged_at" timestamptz, "log_purge_retention_days" int,
        "created_count" int, "updated_count" int, "reactivated_count" int, "deactivated_count" int,
        "unchanged_count" int, "skipped_count" int, "warning_count" int, "error_count" int,
        "error_summary" text, "threshold_details" jsonb, "source" jsonb, "notification_state" text,
        "notification_error" text, "notification_sent_at" timestamptz, "approval" jsonb,
        "trigger_approval" jsonb)
      language plpgsql stable security invoker set search_path = pg_catalog, public as $$
      #variable_conflict use_column
      begin
        return query
          select r."id", r."status", r."trigger", r."configuration_id", c."name", r."connector",
                 r."queued_at", r."queued_at"::text, r."started_at", r."finished_at", r."duration_ms",
                 r."rows_read", r."rows_planned", r."rows_applied", r."log_purged_at",
                 r."log_purge_retention_days", r."created_count", r."updated_count", r."reactivated_count",
                 r."deactivated_count", r."unchanged_count", r."skipped_count", r."warning_count",
                 r."error_count", r."error_summary", r."threshold_details", r."source", n."state",
                 n."last_error", case when n."state" = 'sent' then n."updated_at" end, to_jsonb(a),
                 to_jsonb(ta)
            from public."sync_run" r join public."sync_configuration" c on c."id" = r."configuration_id"
              left join public."run_notification" n on n."run_id" = r."id" and n."kind" = 'run'
              left join public."sync_run_approval" a on a."blocked_run_id" = r."id"
              left join public."sync_run_approval" ta on ta."id" = r."approval_id"
           where r."id" = p_run_id and r."organisation_id" = p_organisation_id;
      end $$;`);
    // Functions are executable by everyone unless revoked; as invoker it grants nothing, but it is the API's.
    this.addSql(`revoke all on function "api_run_details"(uuid, uuid) from public;`);
    this.addSql(`grant execute on function "api_run_details"(uuid, uuid) to "provisioning_api";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists "api_run_details"(uuid, uuid);`);
  }
}
