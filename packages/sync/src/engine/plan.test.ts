import { DIRECTORY_FIELDS, type DirectoryField } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { resolveColumns } from './columns.ts';
import { createNormaliser } from './normalise.ts';
import { plan } from './plan.ts';
import { comparedFields, SignedUser } from './signature.ts';
import {
  type DirectoryRecord,
  type ExistingUser,
  type NormalisedRow,
  type Plan,
  type PlannedAction,
  RECORD_PROPERTIES,
} from './types.ts';

const CONFIG = 'config-a';
const OTHER = 'config-b';
const WITH_ID = new Set<DirectoryField>(DIRECTORY_FIELDS);
const WITHOUT_ID = new Set<DirectoryField>(DIRECTORY_FIELDS.filter((field) => field !== 'employee_id'));

const EMPTY: DirectoryRecord = {
  externalId: null,
  email: '',
  firstName: 'First',
  lastName: 'Last',
  jobTitle: null,
  department: null,
  location: null,
  managerEmail: null,
  employeeNumber: null,
  phone: null,
  startDate: null,
};

function user(fields: Partial<ExistingUser> & { id: string; email: string }): ExistingUser {
  return { ...EMPTY, status: 'active', managedById: CONFIG, ...fields };
}

function row(
  rowNumber: number,
  fields: Partial<DirectoryRecord> & { email: string },
  rejectedFields: DirectoryField[] = [],
): NormalisedRow {
  const record = { ...EMPTY, ...fields };
  return {
    kind: 'valid',
    rowNumber,
    key: (record.externalId ?? record.email).toLowerCase(),
    record,
    rejectedFields,
    warnings: [],
  };
}

function skippedRow(rowNumber: number, externalId: string | null, email: string | null): NormalisedRow {
  return {
    kind: 'skipped',
    rowNumber,
    key: (externalId ?? email)?.toLowerCase() ?? null,
    externalId,
    email,
    name: 'Some One',
    warnings: [{ rowNumber, field: 'email', message: 'Duplicate email' }],
  };
}

function planOf(rows: NormalisedRow[], existing: ExistingUser[], presentFields = WITH_ID): Plan {
  return plan({ configurationId: CONFIG, rows, existing, presentFields });
}

function only(result: Plan): PlannedAction {
  expect(result.actions).toHaveLength(1);
  return result.actions[0]!;
}

describe('plan', () => {
  it('creates a user for a row that matches nobody', () => {
    const result = planOf([row(2, { externalId: 'E1', email: 'a@x.com', firstName: 'Ada' })], []);
    expect(only(result)).toEqual({
      action: 'create',
      rowNumber: 2,
      record: { ...EMPTY, externalId: 'E1', email: 'a@x.com', firstName: 'Ada' },
      warnings: [],
    });
    expect(result.counts).toEqual({
      created: 1,
      updated: 0,
      reactivated: 0,
      deactivated: 0,
      unchanged: 0,
      skipped: 0,
      warnings: 0,
    });
  });

  it('updates a managed user with exactly the fields that changed', () => {
    const existing = user({
      id: 'u1',
      externalId: 'E1',
      email: 'a@x.com',
      jobTitle: 'Engineer',
      phone: '123',
    });
    const result = planOf(
      [
        row(2, {
          externalId: 'E1',
          email: 'a@x.com',
          jobTitle: 'Lead Engineer',
          department: 'R&D',
          phone: '123',
        }),
      ],
      [existing],
    );
    expect(only(result)).toEqual({
      action: 'update',
      rowNumber: 2,
      userId: 'u1',
      record: {
        ...EMPTY,
        externalId: 'E1',
        email: 'a@x.com',
        jobTitle: 'Lead Engineer',
        department: 'R&D',
        phone: '123',
      },
      changes: {
        job_title: { before: 'Engineer', after: 'Lead Engineer' },
        department: { before: null, after: 'R&D' },
      },
      claim: false,
      warnings: [],
    });
    expect(result.counts.updated).toBe(1);
  });

  it('records clearing a value the source emptied', () => {
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'a@x.com', phone: null })],
      [user({ id: 'u1', externalId: 'E1', email: 'a@x.com', phone: '555' })],
    );
    expect(only(result)).toMatchObject({
      action: 'update',
      changes: { phone: { before: '555', after: null } },
    });
  });

  it('leaves fields the source has no column for as they are', () => {
    const existing = user({
      id: 'u1',
      email: 'a@x.com',
      externalId: 'E9',
      department: 'Sales',
      phone: '555',
    });
    const present = new Set<DirectoryField>(['email', 'first_name', 'last_name', 'job_title']);
    const result = planOf([row(2, { email: 'a@x.com', jobTitle: 'Boss' })], [existing], present);
    const action = only(result);
    expect(action).toMatchObject({
      action: 'update',
      changes: { job_title: { before: null, after: 'Boss' } },
    });
    if (action.action !== 'update') throw new Error('expected an update');
    expect(Object.keys(action.changes)).toEqual(['job_title']);
    expect(action.record).toMatchObject({
      externalId: 'E9',
      department: 'Sales',
      phone: '555',
      jobTitle: 'Boss',
    });
  });

  it('keeps the current value of a field the normaliser rejected', () => {
    const existing = user({ id: 'u1', externalId: 'E1', email: 'a@x.com', startDate: '2020-01-01' });
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'a@x.com', startDate: null }, ['start_date'])],
      [existing],
    );
    expect(only(result)).toMatchObject({ action: 'unchanged', userId: 'u1' });
  });

  it('does not count a difference in the case of an email as a change', () => {
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'ada@x.com', managerEmail: 'boss@x.com' })],
      [user({ id: 'u1', externalId: 'E1', email: 'Ada@X.com', managerEmail: 'Boss@x.com' })],
    );
    expect(only(result)).toMatchObject({ action: 'unchanged', record: { email: 'Ada@X.com' } });
  });

  it('reactivates a deactivated managed user, with its changes', () => {
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'a@x.com', location: 'Paris' })],
      [user({ id: 'u1', externalId: 'E1', email: 'a@x.com', status: 'deactivated' })],
    );
    expect(only(result)).toMatchObject({
      action: 'reactivate',
      userId: 'u1',
      claim: false,
      changes: { location: { before: null, after: 'Paris' } },
      record: { location: 'Paris' },
    });
    expect(result.counts.reactivated).toBe(1);
  });

  it('reactivates a deactivated user even when no field changed', () => {
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'a@x.com' })],
      [user({ id: 'u1', externalId: 'E1', email: 'a@x.com', status: 'deactivated' })],
    );
    expect(only(result)).toMatchObject({ action: 'reactivate', changes: {} });
  });

  it('leaves a user whose values all match unchanged', () => {
    const existing = user({ id: 'u1', externalId: 'E1', email: 'a@x.com', jobTitle: 'Engineer' });
    const result = planOf([row(2, { externalId: 'E1', email: 'a@x.com', jobTitle: 'Engineer' })], [existing]);
    expect(only(result)).toMatchObject({ action: 'unchanged', rowNumber: 2, userId: 'u1' });
    expect(result.counts.unchanged).toBe(1);
  });

  it('matches an external ID whatever its case and records the new spelling', () => {
    const result = planOf(
      [row(2, { externalId: 'ab-1', email: 'a@x.com' })],
      [user({ id: 'u1', externalId: 'AB-1', email: 'a@x.com' })],
    );
    expect(only(result)).toMatchObject({
      action: 'update',
      userId: 'u1',
      changes: { employee_id: { before: 'AB-1', after: 'ab-1' } },
    });
  });

  it('changes the email of the user matched by external ID', () => {
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'new@x.com' })],
      [user({ id: 'u1', externalId: 'E1', email: 'old@x.com' })],
    );
    expect(only(result)).toMatchObject({
      action: 'update',
      changes: { email: { before: 'old@x.com', after: 'new@x.com' } },
    });
  });

  it('falls back to the email when no user has the external ID, and records the new ID', () => {
    const result = planOf(
      [row(2, { externalId: 'E2', email: 'a@x.com' })],
      [user({ id: 'u1', externalId: 'E1', email: 'a@x.com' })],
    );
    expect(only(result)).toMatchObject({
      action: 'update',
      userId: 'u1',
      changes: { employee_id: { before: 'E1', after: 'E2' } },
    });
  });

  describe('claims', () => {
    it('claims a hand-made user matched by email, as an update even when nothing else changes', () => {
      const result = planOf(
        [row(2, { email: 'a@x.com' })],
        [user({ id: 'u1', email: 'A@x.com', managedById: null })],
        WITHOUT_ID,
      );
      expect(only(result)).toEqual({
        action: 'update',
        rowNumber: 2,
        userId: 'u1',
        record: { ...EMPTY, email: 'A@x.com' },
        changes: {},
        claim: true,
        warnings: [],
      });
      expect(result.counts.updated).toBe(1);
    });

    it('claims a hand-made user matched by external ID, with its changes', () => {
      const result = planOf(
        [row(2, { externalId: 'E1', email: 'new@x.com' })],
        [user({ id: 'u1', externalId: 'E1', email: 'old@x.com', managedById: null })],
      );
      expect(only(result)).toMatchObject({
        action: 'update',
        userId: 'u1',
        claim: true,
        changes: { email: { before: 'old@x.com', after: 'new@x.com' } },
      });
    });

    it('claims and reactivates a deactivated hand-made user', () => {
      const result = planOf(
        [row(2, { email: 'a@x.com' })],
        [user({ id: 'u1', email: 'a@x.com', managedById: null, status: 'deactivated' })],
        WITHOUT_ID,
      );
      expect(only(result)).toMatchObject({ action: 'reactivate', claim: true });
    });

    it('prefers its own user over a hand-made one with the same external ID', () => {
      const result = planOf(
        [row(2, { externalId: 'E1', email: 'a@x.com' })],
        [
          user({ id: 'hand', externalId: 'E1', email: 'hand@x.com', managedById: null }),
          user({ id: 'own', externalId: 'E1', email: 'a@x.com' }),
        ],
      );
      expect(only(result)).toMatchObject({ action: 'unchanged', userId: 'own' });
    });

    it('skips a row whose external ID several hand-made users share', () => {
      const result = planOf(
        [row(2, { externalId: 'E1', email: 'a@x.com' })],
        [
          user({ id: 'h1', externalId: 'E1', email: 'h1@x.com', managedById: null }),
          user({ id: 'h2', externalId: 'e1', email: 'h2@x.com', managedById: null }),
        ],
      );
      const action = only(result);
      expect(action).toMatchObject({ action: 'skip', rowNumber: 2, externalId: 'E1', email: 'a@x.com' });
      if (action.action !== 'skip') throw new Error('expected a skip');
      expect(action.warnings[0]!.message).toMatch(/^Employee ID "E1" matches several users in the directory/);
    });
  });

  describe("another configuration's users", () => {
    it('never touches a user another configuration manages, matched by email', () => {
      const result = plan({
        configurationId: CONFIG,
        rows: [row(2, { email: 'a@x.com', jobTitle: 'New' })],
        existing: [user({ id: 'u1', email: 'a@x.com', managedById: OTHER })],
        presentFields: WITHOUT_ID,
        configurationNames: new Map([[OTHER, 'Workday']]),
      });
      expect(only(result)).toEqual({
        action: 'skip',
        rowNumber: 2,
        externalId: null,
        email: 'a@x.com',
        name: 'First Last',
        warnings: [
          {
            rowNumber: 2,
            field: 'email',
            message:
              'Email "a@x.com" belongs to a user managed by configuration "Workday"; this configuration does not ' +
              'change it. The row was skipped.',
          },
        ],
      });
      expect(result.counts).toMatchObject({ skipped: 1, warnings: 1 });
    });

    it('never touches a user another configuration manages, matched by external ID', () => {
      const result = planOf(
        [row(2, { externalId: 'E1', email: 'a@x.com' })],
        [user({ id: 'u1', externalId: 'E1', email: 'other@x.com', managedById: OTHER })],
      );
      const action = only(result);
      expect(action).toMatchObject({ action: 'skip', rowNumber: 2 });
      if (action.action !== 'skip') throw new Error('expected a skip');
      expect(action.warnings[0]).toMatchObject({ field: 'employee_id' });
      expect(action.warnings[0]!.message).toBe(
        'Employee ID "E1" belongs to a user managed by configuration config-b; this configuration does not change it. ' +
          'The row was skipped.',
      );
    });

    it("never gives a user another user's email", () => {
      const result = planOf(
        [row(2, { externalId: 'E1', email: 'taken@x.com' })],
        [
          user({ id: 'u1', externalId: 'E1', email: 'mine@x.com' }),
          user({ id: 'u2', email: 'taken@x.com', managedById: null }),
        ],
      );
      const action = result.actions[0]!;
      expect(action).toMatchObject({ action: 'skip', externalId: 'E1', email: 'taken@x.com' });
      if (action.action !== 'skip') throw new Error('expected a skip');
      expect(action.warnings[0]!.message).toBe(
        'Email "taken@x.com" is already used by another user, and emails are unique in the organisation; ' +
          'the row was skipped.',
      );
      // The skipped row protects the user it matched.
      expect(result.counts.deactivated).toBe(0);
    });

    it('does not let an email fallback take the user another row matches by external ID', () => {
      const result = planOf(
        [
          row(2, { externalId: 'E1', email: 'robert@x.com' }),
          row(3, { externalId: 'E2', email: 'bob@x.com' }),
        ],
        [user({ id: 'u1', externalId: 'E1', email: 'bob@x.com' })],
      );
      expect(result.actions[0]).toMatchObject({ action: 'update', userId: 'u1' });
      const second = result.actions[1]!;
      expect(second).toMatchObject({ action: 'skip', rowNumber: 3 });
      if (second.action !== 'skip') throw new Error('expected a skip');
      expect(second.warnings[0]!.message).toMatch(
        /belongs to the user that row 2 matches by employee ID "E1"/,
      );
    });
  });

  describe('deactivation', () => {
    it('deactivates active managed users absent from the source', () => {
      const result = planOf(
        [row(2, { externalId: 'E1', email: 'a@x.com' })],
        [
          user({ id: 'u1', externalId: 'E1', email: 'a@x.com' }),
          user({ id: 'u2', externalId: 'E2', email: 'b@x.com', firstName: 'Bo', lastName: 'B' }),
          user({ id: 'u3', externalId: 'E3', email: 'c@x.com', status: 'deactivated' }),
        ],
      );
      expect(result.actions).toEqual([
        {
          action: 'unchanged',
          rowNumber: 2,
          userId: 'u1',
          record: expect.objectContaining({ email: 'a@x.com' }),
          warnings: [],
        },
        { action: 'deactivate', userId: 'u2', externalId: 'E2', email: 'b@x.com', name: 'Bo B' },
      ]);
      expect(result.counts.deactivated).toBe(1);
      expect(result.activeManagedUsers).toBe(2);
    });

    it('never deactivates hand-made users or users of another configuration', () => {
      const result = planOf(
        [],
        [
          user({ id: 'hand', email: 'hand@x.com', managedById: null }),
          user({ id: 'other', email: 'other@x.com', managedById: OTHER }),
        ],
      );
      expect(result.actions).toEqual([]);
      expect(result.activeManagedUsers).toBe(0);
    });

    it('keeps the user behind a skipped duplicate row, by external ID', () => {
      const result = planOf(
        [skippedRow(2, 'E1', 'x1@x.com'), skippedRow(3, 'e1', 'x2@x.com')],
        [user({ id: 'u1', externalId: 'E1', email: 'a@x.com' })],
      );
      expect(result.actions.map((action) => action.action)).toEqual(['skip', 'skip']);
      expect(result.counts).toMatchObject({ skipped: 2, deactivated: 0, warnings: 2 });
    });

    it('keeps the user behind a skipped row, by email', () => {
      const result = planOf(
        [skippedRow(2, null, 'a@x.com')],
        [user({ id: 'u1', externalId: 'E1', email: 'A@x.com' })],
      );
      expect(result.counts.deactivated).toBe(0);
    });

    it('deactivates a managed user a skipped row does not name', () => {
      const result = planOf(
        [skippedRow(2, 'E9', 'z@x.com')],
        [user({ id: 'u1', externalId: 'E1', email: 'a@x.com' })],
      );
      expect(result.counts.deactivated).toBe(1);
    });
  });

  it('keeps source order and puts the deactivations last', () => {
    const result = planOf(
      [
        row(2, { externalId: 'E3', email: 'c@x.com' }),
        skippedRow(3, null, null),
        row(4, { externalId: 'E1', email: 'a@x.com' }),
      ],
      [
        user({ id: 'u2', externalId: 'E2', email: 'b@x.com' }),
        user({ id: 'u1', externalId: 'E1', email: 'a@x.com' }),
      ],
    );
    expect(result.actions.map((action) => action.action)).toEqual([
      'create',
      'skip',
      'unchanged',
      'deactivate',
    ]);
  });

  it('counts warnings over all rows, applied ones included', () => {
    const warned = row(2, { email: 'a@x.com' });
    warned.warnings.push({ rowNumber: 2, field: 'start_date', message: 'bad date' });
    const result = planOf([warned, skippedRow(3, null, 'b@x.com')], [], WITHOUT_ID);
    expect(result.counts).toMatchObject({ created: 1, skipped: 1, warnings: 2 });
  });
});

describe('plan over successive runs', () => {
  const headers = ['Employee ID', 'Email', 'First Name', 'Last Name', 'Department'];

  function rowsOf(data: string[][], existing: ExistingUser[]) {
    const columns = resolveColumns(headers);
    const normaliser = createNormaliser(columns);
    data.forEach((cells, i) => {
      normaliser.add({
        rowNumber: i + 2,
        values: Object.fromEntries(headers.map((h, j) => [h, cells[j] ?? ''])),
      });
    });
    return {
      rows: normaliser.finish(new Set(existing.map((u) => u.email.toLowerCase()))),
      presentFields: columns.present,
    };
  }

  /** What apply does, in memory. */
  function applied(existing: ExistingUser[], result: Plan): ExistingUser[] {
    const users = new Map(existing.map((u) => [u.id, { ...u }]));
    for (const action of result.actions) {
      if (action.action === 'create') {
        users.set(`new-${users.size}`, {
          ...action.record,
          id: `new-${users.size}`,
          status: 'active',
          managedById: CONFIG,
        });
      } else if (action.action === 'update' || action.action === 'reactivate') {
        const current = users.get(action.userId)!;
        users.set(action.userId, { ...current, ...action.record, status: 'active', managedById: CONFIG });
      } else if (action.action === 'deactivate') {
        users.get(action.userId)!.status = 'deactivated';
      }
    }
    return [...users.values()];
  }

  function sync(existing: ExistingUser[], data: string[][]) {
    const { rows, presentFields } = rowsOf(data, existing);
    const result = plan({ configurationId: CONFIG, rows, existing, presentFields });
    return { result, users: applied(existing, result) };
  }

  const A = [
    ['001', 'ada@x.com', 'Ada', 'Lovelace', 'Maths'],
    ['002', 'grace@x.com', 'Grace', 'Hopper', 'Navy'],
    ['003', 'alan@x.com', 'Alan', 'Turing', 'Maths'],
  ];
  const B = [
    ['001', 'ada.l@x.com', 'Ada', 'Lovelace', 'Engines'],
    ['002', 'grace@x.com', 'Grace', 'Hopper', 'Navy'],
    ['004', 'edsger@x.com', 'Edsger', 'Dijkstra', 'Algorithms'],
  ];
  const hand = user({ id: 'hand', email: 'admin@x.com', managedById: null });
  const view = (users: ExistingUser[]) =>
    users
      .map(({ id, externalId, email, department, status, managedById }) => ({
        id,
        externalId,
        email,
        department,
        status,
        managedById,
      }))
      .sort((a, b) => a.id.localeCompare(b.id));

  it('plans only unchanged rows when the same input runs again', () => {
    const first = sync([hand], A);
    expect(first.result.counts).toMatchObject({ created: 3, deactivated: 0 });
    const second = sync(first.users, A);
    expect(second.result.actions.map((action) => action.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(second.result.counts).toMatchObject({ unchanged: 3, warnings: 0 });
  });

  it('returns to the values of A after A, then B, then A', () => {
    const afterA = sync([hand], A).users;
    const afterB = sync(afterA, B);
    expect(afterB.result.counts).toMatchObject({ created: 1, updated: 1, unchanged: 1, deactivated: 1 });
    const again = sync(afterB.users, A);
    expect(again.result.counts).toMatchObject({ updated: 1, reactivated: 1, unchanged: 1, deactivated: 1 });
    const edsger = again.users.find((u) => u.email === 'edsger@x.com')!;
    expect(edsger.status).toBe('deactivated');
    expect(view(again.users.filter((u) => u !== edsger))).toEqual(view(afterA));
    expect(again.users.find((u) => u.id === 'hand')).toEqual(hand);
  });
});

describe('plan at scale', () => {
  it('plans 200,000 rows against 200,000 users', () => {
    const size = 200_000;
    const existing: ExistingUser[] = [];
    for (let i = 0; i < size; i++) {
      existing.push(
        user({
          id: `u${i}`,
          externalId: String(i).padStart(7, '0'),
          email: `user${i}@example.com`,
          firstName: `First${i}`,
          lastName: `Last${i}`,
          department: `Dept ${i % 50}`,
        }),
      );
    }
    // 5% changed, 2.5% new, 2.5% gone (their rows are replaced by the new ones).
    const rows: NormalisedRow[] = [];
    for (let i = 0; i < size; i++) {
      const n = i % 40 === 0 ? size + i : i;
      const department = i % 20 === 1 ? 'Moved' : `Dept ${i % 50}`;
      rows.push(
        row(i + 2, {
          externalId: String(n).padStart(7, '0'),
          email: `user${n}@example.com`,
          firstName: `First${n}`,
          lastName: `Last${n}`,
          department,
        }),
      );
    }
    // Flat strings, as a database driver or CSV parser hands them over (template literals build rope strings).
    const input = JSON.parse(JSON.stringify({ rows, existing }));
    const started = performance.now();
    const result = plan({ configurationId: CONFIG, ...input, presentFields: WITH_ID });
    const elapsed = performance.now() - started;
    console.info(`plan() of ${size} rows against ${size} users: ${elapsed.toFixed(0)} ms`);
    expect(result.counts).toEqual({
      created: size / 40,
      updated: size / 20,
      reactivated: 0,
      deactivated: size / 40,
      unchanged: size - size / 40 - size / 20,
      skipped: 0,
      warnings: 0,
    });
    expect(result.actions).toHaveLength(size + size / 40);
  });
});

describe('plan, with users read by signature', () => {
  /** The user as loadDirectory reads it: a signature over the compared fields, the rest as columns. */
  function signed(
    fields: Partial<ExistingUser> & { id: string; email: string },
    present = WITH_ID,
  ): SignedUser {
    const whole = user(fields);
    const compared = comparedFields(present);
    const signature = compared
      .map((field) => whole[RECORD_PROPERTIES[field]])
      .map((value) => (value === null ? '' : `=${value}`))
      .join('\t');
    const others = Object.fromEntries(
      DIRECTORY_FIELDS.filter((field) => !present.has(field)).map((field) => [
        RECORD_PROPERTIES[field],
        whole[RECORD_PROPERTIES[field]],
      ]),
    );
    return new SignedUser({ ...others, ...whole, signature }, compared);
  }

  it('tells an unchanged user by signature, standing the row for the user', () => {
    const source = row(2, { externalId: 'E1', email: 'a@x.com', jobTitle: 'Engineer' });
    const result = planOf(
      [source],
      [signed({ id: 'u1', externalId: 'E1', email: 'a@x.com', jobTitle: 'Engineer' })],
    );
    const action = only(result);
    expect(action).toMatchObject({ action: 'unchanged', userId: 'u1', rowNumber: 2 });
    // The row's own record: the user's fields were not decoded.
    expect((action as { record: DirectoryRecord }).record).toBe(
      (source as { record: DirectoryRecord }).record,
    );
    expect(result.counts.unchanged).toBe(1);
  });

  it('decodes the before values of a change from the signature, and keeps the fields the source lacks', () => {
    const present = new Set<DirectoryField>(['employee_id', 'email', 'first_name', 'last_name', 'job_title']);
    const existing = signed(
      {
        id: 'u1',
        externalId: 'E1',
        email: 'a@x.com',
        jobTitle: 'Engineer',
        phone: '555',
        startDate: '2020-01-01',
      },
      present,
    );
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'a@x.com', jobTitle: 'Lead' })],
      [existing],
      present,
    );
    expect(only(result)).toEqual({
      action: 'update',
      rowNumber: 2,
      userId: 'u1',
      record: {
        ...EMPTY,
        externalId: 'E1',
        email: 'a@x.com',
        jobTitle: 'Lead',
        phone: '555',
        startDate: '2020-01-01',
      },
      changes: { job_title: { before: 'Engineer', after: 'Lead' } },
      claim: false,
      warnings: [],
    });
  });

  it('still claims an unmanaged user and reactivates a deactivated one whose fields are equal', () => {
    const result = planOf(
      [row(2, { externalId: 'E1', email: 'a@x.com' }), row(3, { externalId: 'E2', email: 'b@x.com' })],
      [
        signed({ id: 'u1', externalId: 'E1', email: 'a@x.com', managedById: null }),
        signed({ id: 'u2', externalId: 'E2', email: 'b@x.com', status: 'deactivated' }),
      ],
    );
    expect(result.actions.map((a) => [a.action, 'claim' in a ? a.claim : undefined])).toEqual([
      ['update', true],
      ['reactivate', false],
    ]);
  });

  it('compares field by field where the signature differs only in case, or a value was refused', () => {
    const result = planOf(
      [
        row(2, { externalId: 'E1', email: 'a@x.com' }),
        row(3, { externalId: 'E2', email: 'b@x.com', startDate: null }, ['start_date']),
      ],
      [
        signed({ id: 'u1', externalId: 'E1', email: 'A@X.com' }),
        signed({ id: 'u2', externalId: 'E2', email: 'b@x.com', startDate: '2020-01-01' }),
      ],
    );
    expect(result.actions.map((a) => a.action)).toEqual(['unchanged', 'unchanged']);
    expect(result.counts.unchanged).toBe(2);
  });

  it("logs the user's external ID for an unchanged user when the source has no employee ID column", () => {
    const existing = signed({ id: 'u1', externalId: 'E1', email: 'a@x.com' }, WITHOUT_ID);
    const action = only(planOf([row(2, { email: 'a@x.com' })], [existing], WITHOUT_ID));
    expect(action).toMatchObject({ action: 'unchanged', record: { externalId: 'E1', email: 'a@x.com' } });
  });

  it('names a deactivated user from the signature', () => {
    const result = planOf([], [signed({ id: 'u1', externalId: 'E1', email: 'a@x.com', firstName: 'Ada' })]);
    expect(only(result)).toEqual({
      action: 'deactivate',
      userId: 'u1',
      externalId: 'E1',
      email: 'a@x.com',
      name: 'Ada Last',
    });
  });
});
