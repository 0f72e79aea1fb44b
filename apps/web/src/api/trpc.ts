import type { AppRouter } from '@provisioning/api/router';
import type { AccessDenial } from '@provisioning/shared';
import { QueryCache, QueryClient } from '@tanstack/react-query';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { createTRPCContext } from '@trpc/tanstack-react-query';

export type { AppRouter };
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type Me = NonNullable<RouterOutputs['auth']['me']>;
export type ConfigurationChoice = RouterOutputs['configurations']['list'][number];

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Same origin as the page: Vite's dev server proxies /trpc, and in production the API serves the page. */
export function createClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === 'subscription',
        // Server-sent events; on a dropped connection it reconnects with the last event ID, and the server
        // replays what was missed.
        true: httpSubscriptionLink({ url: '/trpc' }),
        false: httpBatchLink({ url: '/trpc' }),
      }),
    ],
  });
}

type ClientError = TRPCClientError<AppRouter>;

function asClientError(error: unknown): ClientError | null {
  return error instanceof TRPCClientError ? (error as ClientError) : null;
}

/** The tRPC error code of a failed call (`UNAUTHORIZED`, `FORBIDDEN`...), or null for a network failure. */
export function errorCode(error: unknown): string | null {
  return asClientError(error)?.data?.code ?? null;
}

/** Why the permission table refused a call, when it did. */
export function accessDenialOf(error: unknown): AccessDenial | null {
  return asClientError(error)?.data?.accessDenial ?? null;
}

/** A message a person can act on: the API's own, or what a failed connection means. */
export function errorMessage(error: unknown): string {
  const clientError = asClientError(error);
  if (clientError?.data) return clientError.message;
  return 'The server could not be reached. Check your connection and try again.';
}

/** Codes that another try will not change. */
const FINAL_CODES = new Set([
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'TOO_MANY_REQUESTS',
  'CONFLICT',
]);

/** Whether trying the same call again may work (a network failure, a server error). */
export function isRetryable(error: unknown): boolean {
  return !FINAL_CODES.has(errorCode(error) ?? '');
}

/**
 * `onSessionChanged` runs when any call answers UNAUTHORIZED (the session expired or was revoked) or a
 * permission refusal (the organisation's conditions changed): the page then asks `auth.me` again.
 */
export function createQueryClient(onSessionChanged: (client: QueryClient) => void): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError(error) {
        const code = errorCode(error);
        if (code === 'UNAUTHORIZED' || accessDenialOf(error) !== null) onSessionChanged(client);
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        // The live feed keeps the runs fresh; a focus refetch would only repeat it.
        refetchOnWindowFocus: false,
        retry: (failures, error) => isRetryable(error) && failures < 2,
      },
    },
  });
  return client;
}
