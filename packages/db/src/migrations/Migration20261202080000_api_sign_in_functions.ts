import { Migration } from '@mikro-orm/migrations';

const FUNCTIONS = [
  '"api_account_for_sign_in"(text)',
  '"api_session"(text, timestamptz, bigint, bigint, bigint, boolean)',
  '"api_create_session"(text, uuid, timestamptz, timestamptz, text, text)',
  '"api_revoke_session"(text, timestamptz)',
];

/**
 * The API's role no longer reads accounts or sessions: a statement slipped into one of its queries could
 * otherwise have read every account's password hash and every session, or ended anyone's session. What
 * sign-in and the session cookie need goes through four functions that run as the tables' owner and
 * reveal one row, named by what only its holder knows:
 *
 * - `api_account_for_sign_in(email)`: the ID and password hash of the account with that email (compared
 *   case-insensitively), to check a password against; nothing else about it.
 * - `api_session(token_hash, now, idle, max_age, touch, extend)`: the live session whose token hashes to
 *   `token_hash`, with its account and organisation, in one round trip; it also extends the idle expiry
 *   (the durations in ms come from session.repository.ts, their one definition).
 * - `api_create_session(...)`, `api_revoke_session(token_hash, now)`: sign-in and sign-out.
 *
 * Organisations get a row-level policy like configurations and runs: the API's role sees its own.
 * The role may read the migrations table, so an API that starts before the schema is migrated says so
 * instead of failing on a missing column later.
 */
export class Migration20261202080000_api_sign_in_functions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function "api_account_for_sign_in"(p_email text)
      returns table ("id" uuid, "password_hash" text)
      language sql stable security definer set search_path = pg_catalog, public as $$
        select a."id", a."password_hash" from public."account" a where lower(a."email") = lower(p_email)
      $$;`);
    this.addSql(`create function "api_session"(
        p_token_hash text, p_now timestamptz, p_idle_ms bigint, p_max_age_ms bigint, p_touch_ms bigint,
        p_extend boolean)
      returns table ("account_id" uuid, "email" text, "name" text, "roles" text[], "organisation_id" uuid,
        "organisation_name" text, "time_zone" text, "provisioning_enabled" boolean, "sync_service" text)
      language plpgsql volatile security definer set search_path = pg_catalog, public as $$
      declare
        s public."session";
        ends_at timestamptz;
      begin
        select * into s from public."session" where "token_hash" = p_token_hash;
        if not found or s."revoked_at" is not null or s."expires_at" <= p_now then return; end if;
        ends_at := s."created_at" + p_max_age_ms * interval '1 millisecond';
        if ends_at <= p_now then return; end if;
        if p_extend and p_now - s."last_seen_at" >= p_touch_ms * interval '1 millisecond' then
          update public."session"
             set "last_seen_at" = p_now, "expires_at" = least(p_now + p_idle_ms * interval '1 millisecond', ends_at)
           where "token_hash" = p_token_hash;
        end if;
        return query
          select a."id", a."email", a."name", a."roles", o."id", o."name", o."time_zone",
                 o."provisioning_enabled", o."sync_service"
            from public."account" a join public."organisation" o on o."id" = a."organisation_id"
           where a."id" = s."account_id";
      end $$;`);
    this.addSql(`create function "api_create_session"(
        p_token_hash text, p_account_id uuid, p_now timestamptz, p_expires_at timestamptz, p_ip_address text,
        p_user_agent text)
      returns void language sql volatile security definer set search_path = pg_catalog, public as $$
        insert into public."session"
          ("token_hash", "account_id", "created_at", "last_seen_at", "expires_at", "ip_address", "user_agent")
        values (p_token_hash, p_account_id, p_now, p_now, p_expires_at, p_ip_address, p_user_agent)
      $$;`);
    this.addSql(`create function "api_revoke_session"(p_token_hash text, p_now timestamptz)
      returns void language sql volatile security definer set search_path = pg_catalog, public as $$
        update public."session" set "revoked_at" = p_now where "token_hash" = p_token_hash and "revoked_at" is null
      $$;`);
    for (const fn of FUNCTIONS) {
      // Functions are executable by everyone unless revoked.
      this.addSql(`revoke all on function ${fn} from public;`);
      this.addSql(`grant execute on function ${fn} to "provisioning_api";`);
    }
    this.addSql(`revoke all on "account", "session" from "provisioning_api";`);

    this.addSql(`alter table "organisation" enable row level security;`);
    this.addSql(
      `create policy "organisation_own" on "organisation" for select to "provisioning_api" using ("id" = nullif(current_setting('app.organisation_id', true), '')::uuid);`,
    );
    this.addSql(`grant select on "mikro_orm_migrations" to "provisioning_api";`);
  }

  override async down(): Promise<void> {
    this.addSql(`revoke select on "mikro_orm_migrations" from "provisioning_api";`);
    this.addSql(`drop policy if exists "organisation_own" on "organisation";`);
    this.addSql(`alter table "organisation" disable row level security;`);
    this.addSql(`grant select on "account" to "provisioning_api";`);
    this.addSql(`grant select, insert, update, delete on "session" to "provisioning_api";`);
    for (const fn of FUNCTIONS) this.addSql(`drop function if exists ${fn};`);
  }
}
