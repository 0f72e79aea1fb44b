import { z } from 'zod';
import type { Connector } from './connectors.ts';
import { RunCursorSchema } from './run-list.ts';
import type { FieldChanges, LogAction, LogOutcome, RunStatus } from './run-status.ts';

/**
 * The longest email or external ID the person index keeps and a search may name: longer keys are not
 * indexed (no real email is over 254 characters), and a longer query could not match.
 */
export const PERSON_KEY_MAX = 320;

/** Log actions that change or skip a person: their lines are indexed for the person's history. */
export const PERSON_HISTORY_ACTIONS = [
  'create',
  'update',
  'reactivate',
  'deactivate',
  'skip',
] as const satisfies readonly LogAction[];

/** A person's key as the index keeps it and a search matches it: trimmed, lower-cased. */
export function personKey(value: string): string {
  return value.trim().toLowerCase();
}

export const PERSON_HISTORY_PAGE_SIZE = 25;

/** `people.history`'s input, and the page's `?person=` once trimmed. */
export const PersonHistoryInputSchema = z.strictObject({
  /** An exact email or external ID, either case; no pattern: `%`, `_` and `*` are ordinary characters. */
  query: z
    .string({ error: 'Enter an email or external ID' })
    .max(PERSON_KEY_MAX * 4, {
      error: `An email or external ID is at most ${PERSON_KEY_MAX} characters`,
      abort: true,
    })
    .trim()
    .min(1, 'Enter an email or external ID')
    .max(PERSON_KEY_MAX, `An email or external ID is at most ${PERSON_KEY_MAX} characters`)
    // PostgreSQL text holds no NUL, and no key the index keeps has a control character (the sync cleans them).
    .regex(
      /^[^\p{Cc}]*$/u,
      'An email or external ID has no control characters (such as NUL or a line break)',
    ),
  /** The `nextCursor` of the previous page. */
  cursor: RunCursorSchema.nullish(),
});
export type PersonHistoryInput = z.input<typeof PersonHistoryInputSchema>;

/** One log line of a run that changed or skipped the person. */
export interface PersonHistoryEntry {
  run: {
    id: string;
    queuedAt: string;
    startedAt: string | null;
    status: RunStatus;
    configurationName: string;
    connector: Connector;
  };
  /** The line's place in the run's log. */
  seq: number;
  /** The keys the line is indexed by: lower-cased. */
  externalId: string | null;
  email: string | null;
  name: string | null;
  action: LogAction;
  outcome: LogOutcome;
  changes: FieldChanges | null;
  message: string | null;
}

export interface PersonHistoryPage {
  /** The query as searched (trimmed). */
  query: string;
  entries: PersonHistoryEntry[];
  nextCursor: string | null;
}
