import { Migration } from '@mikro-orm/migrations';

/**
 * Sign-in attempts counted in PostgreSQL (see sign-in-attempt.repository.ts). In-process counters let
 * parallel guesses through (all were read before any failure was counted) and gave each API replica
 * limits of its own. The API's role writes the counts; the table holds no organisation's data, so it
 * needs no row-level policy.
 */
export class Migration20261202051641_sign_in_attempts extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "sign_in_attempt" ("key" text not null, "attempts" int not null, "window_ends_at" timestamptz not null, constraint "sign_in_attempt_pkey" primary key ("key"));`,
    );
    this.addSql(
      `create index "sign_in_attempt_window_ends_at_index" on "sign_in_attempt" ("window_ends_at");`,
    );
    this.addSql(`grant select, insert, update, delete on "sign_in_attempt" to "provisioning_api";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sign_in_attempt" cascade;`);
  }
}
