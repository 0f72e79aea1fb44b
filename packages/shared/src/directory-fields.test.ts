import { describe, expect, it } from 'vitest';
import {
  DIRECTORY_FIELD_LABELS,
  DIRECTORY_FIELD_TABLE,
  DIRECTORY_FIELDS,
  fullName,
  RECORD_PROPERTIES,
  REQUIRED_DIRECTORY_FIELDS,
} from './directory-fields.ts';

describe('the directory field table', () => {
  it('names every field, property and column once', () => {
    for (const key of ['field', 'property', 'column', 'label'] as const) {
      const values = DIRECTORY_FIELD_TABLE.map((entry) => entry[key]);
      expect(new Set(values).size, key).toBe(values.length);
    }
  });

  it('derives the field list, the required fields, the properties and the labels in its own order', () => {
    expect(DIRECTORY_FIELDS).toEqual([
      'employee_id',
      'email',
      'first_name',
      'last_name',
      'job_title',
      'department',
      'location',
      'manager_email',
      'employee_number',
      'phone',
      'start_date',
    ]);
    expect(REQUIRED_DIRECTORY_FIELDS).toEqual(['email', 'first_name', 'last_name']);
    expect(RECORD_PROPERTIES.employee_id).toBe('externalId');
    expect(RECORD_PROPERTIES.manager_email).toBe('managerEmail');
    expect(Object.keys(RECORD_PROPERTIES)).toEqual(DIRECTORY_FIELDS);
    expect(DIRECTORY_FIELD_LABELS.start_date).toBe('Start date');
  });
});

describe('fullName', () => {
  it('joins the first and last name, without a space at either end when one is empty', () => {
    expect(fullName({ firstName: 'Ada', lastName: 'Lovelace' })).toBe('Ada Lovelace');
    expect(fullName({ firstName: 'Ada', lastName: '' })).toBe('Ada');
  });
});
