import { describe, expect, it } from 'vitest';
import { SourceError } from '../connectors/source.ts';
import { resolveColumns } from './columns.ts';

function failure(headers: string[], mapping = {}): SourceError {
  try {
    resolveColumns(headers, mapping);
  } catch (error) {
    if (error instanceof SourceError) return error;
    throw error;
  }
  throw new Error('resolveColumns did not throw');
}

describe('resolveColumns', () => {
  it('matches headers to fields ignoring case, spaces and underscores', () => {
    for (const header of ['employee_id', 'Employee ID', 'EMPLOYEE_ID', 'employeeid', ' Employee  Id ']) {
      const columns = resolveColumns([header, 'Email', 'First Name', 'last_name'], {});
      expect(columns.fields.employee_id).toBe(header);
    }
  });

  it('maps every directory field it finds and leaves unknown columns out', () => {
    const columns = resolveColumns(
      ['Email', 'First Name', 'Last Name', 'Job Title', 'Manager Email', 'Start Date', 'Favourite Colour'],
      {},
    );
    expect(columns.fields).toEqual({
      email: 'Email',
      first_name: 'First Name',
      last_name: 'Last Name',
      job_title: 'Job Title',
      manager_email: 'Manager Email',
      start_date: 'Start Date',
    });
    expect([...columns.present].sort()).toEqual(
      ['email', 'first_name', 'job_title', 'last_name', 'manager_email', 'start_date'].sort(),
    );
  });

  it('keys on the employee ID when the column is present, else on the email', () => {
    expect(resolveColumns(['Employee ID', 'Email', 'First Name', 'Last Name']).key).toBe('employee_id');
    expect(resolveColumns(['Email', 'First Name', 'Last Name']).key).toBe('email');
  });

  it('reads mapped fields from their mapped columns and the rest by name', () => {
    const columns = resolveColumns(['Work Email', 'First Name', 'Surname', 'Email'], {
      email: 'Work Email',
      last_name: 'Surname',
    });
    expect(columns.fields).toEqual({ email: 'Work Email', first_name: 'First Name', last_name: 'Surname' });
  });

  it('finds a mapped column whose case differs from the mapping', () => {
    const columns = resolveColumns(['WORK EMAIL', 'First Name', 'Last Name'], { email: 'Work Email' });
    expect(columns.fields.email).toBe('WORK EMAIL');
  });

  it('names the missing required column and the columns it found', () => {
    const error = failure(['Work Email', 'First Name', 'Last Name', 'Dept']);
    expect(error.kind).toBe('MissingColumns');
    expect(error.message).toBe(
      'Missing required column `email`. Found: Work Email, First Name, Last Name, Dept',
    );
    expect(error.hint).toMatch(/header row.*field mapping/);
    expect(error.transient).toBe(false);
  });

  it('lists every missing required column', () => {
    expect(failure(['Work Email', 'Name', 'Dept']).message).toBe(
      'Missing required columns `email`, `first_name`, `last_name`. Found: Work Email, Name, Dept',
    );
  });

  it('says which mapped column was not found', () => {
    expect(failure(['Email', 'First Name', 'Last Name'], { email: 'Work Email' }).message).toBe(
      'Mapped column `Work Email` (for email) not found. Found: Email, First Name, Last Name',
    );
  });

  it('fails on a mapped optional column that is not there rather than dropping the field', () => {
    expect(failure(['Email', 'First Name', 'Last Name'], { employee_id: 'Worker ID' }).message).toBe(
      'Mapped column `Worker ID` (for employee_id) not found. Found: Email, First Name, Last Name',
    );
  });

  it('reports a missing mapped column and a missing required column together', () => {
    expect(failure(['Name', 'Last Name'], { email: 'Work Email' }).message).toBe(
      'Mapped column `Work Email` (for email) not found. Missing required column `first_name`. Found: Name, Last Name',
    );
  });

  it('refuses two headers that match one field, naming both', () => {
    const error = failure(['Email', 'E mail', 'First Name', 'Last Name']);
    expect(error.kind).toBe('MissingColumns');
    expect(error.message).toBe(
      'Columns `Email` and `E mail` both match email. Found: Email, E mail, First Name, Last Name',
    );
    expect(error.hint).toMatch(/Rename or remove one of the columns/);
  });

  it('refuses an ambiguous optional column too', () => {
    expect(failure(['Email', 'First Name', 'Last Name', 'Phone', 'PHONE']).message).toMatch(
      /^Columns `Phone` and `PHONE` both match phone\./,
    );
  });

  it('does not count a column the mapping took as a second match', () => {
    const columns = resolveColumns(['Email', 'email', 'First Name', 'Last Name'], { email: 'email' });
    expect(columns.fields.email).toBe('email');
  });

  it('says so when a file has no columns at all', () => {
    expect(failure([]).message).toBe(
      'Missing required columns `email`, `first_name`, `last_name`. Found: (no columns)',
    );
  });

  it('keeps the list of found columns short for a very wide header row', () => {
    const headers = Array.from({ length: 60 }, (_, i) => `Column ${i + 1}`);
    expect(failure(headers).message).toMatch(/Column 50 and 10 more$/);
  });

  describe("with the connector's default columns", () => {
    const WORKDAY = {
      employee_id: ['Employee_ID', 'Worker_ID'],
      email: ['Email_Address', 'Work_Email'],
      first_name: ['Legal_First_Name', 'First_Name'],
      last_name: ['Legal_Last_Name', 'Last_Name'],
    };

    it('reads a field the mapping and header names leave unresolved from the first default present', () => {
      const columns = resolveColumns(
        ['Worker_ID', 'Work_Email', 'Legal_First_Name', 'Last_Name'],
        {},
        WORKDAY,
      );
      expect(columns.fields).toEqual({
        employee_id: 'Worker_ID',
        email: 'Work_Email',
        first_name: 'Legal_First_Name',
        last_name: 'Last_Name',
      });
      expect(columns.key).toBe('employee_id');
    });

    it('prefers the mapping and the header-name match to a default', () => {
      const columns = resolveColumns(
        ['Email_Address', 'Personal_Email', 'Legal_First_Name', 'First Name', 'Legal_Last_Name'],
        { email: 'Personal_Email' },
        WORKDAY,
      );
      expect(columns.fields).toEqual({
        email: 'Personal_Email',
        first_name: 'First Name',
        last_name: 'Legal_Last_Name',
      });
    });

    it('never reads one column into two fields', () => {
      const columns = resolveColumns(
        ['Email_Address', 'First_Name', 'Last_Name'],
        {},
        {
          ...WORKDAY,
          manager_email: ['Email_Address'],
        },
      );
      expect(columns.fields.email).toBe('Email_Address');
      expect(columns.fields.manager_email).toBeUndefined();
    });

    it('still names a required field that no default matches', () => {
      try {
        resolveColumns(['Employee_ID', 'Legal_First_Name', 'Legal_Last_Name'], {}, WORKDAY);
        expect.unreachable('resolveColumns did not throw');
      } catch (error) {
        expect((error as SourceError).message).toMatch(/^Missing required column `email`\./);
      }
    });
  });
});
