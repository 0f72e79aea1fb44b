import { describe, expect, it } from 'vitest';
import { createInterner, internRepeating } from './intern.ts';

describe('createInterner', () => {
  it('gives back each value as it was, and null as null, past the number of values it keeps', () => {
    const intern = createInterner();
    const values = Array.from({ length: 60_000 }, (_, i) => `Department ${i % 55_000}`);
    expect(values.map((value) => intern(value))).toEqual(values);
    expect(intern(null)).toBeNull();
  });

  it('counts the characters of each value it gives back as a copy it already holds', () => {
    const intern = createInterner();
    intern('Sales');
    intern('Engineering');
    expect(intern.reused).toBe(0);
    intern('Sales');
    intern(`Sal${'es'}`);
    expect(intern.reused).toBe(10);
  });
});

describe('internRepeating', () => {
  it('leaves every field of a record equal, the unique ones untouched', () => {
    const record = {
      externalId: 'E1',
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      jobTitle: 'Engineer',
      department: null,
      location: 'London',
      managerEmail: 'grace@example.com',
      employeeNumber: '0001',
      phone: null,
      startDate: '2024-01-15',
    };
    const copy = { ...record };
    internRepeating(record, createInterner());
    expect(record).toEqual(copy);
  });
});
