import { Migration } from '@mikro-orm/migrations';

/**
 * The three references a sync writes by the hundred thousand (a log line's run, a user's organisation and
 * managing configuration) are checked once per statement instead of once per row.
 *
 * A foreign key checks each new row with a query of its own: for 100k log lines that was about 60% of
 * the insert, and two keys on directory_user cost about as much as the rest of a first import's write.
 * Statement-level triggers over the transition table check all of a statement's rows with one anti-join,
 * after locking the parent rows (`for key share`, as a foreign key does) so a concurrent delete cannot
 * slip between the check and the commit. The delete rules stay: deleting a run deletes its log, deleting
 * an organisation its users, deleting a configuration leaves its users unmanaged. A referenced row's ID
 * may not change (the keys' `on update cascade` never had anything to do: IDs are never updated).
 *
 * The entities mark these relations `createForeignKeyConstraint(false)`, so a generated migration does
 * not add the keys back.
 */
const REFERENCES = [
  {
    child: 'sync_log',
    column: 'run_id',
    parent: 'sync_run',
    onDelete: 'cascade',
    key: 'sync_log_run_id_foreign',
  },
  {
    child: 'directory_user',
    column: 'organisation_id',
    parent: 'organisation',
    onDelete: 'cascade',
    key: 'directory_user_organisation_id_foreign',
  },
  {
    child: 'directory_user',
    column: 'managed_by_id',
    parent: 'sync_configuration',
    onDelete: 'set null',
    key: 'directory_user_managed_by_id_foreign',
  },
] as const;

export class Migration20261127040000_statement_level_references extends Migration {
  override async up(): Promise<void> {
    // TG_ARGV: the child's column, the parent table.
    this.addSql(`create function "check_references"() returns trigger language plpgsql as $$
      declare
        missing text;
      begin
        execute format(
          'select 1 from %I p where p.id in (select distinct n.%I from new_rows n) for key share',
          TG_ARGV[1], TG_ARGV[0]);
        execute format(
          'select n.%I::text from new_rows n where n.%I is not null
             and not exists (select 1 from %I p where p.id = n.%I) limit 1',
          TG_ARGV[0], TG_ARGV[0], TG_ARGV[1], TG_ARGV[0]) into missing;
        if missing is not null then
          raise foreign_key_violation using
            message = format('insert or update on table "%s" violates the reference to "%s"', TG_TABLE_NAME, TG_ARGV[1]),
            detail = format('Key (%s)=(%s) is not present in table "%s".', TG_ARGV[0], missing, TG_ARGV[1]);
        end if;
        return null;
      end $$;`);
    // TG_ARGV: the child table, its column, 'cascade' or 'set null'.
    this.addSql(`create function "apply_reference_delete_rule"() returns trigger language plpgsql as $$
      begin
        if TG_ARGV[2] = 'cascade' then
          execute format('delete from %I c where c.%I in (select id from old_rows)', TG_ARGV[0], TG_ARGV[1]);
        else
          execute format('update %I c set %I = null where c.%I in (select id from old_rows)',
            TG_ARGV[0], TG_ARGV[1], TG_ARGV[1]);
        end if;
        return null;
      end $$;`);
    this.addSql(`create function "forbid_id_change"() returns trigger language plpgsql as $$
      begin
        raise exception using errcode = 'restrict_violation',
          message = format('the id of a "%s" row cannot change: other rows refer to it', TG_TABLE_NAME);
      end $$;`);

    for (const { child, column, parent, onDelete, key } of REFERENCES) {
      this.addSql(`alter table "${child}" drop constraint "${key}";`);
      for (const event of ['insert', 'update']) {
        this.addSql(
          `create trigger "${child}_${column}_${event}_check" after ${event} on "${child}"
             referencing new table as new_rows for each statement
             execute function "check_references"('${column}', '${parent}');`,
        );
      }
      this.addSql(
        `create trigger "${parent}_delete_${child}_${column}" after delete on "${parent}"
           referencing old table as old_rows for each statement
           execute function "apply_reference_delete_rule"('${child}', '${column}', '${onDelete}');`,
      );
    }
    for (const parent of new Set(REFERENCES.map((reference) => reference.parent))) {
      this.addSql(
        `create trigger "${parent}_id_fixed" before update of "id" on "${parent}"
           for each row when (old.id is distinct from new.id) execute function "forbid_id_change"();`,
      );
    }
  }

  override async down(): Promise<void> {
    for (const parent of new Set(REFERENCES.map((reference) => reference.parent))) {
      this.addSql(`drop trigger if exists "${parent}_id_fixed" on "${parent}";`);
    }
    for (const { child, column, parent, onDelete, key } of REFERENCES) {
      this.addSql(`drop trigger if exists "${parent}_delete_${child}_${column}" on "${parent}";`);
      for (const event of ['insert', 'update']) {
        this.addSql(`drop trigger if exists "${child}_${column}_${event}_check" on "${child}";`);
      }
      this.addSql(
        `alter table "${child}" add constraint "${key}" foreign key ("${column}") references "${parent}" ("id")
           on update cascade on delete ${onDelete};`,
      );
    }
    this.addSql(`drop function if exists "forbid_id_change"();`);
    this.addSql(`drop function if exists "apply_reference_delete_rule"();`);
    this.addSql(`drop function if exists "check_references"();`);
  }
}
