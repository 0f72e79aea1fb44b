import type { z } from 'zod';

/** The small set of domain error codes; the API maps each to a tRPC code (and so an HTTP status) in one table. */
export const DOMAIN_ERROR_CODES = ['BAD_INPUT', 'NOT_FOUND', 'CONFLICT', 'FORBIDDEN', 'UNAVAILABLE'] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  /** Field path → problems, for input errors. */
  readonly fieldErrors: Record<string, string[]>;

  constructor(code: DomainErrorCode, message: string, fieldErrors: Record<string, string[]> = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.fieldErrors = fieldErrors;
  }

  static fromZod(error: z.ZodError, what = 'Input'): DomainError {
    // A Map, not a plain object: a path such as "constructor" or "__proto__" (a record key taken from the
    // input) would otherwise read Object.prototype's member and crash instead of reporting BAD_INPUT.
    const byField = new Map<string, string[]>();
    for (const issue of error.issues) {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      byField.set(key, [...(byField.get(key) ?? []), issue.message]);
    }
    const summary = [...byField]
      .map(([field, messages]) =>
        field === '(root)' ? messages.join('; ') : `${field}: ${messages.join('; ')}`,
      )
      .join('\n  ');
    return new DomainError('BAD_INPUT', `${what} is not valid:\n  ${summary}`, Object.fromEntries(byField));
  }
}

/** Parses with a zod schema; a failure becomes a BAD_INPUT DomainError naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw DomainError.fromZod(result.error, what);
  return result.data;
}
