import {
  ACCESS_DENIAL_MESSAGES,
  type AccessDenial,
  DomainError,
  type DomainErrorCode,
} from '@provisioning/shared';
import { initTRPC, type TRPC_ERROR_CODE_KEY, TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import type { Context } from './context.ts';

/** A refusal by the permission table; the page shows the reason's own explanation. */
export class AccessDeniedError extends TRPCError {
  readonly reason: AccessDenial;
  constructor(reason: AccessDenial) {
    const { title, action } = ACCESS_DENIAL_MESSAGES[reason];
    super({ code: 'FORBIDDEN', message: `${title}. ${action}` });
    this.reason = reason;
  }
}

/**
 * The one mapping of domain error codes to tRPC codes. HTTP statuses follow from tRPC's own table of its
 * codes, for procedures and for the routes outside tRPC alike (`domainErrorStatus`).
 */
const DOMAIN_TO_TRPC: Record<DomainErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_INPUT: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  FORBIDDEN: 'FORBIDDEN',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

export function toTRPCError(error: DomainError): TRPCError {
  return new TRPCError({ code: DOMAIN_TO_TRPC[error.code], message: error.message, cause: error });
}

/** The HTTP status a route outside tRPC (the log download) answers a domain error with: tRPC's. */
export function domainErrorStatus(error: DomainError): ContentfulStatusCode {
  return getHTTPStatusCodeFromError(toTRPCError(error)) as ContentfulStatusCode;
}

/** The domain error behind a failure, if any: thrown below, or a zod error of input parsing. */
function domainErrorOf(cause: unknown): DomainError | null {
  if (cause instanceof DomainError) return cause;
  return cause instanceof ZodError ? DomainError.fromZod(cause) : null;
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces, whatever NODE_ENV says.
  isDev: false,
  sse: {
    // Keeps proxies from closing a quiet live feed; the client reconnects when pings stop.
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 40_000 },
  },
  errorFormatter({ shape, error, ctx }) {
    // The code is the middleware's (baseProcedure, from DOMAIN_TO_TRPC); this picks the message and fields.
    const domain = domainErrorOf(error.cause);
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    return {
      code: shape.code,
      // Internal errors can carry SQL or file paths: the client gets a reference to the logs instead.
      message: internal
        ? `Something went wrong on our side. Reference: ${ctx?.requestId ?? 'unknown'}`
        : (domain?.message ?? shape.message),
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        fieldErrors: domain ? domain.fieldErrors : null,
        accessDenial: error instanceof AccessDeniedError ? error.reason : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Domain errors thrown below become their tRPC codes here, once for every procedure. */
export const baseProcedure = t.procedure.use(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DomainError) throw toTRPCError(result.error.cause);
  return result;
});

export { TRPCError };
