import { DIRECTORY_FIELD_TABLE } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from './migrate.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { createOrm, type Orm } from './orm.ts';
import { createTestDatabase, type TestDatabase } from './testing/test-database.ts';

const ALL = [
  'Migration20261126165248_initial',
  'Migration20261126233000_api_access',
  'Migration20261127040000_statement_level_references',
  'Migration20261127100000_log_in_chunks',
  'Migration20261202051641_sign_in_attempts',
  'Migration20261202060000_known_time_zone',
  'Migration20261202080000_api_sign_in_functions',
  'Migration20261202090000_support_approval',
];
const databases: TestDatabase[] = [];
const orms: Orm[] = [];

async function freshDatabase(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase(label);
  databases.push(database);
  return database;
}

async function ormFor(database: TestDatabase): Promise<Orm> {
  const orm = await createOrm({ databaseUrl: database.url, poolSize: 4 });
  orms.push(orm);
  return orm;
}

afterAll(async () => {
  await Promise.all(orms.map((orm) => orm.close(true)));
  await Promise.all(databases.map((database) => database.drop()));
});

async function appliedMigrations(orm: Orm): Promise<string[]> {
  const rows = await orm.em
    .getConnection()
    .execute<{ name: string }[]>('select name from mikro_orm_migrations order by id');
  return rows.map((row) => row.name);
}

describe('migrate on an empty database', () => {
  let orm: Orm;

  beforeAll(async () => {
    orm = await ormFor(await freshDatabase('migrate'));
  });

  it('applies the initial migration and returns its name, then has nothing left to apply', async () => {
    expect(MIGRATIONS.map((migration) => migration.name)).toEqual(ALL);
    expect(await migrate(orm)).toEqual(ALL);
    expect(await migrate(orm)).toEqual([]);
    expect(await appliedMigrations(orm)).toEqual(ALL);
  });

  it('builds the schema the entities describe', async () => {
    const sql = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(sql.trim()).toBe('');
  });

  it('gives directory_user a column of the field table’s name, type and nullability for every field', async () => {
    const columns = await orm.em
      .getConnection()
      .execute<{ column_name: string; data_type: string; is_nullable: 'YES' | 'NO' }[]>(
        `select column_name, data_type, is_nullable from information_schema.columns
         where table_schema = 'public' and table_name = 'directory_user'`,
      );
    const byName = new Map(columns.map((column) => [column.column_name, column]));
    for (const entry of DIRECTORY_FIELD_TABLE) {
      expect(byName.get(entry.column), entry.field).toEqual({
        column_name: entry.column,
        data_type: entry.sqlType,
        is_nullable: entry.required ? 'NO' : 'YES',
      });
    }
    const meta = orm.getMetadata().find('DirectoryUser')!;
    for (const entry of DIRECTORY_FIELD_TABLE) {
      expect(meta.properties[entry.property as keyof typeof meta.properties]?.fieldNames).toEqual([
        entry.column,
      ]);
    }
  });

  it('creates the listing and case-insensitive unique indexes', async () => {
    const rows = await orm.em
      .getConnection()
      .execute<{ indexname: string; indexdef: string }[]>(
        "select indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname",
      );
    const definitions = new Map(rows.map((row) => [row.indexname, row.indexdef]));
    expect(definitions.get('sync_run_organisation_queued_at_index')).toBe(
      'CREATE INDEX sync_run_organisation_queued_at_index ON public.sync_run USING btree (organisation_id, queued_at, id)',
    );
    expect(definitions.get('directory_user_email_ci_unique')).toBe(
      'CREATE UNIQUE INDEX directory_user_email_ci_unique ON public.directory_user USING btree (organisation_id, lower(email))',
    );
    expect(definitions.get('account_email_ci_unique')).toBe(
      'CREATE UNIQUE INDEX account_email_ci_unique ON public.account USING btree (lower(email))',
    );
    expect(definitions.get('sync_configuration_name_unique')).toBe(
      'CREATE UNIQUE INDEX sync_configuration_name_unique ON public.sync_configuration USING btree (organisation_id, lower(name))',
    );
  });

  describe('case-insensitive email uniqueness', () => {
    const organisationId = '00000000-0000-4000-8000-000000000001';
    const otherOrganisationId = '00000000-0000-4000-8000-000000000002';

    beforeAll(async () => {
      await orm.em
        .getConnection()
        .execute(
          `insert into organisation (id, name, created_at, updated_at) values (?, 'Acme', now(), now()), (?, 'Other', now(), now())`,
          [organisationId, otherOrganisationId],
        );
    });

    function insertDirectoryUser(organisation: string, email: string) {
      return orm.em.getConnection().execute(
        `insert into directory_user (id, organisation_id, email, first_name, last_name, created_at, updated_at)
         values (gen_random_uuid(), ?, ?, 'Ada', 'Lovelace', now(), now())`,
        [organisation, email],
      );
    }

    function insertAccount(organisation: string, email: string) {
      return orm.em.getConnection().execute(
        `insert into account (id, organisation_id, email, name, password_hash, roles, created_at, updated_at)
         values (gen_random_uuid(), ?, ?, 'Ada', 'x', '{org-admin}', now(), now())`,
        [organisation, email],
      );
    }

    it('rejects a directory user whose email differs only in case from one in the same organisation', async () => {
      await insertDirectoryUser(organisationId, 'a@x.com');
      await expect(insertDirectoryUser(organisationId, 'A@x.com')).rejects.toThrow(
        /directory_user_email_ci_unique/,
      );
    });

    it('allows the same directory user email in another organisation', async () => {
      await expect(insertDirectoryUser(otherOrganisationId, 'A@X.COM')).resolves.toBeDefined();
    });

    it('rejects an account whose email differs only in case from one in the same organisation', async () => {
      await insertAccount(organisationId, 'a@x.com');
      await expect(insertAccount(organisationId, 'A@x.com')).rejects.toThrow(/account_email_ci_unique/);
    });
  });

  describe('references checked per statement (log lines, users)', () => {
    const sql = (text: string, params: unknown[] = []) =>
      orm.em.getConnection().execute<Record<string, unknown>[]>(text, params);
    const id = (rows: Record<string, unknown>[]) => rows[0]!.id as string;
    const missing = '00000000-0000-4000-8000-0000000000ff';

    async function organisationWithRun(): Promise<{
      organisation: string;
      configuration: string;
      run: string;
    }> {
      const organisation = id(
        await sql(
          `insert into organisation (id, name, created_at, updated_at) values (gen_random_uuid(), 'Refs', now(), now()) returning id`,
        ),
      );
      const configuration = id(
        await sql(
          `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
           values (gen_random_uuid(), ?, ?, 'sftp', '{}', '{}', now(), now()) returning id`,
          [organisation, `HR ${Math.random()}`],
        ),
      );
      const run = id(
        await sql(
          `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at)
           values (gen_random_uuid(), ?, ?, 'success', 'manual', now()) returning id`,
          [organisation, configuration],
        ),
      );
      return { organisation, configuration, run };
    }

    const insertLog = (run: string, seq: number) =>
      sql(`insert into sync_log (run_id, seq, action, outcome) values (?, ?, 'create', 'applied')`, [
        run,
        seq,
      ]);
    const insertUser = (organisation: string, managedBy: string | null, email: string) =>
      sql(
        `insert into directory_user (id, organisation_id, managed_by_id, email, first_name, last_name, created_at, updated_at)
         values (gen_random_uuid(), ?, ?, ?, 'Ada', 'Lovelace', now(), now())`,
        [organisation, managedBy, email],
      );

    it('refuses a log line, a user or an update that names a row that does not exist, as a foreign key would', async () => {
      const { organisation, configuration, run } = await organisationWithRun();
      await expect(insertLog(missing, 1)).rejects.toMatchObject({ code: '23503' });
      await expect(insertUser(missing, null, 'nobody@x.com')).rejects.toMatchObject({ code: '23503' });
      await expect(insertUser(organisation, missing, 'nobody@x.com')).rejects.toMatchObject({
        code: '23503',
      });
      // One bad row among many fails the whole statement.
      await expect(
        sql(
          `insert into sync_log (run_id, seq, action, outcome)
           select case when g = 500 then ?::uuid else ?::uuid end, g, 'create', 'applied' from generate_series(1, 1000) g`,
          [missing, run],
        ),
      ).rejects.toThrow(/violates the reference to "sync_run"/);
      expect(await sql('select count(*)::int as n from sync_log where run_id = ?', [run])).toEqual([
        { n: 0 },
      ]);
      await insertUser(organisation, configuration, 'ada@x.com');
      await expect(
        sql('update directory_user set managed_by_id = ? where email = ?', [missing, 'ada@x.com']),
      ).rejects.toMatchObject({ code: '23503' });
      await expect(sql('update sync_run set id = gen_random_uuid() where id = ?', [run])).rejects.toThrow(
        /cannot change/,
      );
    });

    it('keeps the delete rules: a run takes its log, a configuration lets its users go, an organisation takes its users', async () => {
      const { organisation, configuration, run } = await organisationWithRun();
      await insertLog(run, 1);
      await insertLog(run, 2);
      await insertUser(organisation, configuration, 'grace@x.com');

      await sql('delete from sync_run where id = ?', [run]);
      expect(await sql('select count(*)::int as n from sync_log where run_id = ?', [run])).toEqual([
        { n: 0 },
      ]);

      await sql('delete from sync_configuration where id = ?', [configuration]);
      expect(await sql('select managed_by_id from directory_user where email = ?', ['grace@x.com'])).toEqual([
        { managed_by_id: null },
      ]);

      await sql('delete from organisation where id = ?', [organisation]);
      expect(
        await sql('select count(*)::int as n from directory_user where organisation_id = ?', [organisation]),
      ).toEqual([{ n: 0 }]);
    });
  });
});

describe('the log moved into chunks', () => {
  const BEFORE = 'Migration20261127040000_statement_level_references';
  const LINES = `select run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint
    from sync_log order by run_id, seq`;

  it('keeps every line of existing logs, in both directions, and the view takes new lines', async () => {
    const orm = await ormFor(await freshDatabase('migrate_log_chunks'));
    const migrator = orm.getMigrator();
    await migrator.up({ to: BEFORE });
    const sql = (text: string, params: unknown[] = []) =>
      orm.em.getConnection().execute<Record<string, unknown>[]>(text, params);
    await sql(`insert into organisation (id, name, created_at, updated_at)
      values ('00000000-0000-4000-8000-000000000001', 'Acme', now(), now())`);
    await sql(`insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
      values ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'HR', 'sftp', '{}', '{}', now(), now())`);
    const runs = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
    for (const run of runs) {
      await sql(
        `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at)
         values (?, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 'success', 'manual', now())`,
        [run],
      );
    }
    // 2,500 lines for one run (three chunks), a gap in seq, every kind of value, and awkward text.
    await sql(
      `insert into sync_log (run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint)
       select ?, g, g + 1, 'E' || g, 'user' || g || '@x.com', 'Ada "Quote" \\ Back' || chr(10) || 'slash',
         case when g % 3 = 0 then 'update' else 'unchanged' end,
         case when g % 3 = 0 then 'applied' else 'no_change' end,
         case when g % 3 = 0 then '{"title": {"before": "A\\"", "after": "é 😀"}}'::jsonb end,
         case when g % 7 = 0 then 'a message' end, null
       from generate_series(1, 2500) g`,
      [runs[0]],
    );
    await sql(
      `insert into sync_log (run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint)
       values (?, 1, null, null, null, null, 'error', 'failed', null, 'Missing column', 'Add it'),
              (?, 5, 3, null, null, null, 'skip', 'warning', null, null, null)`,
      [runs[1], runs[1]],
    );
    const before = await sql(LINES);
    expect(before).toHaveLength(2502);

    await migrator.up();
    expect(await sql(LINES)).toEqual(before);
    expect(
      await sql(
        'select run_id, first_seq, last_seq, json_array_length(lines) as n from sync_log_chunk order by run_id, first_seq',
      ),
    ).toEqual([
      { run_id: runs[0], first_seq: 1, last_seq: 999, n: 999 },
      { run_id: runs[0], first_seq: 1000, last_seq: 1999, n: 1000 },
      { run_id: runs[0], first_seq: 2000, last_seq: 2500, n: 501 },
      { run_id: runs[1], first_seq: 1, last_seq: 5, n: 2 },
    ]);

    // A line inserted into the view becomes a chunk of one line; the run reference still holds.
    await sql(
      `insert into sync_log (run_id, seq, action, outcome, changes) values (?, 6, 'create', 'applied', '{"a": {"before": null, "after": "b"}}')`,
      [runs[1]],
    );
    expect(
      await sql('select seq, action, changes from sync_log where run_id = ? and seq = 6', [runs[1]]),
    ).toEqual([{ seq: 6, action: 'create', changes: { a: { before: null, after: 'b' } } }]);
    const after = await sql(LINES);

    await migrator.down({ to: BEFORE });
    expect(await sql(LINES)).toEqual(after);
    expect(
      await sql(
        `select relkind from pg_class where relname = 'sync_log' and relnamespace = 'public'::regnamespace`,
      ),
    ).toEqual([{ relkind: 'r' }]);
    await expect(
      sql(`insert into sync_log (run_id, seq, action, outcome) values (?, 7, 'create', 'applied')`, [
        '00000000-0000-4000-8000-0000000000ff',
      ]),
    ).rejects.toMatchObject({ code: '23503' });
    await sql('delete from sync_run where id = ?', [runs[0]]);
    expect(await sql('select count(*)::int as n from sync_log')).toEqual([{ n: 3 }]);
  });
});

describe('migrate from several processes at once', () => {
  it('applies the initial migration exactly once when two ORMs migrate a fresh database together', async () => {
    const database = await freshDatabase('migrate_race');
    const [first, second] = await Promise.all([ormFor(database), ormFor(database)]);
    const results = await Promise.all([migrate(first!), migrate(second!)]);
    expect(results.flat()).toEqual(ALL);
    expect(await appliedMigrations(first!)).toEqual(ALL);
  });

  it('applies it exactly once among five processes', async () => {
    const database = await freshDatabase('migrate_race5');
    const five = await Promise.all(Array.from({ length: 5 }, () => ormFor(database)));
    const results = await Promise.all(five.map((orm) => migrate(orm)));
    expect(results.flat()).toEqual(ALL);
    expect(await appliedMigrations(five[0]!)).toEqual(ALL);
  });
});
