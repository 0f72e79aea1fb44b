import type { DirectoryField, DirectoryRecord, FieldChanges } from '@provisioning/shared';

// The record's fields are the shared directory field table's (packages/shared directory-fields.ts).
export {
  type DirectoryRecord,
  type DirectoryRecordField,
  RECORD_PROPERTIES,
} from '@provisioning/shared';

export interface RowWarning {
  rowNumber: number;
  field: DirectoryField | null;
  message: string;
}

/** A source row after normalisation: usable (with possible warnings on optional fields) or skipped. */
export type NormalisedRow =
  | {
      kind: 'valid';
      rowNumber: number;
      /** The matching key: lower-cased external ID when the source has employee_id, else lower-cased email. */
      key: string;
      record: DirectoryRecord;
      /**
       * Fields whose source value was rejected with a warning (an unparseable start date, an invalid manager
       * email): null in `record`, and the planner keeps the user's current value instead of clearing it.
       */
      rejectedFields: readonly DirectoryField[];
      warnings: RowWarning[];
    }
  | {
      kind: 'skipped';
      rowNumber: number;
      /** Set when the row names a key (even a bad or duplicate one): the user behind it is protected. */
      key: string | null;
      externalId: string | null;
      email: string | null;
      name: string | null;
      warnings: RowWarning[];
    };

/** A directory user as the planner sees it. */
export interface ExistingUser extends DirectoryRecord {
  id: string;
  status: 'active' | 'deactivated';
  managedById: string | null;
  /**
   * The user's compared fields as one string (signature.ts), when the directory was read that way: a
   * row whose record has the same signature changes nothing. Absent or null: compared field by field.
   */
  signature?: string | null;
}

export type PlannedAction =
  | { action: 'create'; rowNumber: number; record: DirectoryRecord; warnings: RowWarning[] }
  | {
      action: 'update' | 'reactivate';
      rowNumber: number;
      userId: string;
      record: DirectoryRecord;
      changes: FieldChanges;
      /** The user was not yet managed by this configuration and is claimed by it now. */
      claim: boolean;
      warnings: RowWarning[];
    }
  | {
      action: 'unchanged';
      rowNumber: number;
      userId: string;
      /** The user's record, or the row's when equal on every compared field and the external ID. */
      record: DirectoryRecord;
      warnings: RowWarning[];
    }
  | {
      action: 'skip';
      rowNumber: number;
      externalId: string | null;
      email: string | null;
      name: string | null;
      warnings: RowWarning[];
    }
  | { action: 'deactivate'; userId: string; externalId: string | null; email: string; name: string };

export interface Plan {
  /** In source order, then the deactivations. */
  actions: PlannedAction[];
  counts: {
    created: number;
    updated: number;
    reactivated: number;
    deactivated: number;
    unchanged: number;
    skipped: number;
    warnings: number;
  };
  /** Active users managed by the configuration before this run: the base of the percentage threshold. */
  activeManagedUsers: number;
}
