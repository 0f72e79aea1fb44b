import { RUN_PAGE_SIZE_DEFAULT, type RunListFilter } from '@provisioning/shared';
import { infiniteQueryOptions, keepPreviousData } from '@tanstack/react-query';
import type { TRPCClient } from '@trpc/client';
import type { TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { AppRouter } from '../api/trpc.ts';

/**
 * The runs list of a filter, a page of 50 at a time. The client is called directly rather than through
 * tRPC's `infiniteQueryOptions`, which adds a `direction` key to the input that `runs.list`'s strict
 * schema refuses; the query key is tRPC's own, so the live feed and invalidations find it.
 */
export function runsQueryOptions(
  trpc: TRPCOptionsProxy<AppRouter>,
  client: TRPCClient<AppRouter>,
  filter: RunListFilter,
) {
  const input = { filter, limit: RUN_PAGE_SIZE_DEFAULT };
  return infiniteQueryOptions({
    queryKey: trpc.runs.list.infiniteQueryKey(input),
    queryFn: ({ pageParam, signal }) => client.runs.list.query({ ...input, cursor: pageParam }, { signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
    // A changed filter keeps the old rows on screen (dimmed) until the new ones arrive.
    placeholderData: keepPreviousData,
  });
}
