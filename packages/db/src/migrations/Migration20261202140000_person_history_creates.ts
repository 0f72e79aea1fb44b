import { Migration } from '@mikro-orm/migrations';

/**
 * A person's history without a row per created user.
 *
 * A first import creates every user, and indexing each create in `sync_log_person` (a row and two hash
 * index entries per user) made a 100k first import about a third slower (bench:people). A create that
 * applied cleanly says nothing the new user row does not: so the user row keeps which log line created it
 * (`created_run_id`, `created_seq`, `created_applied_at`, written by the same COPY), and the history reads
 * those entries through the user's own indexes (email: `directory_user_email_ci_unique`; external ID: the
 * organisation's index, now on the lower-cased ID as the history looks it up).
 *
 * - `sync_log_person_entry` is every history entry: the indexed lines, and the create entries of users
 *   whose creating run still keeps its log (a purged log or a deleted run hides them, as it deletes the
 *   indexed lines).
 * - The API reads one person's entries through `person_history_entries(key)`, which runs as the tables'
 *   owner and returns only the rows of the organisation its transaction names (`app.organisation_id`, as
 *   the row-level policies read it). Under the policies themselves the user lookup could not use its
 *   index: `lower()` is not leakproof, so the planner filters the organisation's users first (a scan of
 *   50k rows per lookup instead of an index probe).
 * - The entry shows the user's email, external ID and name as the create wrote them. Before an update
 *   changes any of the three, a trigger writes the create entry to `sync_log_person` from the row as it
 *   was and clears the reference, so the entry never shows later values. An update of other fields
 *   (department, title, status) keeps the reference.
 * - A create with warnings is indexed in `sync_log_person` as before: its message is on the line only.
 */
export class Migration20261202140000_person_history_creates extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "directory_user" add column "created_run_id" uuid null, add column "created_seq" int null,
         add column "created_applied_at" timestamptz null;`,
    );
    this.addSql(
      `alter table "directory_user" add constraint "directory_user_created_check" check (
         ("created_run_id" is null) = ("created_seq" is null) and ("created_run_id" is null) = ("created_applied_at" is null));`,
    );
    // The organisation's external ID index answers the history's lower-cased lookup (no query used the
    // exact-case one: the sync reads an organisation's directory whole).
    this.addSql(`drop index "directory_user_organisation_external_id_index";`);
    this.addSql(
      `create index "directory_user_organisation_external_id_index" on "directory_user" ("organisation_id", lower("external_id"));`,
    );

    this.addSql(`create function "keep_create_history_entry"() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from "sync_run" r where r."id" = old."created_run_id" and r."log_purged_at" is null) then
          insert into "sync_log_person" ("run_id", "seq", "organisation_id", "applied_at", "email", "external_id",
            "action", "outcome", "name", "changes", "message")
          values (old."created_run_id", old."created_seq", old."organisation_id", old."created_applied_at",
            lower(old."email"), lower(old."external_id"), 'create', 'applied',
            btrim(coalesce(old."first_name", '') || ' ' || coalesce(old."last_name", '')), null, null);
        end if;
        new."created_run_id" := null;
        new."created_seq" := null;
        new."created_applied_at" := null;
        return new;
      end $$;`);
    this.addSql(
      `create trigger "directory_user_keep_create_history_entry" before update on "directory_user"
         for each row when (old."created_run_id" is not null
           and (old."email", old."external_id", old."first_name", old."last_name")
             is distinct from (new."email", new."external_id", new."first_name", new."last_name"))
         execute function "keep_create_history_entry"();`,
    );

    this.addSql(`create view "sync_log_person_entry" as
      select "run_id", "seq", "organisation_id", "applied_at", "email", "external_id", "action", "outcome", "name",
        "changes", "message"
      from "sync_log_person"
      union all
      select u."created_run_id", u."created_seq", u."organisation_id", u."created_applied_at", lower(u."email"),
        lower(u."external_id"), 'create', 'applied',
        btrim(coalesce(u."first_name", '') || ' ' || coalesce(u."last_name", '')), null::jsonb, null::text
      from "directory_user" u
      join "sync_run" r on r."id" = u."created_run_id" and r."log_purged_at" is null;`);
    this.addSql(`create function "person_history_entries"(p_key text)
      returns setof "sync_log_person_entry"
      language sql stable security definer set search_path = pg_catalog, public as $$
        select e.* from public."sync_log_person_entry" e
        where e."organisation_id" = nullif(current_setting('app.organisation_id', true), '')::uuid
          and (e."email" = p_key or e."external_id" = p_key)
      $$;`);
    this.addSql(`revoke all on function "person_history_entries"(text) from public;`);
    this.addSql(`grant execute on function "person_history_entries"(text) to "provisioning_api";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists "person_history_entries"(text);`);
    this.addSql(`drop view if exists "sync_log_person_entry";`);
    this.addSql(`drop trigger if exists "directory_user_keep_create_history_entry" on "directory_user";`);
    // The create entries go back into the index they came from.
    this.addSql(
      `insert into "sync_log_person" ("run_id", "seq", "organisation_id", "applied_at", "email", "external_id",
         "action", "outcome", "name", "changes", "message")
       select u."created_run_id", u."created_seq", u."organisation_id", u."created_applied_at", lower(u."email"),
         lower(u."external_id"), 'create', 'applied',
         btrim(coalesce(u."first_name", '') || ' ' || coalesce(u."last_name", '')), null, null
       from "directory_user" u
       join "sync_run" r on r."id" = u."created_run_id" and r."log_purged_at" is null;`,
    );
    this.addSql(`drop function if exists "keep_create_history_entry"();`);
    this.addSql(`drop index "directory_user_organisation_external_id_index";`);
    this.addSql(
      `create index "directory_user_organisation_external_id_index" on "directory_user" ("organisation_id", "external_id");`,
    );
    this.addSql(`alter table "directory_user" drop constraint "directory_user_created_check";`);
    this.addSql(
      `alter table "directory_user" drop column "created_run_id", drop column "created_seq", drop column "created_applied_at";`,
    );
  }
}
