import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126165248_initial } from './Migration20261126165248_initial.ts';
import { Migration20261126233000_api_access } from './Migration20261126233000_api_access.ts';
import { Migration20261127040000_statement_level_references } from './Migration20261127040000_statement_level_references.ts';
import { Migration20261127100000_log_in_chunks } from './Migration20261127100000_log_in_chunks.ts';
import { Migration20261202051641_sign_in_attempts } from './Migration20261202051641_sign_in_attempts.ts';
import { Migration20261202060000_known_time_zone } from './Migration20261202060000_known_time_zone.ts';
import { Migration20261202070000_run_connector } from './Migration20261202070000_run_connector.ts';
import { Migration20261202070212_slack } from './Migration20261202070212_slack.ts';
import { Migration20261202080000_api_sign_in_functions } from './Migration20261202080000_api_sign_in_functions.ts';
import { Migration20261202090000_support_approval } from './Migration20261202090000_support_approval.ts';
import { Migration20261202100000_run_source } from './Migration20261202100000_run_source.ts';
import { Migration20261202110000_circuit_breaker } from './Migration20261202110000_circuit_breaker.ts';
import { Migration20261202120000_person_history } from './Migration20261202120000_person_history.ts';
import { Migration20261202130000_log_retention } from './Migration20261202130000_log_retention.ts';
import { Migration20261202140000_person_history_creates } from './Migration20261202140000_person_history_creates.ts';
import { Migration20261202150000_api_run_details } from './Migration20261202150000_api_run_details.ts';

/** Every migration, oldest first. A new one is created by `pnpm --filter @provisioning/db migration:create`. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261126165248_initial', class: Migration20261126165248_initial },
  { name: 'Migration20261126233000_api_access', class: Migration20261126233000_api_access },
  {
    name: 'Migration20261127040000_statement_level_references',
    class: Migration20261127040000_statement_level_references,
  },
  { name: 'Migration20261127100000_log_in_chunks', class: Migration20261127100000_log_in_chunks },
  { name: 'Migration20261202051641_sign_in_attempts', class: Migration20261202051641_sign_in_attempts },
  { name: 'Migration20261202060000_known_time_zone', class: Migration20261202060000_known_time_zone },
  { name: 'Migration20261202070000_run_connector', class: Migration20261202070000_run_connector },
  { name: 'Migration20261202070212_slack', class: Migration20261202070212_slack },
  {
    name: 'Migration20261202080000_api_sign_in_functions',
    class: Migration20261202080000_api_sign_in_functions,
  },
  { name: 'Migration20261202090000_support_approval', class: Migration20261202090000_support_approval },
  { name: 'Migration20261202100000_run_source', class: Migration20261202100000_run_source },
  { name: 'Migration20261202110000_circuit_breaker', class: Migration20261202110000_circuit_breaker },
  { name: 'Migration20261202120000_person_history', class: Migration20261202120000_person_history },
  { name: 'Migration20261202130000_log_retention', class: Migration20261202130000_log_retention },
  {
    name: 'Migration20261202140000_person_history_creates',
    class: Migration20261202140000_person_history_creates,
  },
  { name: 'Migration20261202150000_api_run_details', class: Migration20261202150000_api_run_details },
];
