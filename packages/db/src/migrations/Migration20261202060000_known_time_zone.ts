import { Migration } from '@mikro-orm/migrations';

/**
 * `known_time_zone(zone)`: whether PostgreSQL itself knows a zone name. The runtime's time zone data and
 * PostgreSQL's differ (Node accepts US/Pacific-New, which PostgreSQL dropped), and a zone only Node knows
 * made every date filter of the runs list fail. The exception block is a subtransaction of its own, so a
 * caller's transaction survives an unknown name.
 */
export class Migration20261202060000_known_time_zone extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function known_time_zone(zone text) returns boolean
      language plpgsql stable
      as $$
      begin
        perform now() at time zone zone;
        return true;
      exception when invalid_parameter_value then
        return false;
      end
      $$;`);
  }

  override async down(): Promise<void> {
    this.addSql('drop function if exists known_time_zone(text);');
  }
}
