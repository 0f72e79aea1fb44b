import { Migration } from '@mikro-orm/migrations';

/** The log line's fields, in the order of a chunk line's JSON array (`seq` first). */
const LINE_FIELDS = [
  'seq',
  'row_number',
  'external_id',
  'email',
  'name',
  'action',
  'outcome',
  'changes',
  'message',
  'hint',
] as const;

/** How each field is read back out of a line `l` (a JSON array) for the `sync_log` view. */
const LINE_COLUMNS = `(l->>0)::int as seq, (l->>1)::int as row_number, l->>2 as external_id, l->>3 as email,
  l->>4 as name, l->>5 as action, l->>6 as outcome, (l->>7)::jsonb as changes, l->>8 as message,
  l->>9 as hint`;

/**
 * A run's log is stored in chunks: one `sync_log_chunk` row holds up to a thousand lines, each a JSON
 * array of the line's fields (`LINE_FIELDS`), under the run and the first and last seq it holds.
 *
 * A row per line cost the database more than anything else in an unchanged rerun: a 100k-line log took
 * 0.27-0.5 s to COPY (heap, the (run_id, seq) key, the reference check's transition table) and 17 MB on
 * disk. As 100 chunks it takes about 0.07 s and 3 MB (lz4-compressed where the server has lz4).
 *
 * `sync_log` stays, as a view with the table's old columns (`security_invoker`, so the chunks' row-level
 * security applies to whoever reads it), for SQL readers; a line inserted into it becomes a chunk of
 * one line. The sync writes chunks itself (`insertLog`) and the export reads them (`logBatches`).
 * The run reference, its delete cascade and the API's read policy move to the chunks.
 */
export class Migration20261127100000_log_in_chunks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "sync_log_chunk" ("run_id" uuid not null, "first_seq" int not null, "last_seq" int not null,
         "lines" json not null, constraint "sync_log_chunk_pkey" primary key ("run_id", "first_seq"));`,
    );
    // lz4 compresses a chunk about three times faster than the default; not every build has it.
    this.addSql(`do $$ begin
      alter table "sync_log_chunk" alter column "lines" set compression lz4;
    exception when feature_not_supported or invalid_parameter_value then null;
    end $$;`);
    this.addSql(
      `insert into "sync_log_chunk" ("run_id", "first_seq", "last_seq", "lines")
       select "run_id", min("seq"), max("seq"), json_agg(json_build_array(${LINE_FIELDS.map((f) => `"${f}"`).join(', ')}) order by "seq")
       from "sync_log" group by "run_id", "seq" / 1000;`,
    );
    this.swapReferences('sync_log', 'sync_log_chunk');
    this.addSql(`drop table "sync_log";`);

    this.addSql(
      `create view "sync_log" with (security_invoker = true) as
       select c."run_id", ${LINE_COLUMNS}
       from "sync_log_chunk" c cross join lateral json_array_elements(c."lines") as l;`,
    );
    this.addSql(`create function "sync_log_insert_line"() returns trigger language plpgsql as $$
      begin
        insert into "sync_log_chunk" ("run_id", "first_seq", "last_seq", "lines")
        values (new."run_id", new."seq", new."seq",
          json_build_array(json_build_array(${LINE_FIELDS.map((f) => `new."${f}"`).join(', ')})));
        return new;
      end $$;`);
    this.addSql(
      `create trigger "sync_log_insert_line" instead of insert on "sync_log"
         for each row execute function "sync_log_insert_line"();`,
    );

    this.addSql(`grant select on "sync_log_chunk", "sync_log" to "provisioning_api";`);
    this.addSql(`alter table "sync_log_chunk" enable row level security;`);
    // A chunk is visible when its run is: the run's own policy applies inside the subquery.
    this.addSql(
      `create policy "sync_log_chunk_organisation" on "sync_log_chunk" for select to "provisioning_api" using (exists (select 1 from "sync_run" r where r."id" = "sync_log_chunk"."run_id"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `create table "sync_log_line" ("run_id" uuid not null, "seq" int not null, "row_number" int null, "external_id" text null, "email" text null, "name" text null, "action" text check ("action" in ('create', 'update', 'reactivate', 'deactivate', 'unchanged', 'skip', 'error')) not null, "outcome" text check ("outcome" in ('applied', 'no_change', 'warning', 'failed', 'not_applied')) not null, "changes" jsonb null, "message" text null, "hint" text null, constraint "sync_log_pkey" primary key ("run_id", "seq"));`,
    );
    this.addSql(`insert into "sync_log_line" select * from "sync_log";`);
    this.addSql(`drop view "sync_log";`);
    this.addSql(`drop function "sync_log_insert_line"();`);
    this.addSql(`alter table "sync_log_line" rename to "sync_log";`);
    this.swapReferences('sync_log_chunk', 'sync_log');
    this.addSql(`drop table "sync_log_chunk";`);
    this.addSql(`grant select on "sync_log" to "provisioning_api";`);
    this.addSql(`alter table "sync_log" enable row level security;`);
    this.addSql(
      `create policy "sync_log_organisation" on "sync_log" for select to "provisioning_api" using (exists (select 1 from "sync_run" r where r."id" = "sync_log"."run_id"));`,
    );
  }

  /** Moves the run reference's triggers (see the statement_level_references migration) between tables. */
  private swapReferences(from: string, to: string): void {
    for (const event of ['insert', 'update']) {
      this.addSql(`drop trigger "${from}_run_id_${event}_check" on "${from}";`);
      this.addSql(
        `create trigger "${to}_run_id_${event}_check" after ${event} on "${to}"
           referencing new table as new_rows for each statement
           execute function "check_references"('run_id', 'sync_run');`,
      );
    }
    this.addSql(`drop trigger "sync_run_delete_${from}_run_id" on "sync_run";`);
    this.addSql(
      `create trigger "sync_run_delete_${to}_run_id" after delete on "sync_run"
         referencing old table as old_rows for each statement
         execute function "apply_reference_delete_rule"('${to}', 'run_id', 'cascade');`,
    );
  }
}
