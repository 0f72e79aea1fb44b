import {
  DIRECTORY_FIELD_TABLE,
  type DirectoryField,
  type FieldChanges,
  fullName,
} from '@provisioning/shared';
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

type ValidRow = Extract<NormalisedRow, { kind: 'valid' }>;

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
const CASE_INSENSITIVE = new Set<DirectoryField>(
  DIRECTORY_FIELD_TABLE.filter((entry) => entry.caseInsensitive).map((entry) => entry.field),
);

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
  const planner = new Planner(input);
  // External IDs first, for all rows, so that an email fallback can never take a user a later row names
  // by external ID.
  planner.matchByExternalId();
  planner.matchByEmail();
  planner.planRows();
  planner.planDeactivations();
  return { actions: planner.actions, counts: planner.counts, activeManagedUsers: planner.activeManagedUsers };
}

/**
 * One plan's state, shared by its phases. Users are referred to by their index in `existing`: typed arrays
 * instead of maps keyed by objects keep 200k-user plans fast, and each index is built only when some row
 * needs it. The phases are methods, so that no closure is made per row.
 */
class Planner {
  private readonly configurationId: string;
  private readonly rows: readonly NormalisedRow[];
  private readonly existing: readonly ExistingUser[];
  private readonly configurationNames: ReadonlyMap<string, string> | undefined;
  private readonly compared: Compared;
  /** Row index → index of the user it matched, or -1. */
  private readonly matched: Int32Array;
  /** User index → 1 + index of the row that matched it, or 0. */
  private readonly matchedBy: Int32Array;
  /** Row index → why the plan skips a row the normaliser accepted. */
  private readonly refused = new Map<number, RowWarning>();
  /** Lower-cased email → user index; built on first use. */
  private byEmail: Map<string, number> | undefined;
  /** External ID → a user another configuration manages (for messages); filled only when rows have IDs. */
  private elsewhereByExternalId = new Map<string, number>();
  // Skipped rows protect the users they name, by external ID and by email, from deactivation.
  private readonly protectedExternalIds = new Set<string>();
  private readonly protectedEmails = new Set<string>();

  readonly actions: PlannedAction[] = [];
  readonly counts: Plan['counts'] = {
    created: 0,
    updated: 0,
    reactivated: 0,
    deactivated: 0,
    unchanged: 0,
    skipped: 0,
    warnings: 0,
  };
  /** Active users managed by the configuration before this run. */
  readonly activeManagedUsers: number;

  constructor(input: PlanInput) {
    this.configurationId = input.configurationId;
    this.rows = input.rows;
    this.existing = input.existing;
    this.configurationNames = input.configurationNames;
    const fields = comparedFields(input.presentFields);
    this.compared = { fields, properties: fields.map((field) => RECORD_PROPERTIES[field]) };
    this.matched = new Int32Array(this.rows.length).fill(-1);
    this.matchedBy = new Int32Array(this.existing.length);
    let active = 0;
    for (const user of this.existing) {
      if (user.managedById === this.configurationId && user.status === 'active') active++;
    }
    this.activeManagedUsers = active;
  }

  matchByExternalId(): void {
    const { rows, matched, matchedBy } = this;
    if (!rows.some((row) => row.kind === 'valid' && row.record.externalId !== null)) return;
    const { byExternalId, ambiguous } = this.externalIdIndex();
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index]!;
      if (row.kind !== 'valid' || row.record.externalId === null) continue;
      const externalId = row.record.externalId.toLowerCase();
      if (ambiguous.size > 0 && ambiguous.has(externalId)) {
        this.refuse(
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
  }

  /**
   * The users this configuration may match by external ID (its own win over unmanaged ones) and the IDs it
   * cannot tell apart; notes on the way those another configuration manages.
   */
  private externalIdIndex(): { byExternalId: Map<string, number>; ambiguous: Set<string> } {
    const { existing, configurationId, elsewhereByExternalId } = this;
    const byExternalId = new Map<string, number>();
    const ambiguous = new Set<string>();
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
        ambiguous.add(externalId);
      } else if (here) {
        byExternalId.set(externalId, u);
        ambiguous.delete(externalId);
      }
    }
    return { byExternalId, ambiguous };
  }

  /**
   * A row matched by external ID keeps its user unless its new email belongs to someone else; the other
   * rows match by email, when the user is theirs to take.
   */
  matchByEmail(): void {
    const { rows, existing, matched, matchedBy, refused, configurationId } = this;
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index]!;
      if (row.kind !== 'valid' || (refused.size > 0 && refused.has(index))) continue;
      const { email, externalId } = row.record;
      const u = matched[index]!;
      if (u >= 0) {
        // Emails are unique in the organisation: when the user has the row's email, nobody else has it.
        if (existing[u]!.email.toLowerCase() === email) continue;
        // An email change must not take another user's email.
        const owner = this.emailIndex().get(email);
        if (owner !== undefined) {
          matched[index] = -1;
          this.refuse(index, 'email', `${this.emailTaken(email, existing[owner]!)}; the row was skipped.`);
        }
        continue;
      }
      const owner = this.emailIndex().get(email);
      if (owner !== undefined) {
        const user = existing[owner]!;
        if (user.managedById !== null && user.managedById !== configurationId) {
          this.refuse(
            index,
            'email',
            `Email "${email}" belongs to a user managed by configuration ${this.configurationName(user.managedById)}; ` +
              'this configuration does not change it. The row was skipped.',
          );
        } else if (matchedBy[owner]! > 0) {
          this.refuse(
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
      const elsewhere =
        externalId === null ? undefined : this.elsewhereByExternalId.get(externalId.toLowerCase());
      if (elsewhere !== undefined) {
        this.refuse(
          index,
          'employee_id',
          `Employee ID "${externalId}" belongs to a user managed by configuration ` +
            `${this.configurationName(existing[elsewhere]!.managedById!)}; this configuration does not change it. The row was skipped.`,
        );
      }
    }
  }

  /** One action per row, in source order: skip, create, or what the matched user needs. */
  planRows(): void {
    const { rows, refused, matched, existing, actions, counts } = this;
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index]!;
      if (row.kind === 'skipped') {
        this.skip(row.rowNumber, row.externalId, row.email, row.name, row.warnings);
        continue;
      }
      const { rowNumber, record, warnings } = row;
      const refusal = refused.size > 0 ? refused.get(index) : undefined;
      if (refusal !== undefined) {
        this.skip(rowNumber, record.externalId, record.email, fullName(record), [...warnings, refusal]);
        continue;
      }
      counts.warnings += warnings.length;
      const u = matched[index]!;
      if (u < 0) {
        actions.push({ action: 'create', rowNumber, record, warnings });
        counts.created++;
      } else {
        this.planMatchedRow(row, existing[u]!);
      }
    }
  }

  /** A row that matched a user: unchanged, updated (a claim is an update) or reactivated. */
  private planMatchedRow(row: ValidRow, user: ExistingUser): void {
    const { rowNumber, record, warnings } = row;
    const { actions, counts } = this;
    const claim = user.managedById !== this.configurationId;
    if (
      !claim &&
      user.status === 'active' &&
      user.signature != null &&
      row.rejectedFields.length === 0 &&
      matchesSignature(record, this.compared.properties, user.signature)
    ) {
      // Every compared field is equal: the row's record stands for the user's (the log reads its ID, email
      // and name), which is then never decoded. Its external ID is the user's unless the source has none.
      const same = record.externalId === user.externalId ? record : user;
      actions.push({ action: 'unchanged', rowNumber, userId: user.id, record: same, warnings });
      counts.unchanged++;
      return;
    }
    const changes = diff(user, record, this.compared, row.rejectedFields);
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

  /** The active users this configuration manages that no row matched, unless a skipped row names them. */
  planDeactivations(): void {
    const { existing, matchedBy, configurationId, protectedExternalIds, protectedEmails } = this;
    for (let u = 0; u < existing.length; u++) {
      const user = existing[u]!;
      if (matchedBy[u]! > 0 || user.managedById !== configurationId || user.status !== 'active') continue;
      if (user.externalId !== null && protectedExternalIds.has(user.externalId.toLowerCase())) continue;
      if (protectedEmails.has(user.email.toLowerCase())) continue;
      this.actions.push({
        action: 'deactivate',
        userId: user.id,
        externalId: user.externalId,
        email: user.email,
        name: fullName(user),
      });
      this.counts.deactivated++;
    }
  }

  private skip(
    rowNumber: number,
    externalId: string | null,
    email: string | null,
    name: string | null,
    warnings: RowWarning[],
  ): void {
    if (externalId !== null) this.protectedExternalIds.add(externalId.toLowerCase());
    if (email !== null) this.protectedEmails.add(email.toLowerCase());
    this.actions.push({ action: 'skip', rowNumber, externalId, email, name, warnings });
    this.counts.skipped++;
    this.counts.warnings += warnings.length;
  }

  private refuse(index: number, field: DirectoryField, message: string): void {
    this.refused.set(index, { rowNumber: this.rows[index]!.rowNumber, field, message });
  }

  private emailIndex(): Map<string, number> {
    if (this.byEmail) return this.byEmail;
    const byEmail = new Map<string, number>();
    const existing = this.existing;
    for (let u = 0; u < existing.length; u++) byEmail.set(existing[u]!.email.toLowerCase(), u);
    this.byEmail = byEmail;
    return byEmail;
  }

  private configurationName(id: string): string {
    const name = this.configurationNames?.get(id);
    return name === undefined ? id : `"${name}"`;
  }

  private emailTaken(email: string, owner: ExistingUser): string {
    const managed =
      owner.managedById !== null && owner.managedById !== this.configurationId
        ? ` (managed by configuration ${this.configurationName(owner.managedById)})`
        : '';
    return `Email "${email}" is already used by another user${managed}, and emails are unique in the organisation`;
  }
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

/** Every record property, for copying a user's record. */
const RECORD_PROPERTY_LIST = DIRECTORY_FIELD_TABLE.map((entry) => entry.property);

/** The user's record with the changes applied: what the directory holds afterwards. */
function merge(user: ExistingUser, changes: FieldChanges | null): DirectoryRecord {
  const values: Partial<Record<DirectoryRecordField, string | null>> = {};
  for (const property of RECORD_PROPERTY_LIST) values[property] = user[property];
  if (changes !== null) {
    for (const field of Object.keys(changes) as DirectoryField[]) {
      values[RECORD_PROPERTIES[field]] = changes[field]!.after;
    }
  }
  return values as DirectoryRecord;
}
