import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError, parseInput } from './errors.ts';

const Schema = z.object({
  name: z.string().min(1, 'Name is required').max(3, 'Name is too long'),
  address: z.object({ city: z.string({ error: 'City is required' }) }),
  tags: z.array(z.string({ error: 'Tag must be text' })),
});

function zodError(value: unknown, schema: z.ZodType = Schema): z.ZodError {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be invalid');
  return result.error;
}

describe('DomainError.fromZod', () => {
  it('collects field errors by their dotted path', () => {
    const error = DomainError.fromZod(zodError({ name: '', address: {}, tags: ['ok', 7] }));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DomainError');
    expect(error.code).toBe('BAD_INPUT');
    expect(error.fieldErrors).toEqual({
      name: ['Name is required'],
      'address.city': ['City is required'],
      'tags.1': ['Tag must be text'],
    });
  });

  it('keeps every problem of one field, in order', () => {
    const schema = z.object({
      code: z
        .string()
        .min(3, 'Code is too short')
        .regex(/^[A-Z]+$/, 'Code must be capitals'),
    });
    expect(DomainError.fromZod(zodError({ code: 'a' }, schema)).fieldErrors).toEqual({
      code: ['Code is too short', 'Code must be capitals'],
    });
  });

  it('files problems with the whole value under (root)', () => {
    const error = DomainError.fromZod(zodError(42, z.string({ error: 'Must be text' })));
    expect(error.fieldErrors).toEqual({ '(root)': ['Must be text'] });
    expect(error.message).toBe('Input is not valid:\n  Must be text');
  });

  it('names what was being parsed and every bad field in the message', () => {
    const error = DomainError.fromZod(zodError({ name: 'long', address: {}, tags: [] }), 'Organisation');
    expect(error.message).toBe(
      'Organisation is not valid:\n  name: Name is too long\n  address.city: City is required',
    );
  });

  it('reports a record key named like an Object member ("constructor") as a field error', () => {
    const schema = z.record(z.string(), z.number({ error: 'Must be a number' }));
    const error = DomainError.fromZod(zodError(JSON.parse('{"constructor": "x", "toString": "y"}'), schema));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.fieldErrors).toEqual({ constructor: ['Must be a number'], toString: ['Must be a number'] });
  });

  it('keeps a "__proto__" path as an own field and leaves the prototype alone', () => {
    const error = DomainError.fromZod(
      new z.ZodError([{ code: 'custom', path: ['__proto__'], message: 'Not allowed', input: 'x' }]),
    );
    expect(Object.getPrototypeOf(error.fieldErrors)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(error.fieldErrors, '__proto__')?.value).toEqual(['Not allowed']);
    expect(error.message).toBe('Input is not valid:\n  __proto__: Not allowed');
  });
});

describe('parseInput', () => {
  it('returns the parsed value, defaults applied', () => {
    expect(parseInput(z.object({ n: z.number().default(3) }), {})).toEqual({ n: 3 });
  });

  it('throws a BAD_INPUT DomainError naming each bad field', () => {
    let thrown: unknown;
    try {
      parseInput(Schema, { name: '', address: { city: 'Leeds' }, tags: [] }, 'Account');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as DomainError).code).toBe('BAD_INPUT');
    expect((thrown as DomainError).fieldErrors).toEqual({ name: ['Name is required'] });
    expect((thrown as DomainError).message).toBe('Account is not valid:\n  name: Name is required');
  });
});
