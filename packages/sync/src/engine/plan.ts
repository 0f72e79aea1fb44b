import type { DirectoryField, FieldChanges } from '@provisioning/shared';
import { comparedFields, matchesSignature } from './signature.ts';
import {
  type DirectoryRecord,
  type DirectoryRecordField,
  type ExistingUser,
  type NormalisedRow,
  type Plan,
  type PlannedAction,
  RECORD_PROPERTIES,
  type RowWarning,
} from './types.ts';

export interface PlanInput {
  configurationId: string;
  rows: readonly NormalisedRow[];
  /** Every user of the organisation, whoever manages them: emails are unique across all of them. */
  existing: readonly ExistingUser[];
  /** The fields the source has a column for: the others are neither compared nor changed. */
  presentFields: ReadonlySet<DirectoryField>;
  /** Configuration id → name, for messages about users another configuration manages. */
  configurationNames?: ReadonlyMap<string, string>;
}

/** Emails compare case-insensitively: a case-only difference is not a change. */
const CASE_INSENSITIVE = new Set<DirectoryField>(['email', 'manager_email']);

/** The fields compared, as parallel arrays: indexed loops, no tuple per field. */
interface Compared {
  fields: DirectoryField[];
  properties: DirectoryRecordField[];
}

/**
 * Diffs the source rows against the directory. Pure and O(rows + users).
 *
 * A row is matched first by external ID, then by email, among the users this configuration manages and the
 * users nobody manages (a match of the latter claims it). A row never touches a user another configuration
 * manages, and never gives a user an email another user has: both are skipped with a warning. Users this
 * configuration manages that no row matched are deactivated, unless a skipped row names them.
 */
export function plan(input: PlanInput): Plan {
  const { configurationId, rows, existing, presentFields } = input;
  const fields = comparedFields(presentFields);
  const compared: Compared = { fields, properties: fields.map((field) => RECORD_PROPERTIES[field]) };
  const configurationName = (id: string) => {
    const name = input.configurationNames?.get(id);
    return name === undefined ? id : `"${name}"`;
  };

  // Users are referred to by their index in `existing`: typed arrays instead of maps keyed by objects keep
  // 200k-user plans fast, and each index is built only when some row needs it.
  let activeManagedUsers = 0;
  for (const user of existing) {
    if (user.managedById === configurationId && user.status === 'active') activeManagedUsers++;
  }
  let byEmail: Map<string, number> | undefined;
  const emailIndex = (): Map<string, number> => {
    if (byEmail) return byEmail;
    byEmail = new Map();
    for (let u = 0; u < existing.length; u++) byEmail.set(existing[u]!.email.toLowerCase(), u);
    return byEmail;
  };
  /** Users this configuration may match by external ID; its own win over unmanaged ones. */
  const byExternalId = new Map<string, number>();
  const ambiguousExternalIds = new Set<string>();
  const elsewhereByExternalId = new Map<string, number>();
  if (rows.some((row) => row.kind === 'valid' && row.record.externalId !== null)) {
    for (let u = 0; u < existing.length; u++) {
      const user = existing[u]!;
      if (user.externalId === null) continue;
      const here = user.managedById === configurationId;
      const externalId = user.externalId.toLowerCase();
      if (!here && user.managedById !== null) {
        elsewhereByExternalId.set(externalId, u);
        continue;
      }
      const current = byExternalId.get(externalId);
      if (current === undefined) {
        byExternalId.set(externalId, u);
      } else if (here === (existing[current]!.managedById === configurationId)) {
        ambiguousExternalIds.add(externalId);
      } else if (here) {
        byExternalId.set(externalId, u);
        ambiguousExternalIds.delete(externalId);
      }
    }
  }

  /** Row index → index of the user it matched, or -1. */
  const matched = new Int32Array(rows.length).fill(-1);
  /** User index → 1 + index of the row that matched it, or 0. */
  const matchedBy = new Int32Array(existing.length);
  /** Row index → why the plan skips a row the normaliser accepted. */
  const refused = new Map<number, RowWarning>();
  const refuse = (index: number, field: DirectoryField, message: string) =>
    refused.set(index, { rowNumber: rows[index]!.rowNumber, field, message });

  // External IDs first, for all rows, so that an email fallback can never take a user a later row names
  // by external ID.
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    if (row.kind !== 'valid' || row.record.externalId === null) continue;
    const externalId = row.record.externalId.toLowerCase();
    if (ambiguousExternalIds.size > 0 && ambiguousExternalIds.has(externalId)) {
      refuse(
        index,
        'employee_id',
        `Employee ID "${row.record.externalId}" matches several users in the directory; the row was skipped. ` +
          'Support must remove or correct the extra users.',
      );
      continue;
    }
    const u = byExternalId.get(externalId);
    if (u === undefined) continue;
    matched[index] = u;
    matchedBy[u] = index + 1;
  }

  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    if (row.kind !== 'valid' || (refused.size > 0 && refused.has(index))) continue;
    const { email, externalId } = row.record;
    const u = matched[index]!;
    if (u >= 0) {
      // Emails are unique in the organisation: when the user has the row's email, nobody else has it.
      if (existing[u]!.email.toLowerCase() === email) continue;
      // An email change must not take another user's email.
      const owner = emailIndex().get(email);
      if (owner !== undefined) {
        matched[index] = -1;
        refuse(
          index,
          'email',
          `${emailTaken(email, existing[owner]!, configurationId, configurationName)}; the row was skipped.`,
        );
      }
      continue;
    }
    const owner = emailIndex().get(email);
    if (owner !== undefined) {
      const user = existing[owner]!;
      if (user.managedById !== null && user.managedById !== configurationId) {
        refuse(
          index,
          'email',
          `Email "${email}" belongs to a user managed by configuration ${configurationName(user.managedById)}; ` +
            'this configuration does not change it. The row was skipped.',
        );
      } else if (matchedBy[owner]! > 0) {
        refuse(
          index,
          'email',
          `Email "${email}" belongs to the user that row ${rows[matchedBy[owner]! - 1]!.rowNumber} matches by ` +
            `employee ID "${user.externalId}"; the row was skipped. Check both rows in the source.`,
        );
      } else {
        matched[index] = owner;
        matchedBy[owner] = index + 1;
      }
      continue;
    }
    const elsewhere = externalId === null ? undefined : elsewhereByExternalId.get(externalId.toLowerCase());
    if (elsewhere !== undefined) {
      refuse(
        index,
        'employee_id',
        `Employee ID "${externalId}" belongs to a user managed by configuration ` +
          `${configurationName(existing[elsewhere]!.managedById!)}; this configuration does not change it. The row was skipped.`,
      );
    }
  }

  const actions: PlannedAction[] = [];
  const counts = {
    created: 0,
    updated: 0,
    reactivated: 0,
    deactivated: 0,
    unchanged: 0,
    skipped: 0,
    warnings: 0,
  };
  // Skipped rows protect the users they name, by external ID and by email, from deactivation.
  const protectedExternalIds = new Set<string>();
  const protectedEmails = new Set<string>();
  const skip = (
    rowNumber: number,
    externalId: string | null,
    email: string | null,
    name: string | null,
    warnings: RowWarning[],
  ) => {
    if (externalId !== null) protectedExternalIds.add(externalId.toLowerCase());
    if (email !== null) protectedEmails.add(email.toLowerCase());
    actions.push({ action: 'skip', rowNumber, externalId, email, name, warnings });
    counts.skipped++;
    counts.warnings += warnings.length;
  };

  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    if (row.kind === 'skipped') {
      skip(row.rowNumber, row.externalId, row.email, row.name, row.warnings);
      continue;
    }
    const { rowNumber, record, warnings } = row;
    counts.warnings += warnings.length;
    const refusal = refused.size > 0 ? refused.get(index) : undefined;
    if (refusal !== undefined) {
      counts.warnings -= warnings.length;
      skip(rowNumber, record.externalId, record.email, fullName(record), [...warnings, refusal]);
      continue;
    }
    const u = matched[index]!;
    if (u < 0) {
      actions.push({ action: 'create', rowNumber, record, warnings });
      counts.created++;
      continue;
    }
    const user = existing[u]!;
    const claim = user.managedById !== configurationId;
    if (
      !claim &&
      user.status === 'active' &&
      user.signature != null &&
      row.rejectedFields.length === 0 &&
      matchesSignature(record, compared.properties, user.signature)
    ) {
      // Every compared field is equal: the row's record stands for the user's (the log reads its ID, email
      // and name), which is then never decoded. Its external ID is the user's unless the source has none.
      const same = record.externalId === user.externalId ? record : user;
      actions.push({ action: 'unchanged', rowNumber, userId: user.id, record: same, warnings });
      counts.unchanged++;
      continue;
    }
    const changes = diff(user, record, compared, row.rejectedFields);
    if (user.status === 'deactivated') {
      actions.push({
        action: 'reactivate',
        rowNumber,
        userId: user.id,
        record: merge(user, changes),
        changes: changes ?? {},
        claim,
        warnings,
      });
      counts.reactivated++;
    } else if (changes !== null || claim) {
      // A claim is an update even without field changes: it writes the ownership, and from then on this
      // configuration may deactivate the user.
      actions.push({
        action: 'update',
        rowNumber,
        userId: user.id,
        record: merge(user, changes),
        changes: changes ?? {},
        claim,
        warnings,
      });
      counts.updated++;
    } else {
      // The user already holds every value: its own record is the result, with no copy per row.
      actions.push({ action: 'unchanged', rowNumber, userId: user.id, record: user, warnings });
      counts.unchanged++;
    }
  }

  for (let u = 0; u < existing.length; u++) {
    const user = existing[u]!;
    if (matchedBy[u]! > 0 || user.managedById !== configurationId || user.status !== 'active') continue;
    if (user.externalId !== null && protectedExternalIds.has(user.externalId.toLowerCase())) continue;
    if (protectedEmails.has(user.email.toLowerCase())) continue;
    actions.push({
      action: 'deactivate',
      userId: user.id,
      externalId: user.externalId,
      email: user.email,
      name: fullName(user),
    });
    counts.deactivated++;
  }

  return { actions, counts, activeManagedUsers };
}

function diff(
  user: DirectoryRecord,
  record: DirectoryRecord,
  compared: Compared,
  rejected: readonly DirectoryField[],
): FieldChanges | null {
  let changes: FieldChanges | null = null;
  const { fields, properties } = compared;
  for (let i = 0; i < properties.length; i++) {
    const property = properties[i]!;
    const before = user[property];
    const after = record[property];
    if (before === after) continue;
    const field = fields[i]!;
    // A value the normaliser rejected (with a warning) keeps the user's current one.
    if (rejected.length > 0 && rejected.includes(field)) continue;
    if (
      before !== null &&
      after !== null &&
      CASE_INSENSITIVE.has(field) &&
      before.toLowerCase() === after.toLowerCase()
    ) {
      continue;
    }
    changes ??= {};
    changes[field] = { before, after };
  }
  return changes;
}

/** The user's record with the changes applied: what the directory holds afterwards. */
function merge(user: ExistingUser, changes: FieldChanges | null): DirectoryRecord {
  const record: DirectoryRecord = {
    externalId: user.externalId,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    jobTitle: user.jobTitle,
    department: user.department,
    location: user.location,
    managerEmail: user.managerEmail,
    employeeNumber: user.employeeNumber,
    phone: user.phone,
    startDate: user.startDate,
  };
  if (changes === null) return record;
  const values = record as unknown as Record<DirectoryRecordField, string | null>;
  for (const field of Object.keys(changes) as DirectoryField[]) {
    values[RECORD_PROPERTIES[field]] = changes[field]!.after;
  }
  return record;
}

function emailTaken(
  email: string,
  owner: ExistingUser,
  configurationId: string,
  configurationName: (id: string) => string,
): string {
  const managed =
    owner.managedById !== null && owner.managedById !== configurationId
      ? ` (managed by configuration ${configurationName(owner.managedById)})`
      : '';
  return `Email "${email}" is already used by another user${managed}, and emails are unique in the organisation`;
}

function fullName(record: { firstName: string; lastName: string }): string {
  return `${record.firstName} ${record.lastName}`.trim();
}
