import {
  RUN_STATUSES,
  type RunListFilter,
  type RunListFilterInput,
  RunListFilterSchema,
} from '@provisioning/shared';

/** The URL parameter of each filter field; `status` repeats, one per selected status. */
export const FILTER_PARAMS = {
  range: 'range',
  from: 'from',
  to: 'to',
  sort: 'sort',
  configurationId: 'configuration',
  statuses: 'status',
} as const satisfies Record<keyof RunListFilter, string>;

type FilterKey = keyof typeof FILTER_PARAMS;

/**
 * Why a value was left out, in the page's words: the schema's own messages (shown for bad days, which are
 * already plain) name the API's machine values.
 */
const REASONS: Partial<Record<FilterKey, string>> = {
  range: 'the choices are All Time, Last 7 Days, Last 30 Days and Custom.',
  sort: 'the choices are Newest first and Oldest first.',
  statuses: 'it is not a run status.',
  configurationId: 'it is not a configuration ID.',
};

const FIELD_LABELS: Record<FilterKey, string> = {
  range: 'Date range',
  from: 'First day',
  to: 'Last day',
  sort: 'Sort order',
  configurationId: 'Configuration',
  statuses: 'Status',
};

export const DEFAULT_FILTER: RunListFilter = RunListFilterSchema.parse({});

export interface ParsedFilter {
  filter: RunListFilter;
  /** What the URL asked for that could not be used, one sentence each; empty when everything was fine. */
  ignored: string[];
}

type RawFilter = { -readonly [K in FilterKey]?: K extends 'statuses' ? string[] : string };

/**
 * The runs filter a page URL describes, parsed with the same schema as the API's input. A value that
 * does not parse is dropped on its own (a bad status keeps the good ones; a custom range without a valid
 * first and last day falls back to All Time), and each drop is reported so the page can say so.
 */
export function filterFromSearch(search: string | URLSearchParams): ParsedFilter {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const raw: RawFilter = {};
  for (const key of ['range', 'from', 'to', 'sort', 'configurationId'] as const) {
    const value = params.get(FILTER_PARAMS[key]);
    if (value !== null) raw[key] = value;
  }
  const statuses = params.getAll(FILTER_PARAMS.statuses);
  if (statuses.length > 0) raw.statuses = statuses;

  const ignored: string[] = [];
  // Each round drops at least one value, so this ends; the bound only guards against a schema surprise.
  for (let round = 0; round < 20; round++) {
    const result = RunListFilterSchema.safeParse(raw as RunListFilterInput);
    if (result.success) return { filter: result.data, ignored };
    const badStatuses = new Set<number>();
    const dropped = new Set<FilterKey>();
    for (const issue of result.error.issues) {
      const [key, index] = issue.path as [FilterKey | undefined, unknown];
      if (key === undefined || !(key in FILTER_PARAMS)) {
        return { filter: DEFAULT_FILTER, ignored: [...ignored, issue.message] };
      }
      if (key === 'statuses' && typeof index === 'number') {
        badStatuses.add(index);
        ignored.push(`Status “${raw.statuses?.[index]}” ignored: ${REASONS.statuses}`);
        continue;
      }
      if ((key === 'from' || key === 'to') && raw.range === 'custom') {
        // A custom range needs both days: without them the whole range goes, back to All Time.
        for (const part of ['range', 'from', 'to'] as const) dropped.add(part);
        ignored.push(`Custom date range ignored: ${sentence(issue.message)}`);
        continue;
      }
      if (key === 'range') for (const part of ['from', 'to'] as const) dropped.add(part);
      dropped.add(key);
      const value = raw[key];
      ignored.push(
        `${FIELD_LABELS[key]} “${Array.isArray(value) ? value.join(', ') : value}” ignored: ${REASONS[key] ?? sentence(issue.message)}`,
      );
    }
    if (badStatuses.size > 0 && raw.statuses) {
      raw.statuses = raw.statuses.filter((_, index) => !badStatuses.has(index));
    }
    for (const key of dropped) delete raw[key];
  }
  return { filter: DEFAULT_FILTER, ignored: [...ignored, 'The filters in the link were reset.'] };
}

/** A message as a sentence: one full stop at the end. */
function sentence(message: string): string {
  return message.endsWith('.') ? message : `${message}.`;
}

/**
 * The URL search string of a filter: only what differs from the defaults, in a fixed order (statuses in
 * their display order), so one filter has one URL. Parameters that are not filters (`run`) are kept.
 */
export function searchFromFilter(filter: RunListFilter, current: string | URLSearchParams = ''): string {
  const params = new URLSearchParams(current);
  for (const name of Object.values(FILTER_PARAMS)) params.delete(name);
  const rest = [...params.entries()];
  const out = new URLSearchParams();
  if (filter.range !== DEFAULT_FILTER.range) out.set(FILTER_PARAMS.range, filter.range);
  if (filter.range === 'custom') {
    if (filter.from) out.set(FILTER_PARAMS.from, filter.from);
    if (filter.to) out.set(FILTER_PARAMS.to, filter.to);
  }
  if (filter.sort !== DEFAULT_FILTER.sort) out.set(FILTER_PARAMS.sort, filter.sort);
  if (filter.configurationId) out.set(FILTER_PARAMS.configurationId, filter.configurationId);
  for (const status of RUN_STATUSES) {
    if (filter.statuses.includes(status)) out.append(FILTER_PARAMS.statuses, status);
  }
  for (const [name, value] of rest) out.append(name, value);
  const text = out.toString();
  return text === '' ? '' : `?${text}`;
}

/** Whether any filter differs from the defaults (sort included: it has a pill too). */
export function hasActiveFilters(filter: RunListFilter): boolean {
  return searchFromFilter(filter) !== '';
}
