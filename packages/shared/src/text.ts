import { z } from 'zod';

/** Control characters (newlines, NUL...) forge log lines, and PostgreSQL text and JSON refuse NUL. */
export const noControlCharacters = (label: string) =>
  z.string().regex(/^[^\p{Cc}]*$/u, `${label} must not contain control characters such as newlines`);

/** A required, trimmed, single-line text of at most `max` characters. */
export const singleLineText = (label: string, max: number) =>
  z
    .string({ error: `${label} must be text` })
    .trim()
    .min(1, `${label} is required`)
    .max(max, `${label} must be at most ${max} characters`)
    .pipe(noControlCharacters(label));
