import { DOMAIN_ERROR_CODES, DomainError, type DomainErrorCode } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { domainErrorStatus, toTRPCError } from './trpc.ts';

describe('domain error mapping', () => {
  it('answers each domain error code with one tRPC code and that code’s HTTP status', () => {
    const expected: Record<DomainErrorCode, [string, number]> = {
      BAD_INPUT: ['BAD_REQUEST', 400],
      NOT_FOUND: ['NOT_FOUND', 404],
      CONFLICT: ['CONFLICT', 409],
      FORBIDDEN: ['FORBIDDEN', 403],
      UNAVAILABLE: ['SERVICE_UNAVAILABLE', 503],
    };
    for (const code of DOMAIN_ERROR_CODES) {
      const error = new DomainError(code, 'message');
      expect([toTRPCError(error).code, domainErrorStatus(error)], code).toEqual(expected[code]);
    }
  });
});
