import { Migration } from '@mikro-orm/migrations';

/**
 * `sync_run.connector`: the source a run loads from, so the runs list filters by source from indexes of
 * sync_run alone. A join to the configurations was tried first: the planner could only walk the
 * organisation's runs newest first and drop other sources' rows, 98 ms for a deep page of a source with a
 * tenth of 100k runs (the target is 50 ms); from these indexes it is 1 to 3 ms.
 *
 * The column is added with 'sftp' as its default, which PostgreSQL records without rewriting the table,
 * and only the runs of other connectors' configurations are then updated; the default is dropped again,
 * so a run is never 'sftp' by omission. From then on a trigger copies the configuration's connector into
 * every new run and refuses a run that names another.
 */
export class Migration20261202070000_run_connector extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "sync_run" add column "connector" text check ("connector" in ('sftp', 'workday', 'google-workspace')) not null default 'sftp';`,
    );
    this.addSql(`update "sync_run" r set "connector" = c."connector"
      from "sync_configuration" c
      where c."id" = r."configuration_id" and c."connector" <> 'sftp';`);
    this.addSql(`alter table "sync_run" alter column "connector" drop default;`);
    this.addSql(
      `create index "sync_run_organisation_connector_queued_at_index" on "sync_run" ("organisation_id", "connector", "queued_at", "id");`,
    );
    this.addSql(
      `create index "sync_run_organisation_connector_status_queued_at_index" on "sync_run" ("organisation_id", "connector", "status", "queued_at", "id");`,
    );
    this.addSql(`create function "sync_run_copy_connector"() returns trigger language plpgsql as $$
      declare
        source text;
      begin
        select c."connector" into source from "sync_configuration" c where c."id" = new."configuration_id";
        if source is null then
          raise foreign_key_violation using
            message = 'insert or update on table "sync_run" violates foreign key constraint "sync_run_configuration_id_foreign"',
            detail = format('Key (configuration_id)=(%s) is not present in table "sync_configuration".', new."configuration_id");
        end if;
        if new."connector" is not null and new."connector" <> source then
          raise check_violation using
            message = format('a run of configuration %s loads from %s, not %s', new."configuration_id", source, new."connector");
        end if;
        new."connector" := source;
        return new;
      end $$;`);
    this.addSql(
      `create trigger "sync_run_copy_connector" before insert or update of "configuration_id", "connector" on "sync_run"
         for each row execute function "sync_run_copy_connector"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "sync_run_copy_connector" on "sync_run";`);
    this.addSql(`drop function if exists "sync_run_copy_connector"();`);
    this.addSql(`drop index if exists "sync_run_organisation_connector_status_queued_at_index";`);
    this.addSql(`drop index if exists "sync_run_organisation_connector_queued_at_index";`);
    this.addSql(`alter table "sync_run" drop column if exists "connector";`);
  }
}
