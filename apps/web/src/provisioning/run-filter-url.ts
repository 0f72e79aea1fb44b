import {
  CONNECTOR_LABELS,
  CONNECTORS,
  RUN_STATUSES,
  type RunListFilter,
  type RunListFilterInput,
  RunListFilterSchema,
} from '@provisioning/shared';

/** The URL parameter of each filter field; `status` and `source` repeat, one per selected value. */
export const FILTER_PARAMS = {
  range: 'range',
  from: 'from',
  to: 'to',
  sort: 'sort',
  configurationId: 'configuration',
  statuses: 'status',
  sources: 'source',
} as const satisfies Record<keyof RunListFilter, string>;

type FilterKey = keyof typeof FILTER_PARAMS;

/** The filters that hold a list, one URL parameter per value. */
const LIST_KEYS = ['statuses', 'sources'] as const;
type ListKey = (typeof LIST_KEYS)[number];
const isListKey = (key: FilterKey): key is ListKey => (LIST_KEYS as readonly string[]).includes(key);

/**
 * Why a value was left out, in the page's words: the schema's own messages (shown for bad days, which are
 * already plain) name the API's machine values.
 */
const REASONS: Partial<Record<FilterKey, string>> = {
  range: 'the choices are All Time, Last 7 Days, Last 30 Days and Custom.',
  sort: 'the choices are Newest first and Oldest first.',
  statuses: 'it is not a run status.',
  sources: `the choices are ${listOf(CONNECTORS.map((source) => CONNECTOR_LABELS[source]))}.`,
  configurationId: 'it is not a configuration ID.',
};

const FIELD_LABELS: Record<FilterKey, string> = {
  range: 'Date range',
  from: 'First day',
  to: 'Last day',
  sort: 'Sort order',
  configurationId: 'Configuration',
  statuses: 'Status',
  sources: 'Source',
};

/** Filter names in the plural, for a list dropped whole. */
const LIST_LABELS: Record<ListKey, string> = { statuses: 'Statuses', sources: 'Sources' };

/** A value from the URL as the notice quotes it: a long one (pasted, hostile) is cut short. */
const QUOTE_MAX = 40;
function quoted(value: string): string {
  return `“${value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value}”`;
}

/** `A, B and C`. */
function listOf(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

export const DEFAULT_FILTER: RunListFilter = RunListFilterSchema.parse({});

export interface ParsedFilter {
  filter: RunListFilter;
  /** What the URL asked for that could not be used, one sentence each; empty when everything was fine. */
  ignored: string[];
}

type RawFilter = { -readonly [K in FilterKey]?: K extends ListKey ? string[] : string };

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
  for (const key of LIST_KEYS) {
    const values = params.getAll(FILTER_PARAMS[key]);
    if (values.length > 0) raw[key] = values;
  }

  const ignored: string[] = [];
  // Each round drops at least one value, so this ends; the bound only guards against a schema surprise.
  for (let round = 0; round < 20; round++) {
    const result = RunListFilterSchema.safeParse(raw as RunListFilterInput);
    if (result.success) return { filter: result.data, ignored };
    const badItems: Record<ListKey, Set<number>> = { statuses: new Set(), sources: new Set() };
    const dropped = new Set<FilterKey>();
    for (const issue of result.error.issues) {
      const [key, index] = issue.path as [FilterKey | undefined, unknown];
      if (key === undefined || !(key in FILTER_PARAMS)) {
        return { filter: DEFAULT_FILTER, ignored: [...ignored, issue.message] };
      }
      if (isListKey(key)) {
        if (typeof index === 'number') {
          // One bad value: the others of the list stay.
          badItems[key].add(index);
          ignored.push(`${FIELD_LABELS[key]} ${quoted(raw[key]?.[index] ?? '')} ignored: ${REASONS[key]}`);
        } else {
          // The list itself (too long to be real): it goes whole.
          dropped.add(key);
          ignored.push(`${LIST_LABELS[key]} ignored: ${sentence(issue.message)}`);
        }
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
      ignored.push(
        `${FIELD_LABELS[key]} ${quoted(raw[key] ?? '')} ignored: ${REASONS[key] ?? sentence(issue.message)}`,
      );
    }
    for (const key of LIST_KEYS) {
      if (badItems[key].size > 0) raw[key] = raw[key]?.filter((_, index) => !badItems[key].has(index));
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
 * The URL search string of a filter: only what differs from the defaults, in a fixed order (statuses and
 * sources in their display order), so one filter has one URL. Parameters that are not filters (`run`) are kept.
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
  for (const source of CONNECTORS) {
    if (filter.sources.includes(source)) out.append(FILTER_PARAMS.sources, source);
  }
  for (const [name, value] of rest) out.append(name, value);
  const text = out.toString();
  return text === '' ? '' : `?${text}`;
}

/** Whether any filter differs from the defaults (sort included: it has a pill too). */
export function hasActiveFilters(filter: RunListFilter): boolean {
  return searchFromFilter(filter) !== '';
}
