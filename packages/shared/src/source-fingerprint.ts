import { z } from 'zod';
import { ConnectorSchema } from './connectors.ts';
import { noControlCharacters } from './text.ts';

/** The longest origin a fingerprint keeps: a host and a path (a server names its own files). */
export const SOURCE_ORIGIN_MAX_LENGTH = 1000;

/**
 * The exact source a run read: SHA-256 and size of the raw bytes as they came (the SFTP file as
 * downloaded; Workday's report or Get_Workers pages, Google's users.list pages, in order), where they
 * came from (never a credential or a query), and what the connector made of them. Stored on the run
 * (`sync_run.source`), shown by `runs show`, `runs.get` and the run's details.
 */
export const SourceFingerprintSchema = z.strictObject({
  connector: ConnectorSchema,
  /** `sftp://host/path`, or the URL read, without user info, query or fragment. */
  origin: z.string().min(1).max(SOURCE_ORIGIN_MAX_LENGTH).pipe(noControlCharacters('Origin')),
  /** Lower-case hex. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lower-case hex digits'),
  bytes: z.number().int().min(0),
  /** Records the connector handed on (inactive people left out). */
  records: z.number().int().min(0),
  /** Paged sources: the answers read, each part of the digest. */
  pages: z.number().int().min(1).optional(),
  /** Sources that leave inactive people out (Workday, Google Workspace): how many they left out. */
  leftOutInactive: z.number().int().min(0).optional(),
});
export type SourceFingerprint = z.infer<typeof SourceFingerprintSchema>;
