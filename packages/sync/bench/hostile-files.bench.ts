/**
 * `pnpm --filter @provisioning/sync bench:hostile`: peak RSS of loading the hostile files of security item 8
 * at full scale, each in a process of its own, next to a bare baseline (a process that loads the same code
 * and reads nothing). A load here is what a run does before planning: the file read as the SFTP connector
 * reads it after downloading (default settings: maxBytes 200 MB, so 2 GB unpacked), every record through
 * the normaliser. Target (DESIGN.md): a worker's peak RSS ≤ 512 MB, whatever the file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  longValueRows,
  writeEntityBomb,
  writeHrXlsx,
  writeSharedStringBomb,
  writeZipBomb,
} from '@provisioning/testkit';
import { SourceError } from '../src/connectors/source.ts';
import { resolveColumns } from '../src/engine/columns.ts';
import { createNormaliser } from '../src/engine/normalise.ts';
import { openTabularFile } from '../src/files/file-reader.ts';

const ROWS = 470_000;
/** What the SFTP connector allows a workbook to unpack to with the default maxBytes (200 MB × 10). */
const MAX_UNCOMPRESSED = 2 * 1024 ** 3;

const FILES = [
  {
    name: `${ROWS / 1000}k rows × 4 unique 1,000-char values`,
    file: 'long-values.xlsx',
    write: (path: string) => writeHrXlsx(path, { rows: longValueRows(ROWS) }),
  },
  {
    name: 'lying zip bomb, 1 GB in one cell',
    file: 'zip-bomb.xlsx',
    write: (path: string) => writeZipBomb(path, { unpackedBytes: 1024 ** 3, lie: true, inCell: true }),
  },
  {
    name: `shared string × ${ROWS / 1000}k rows × 4`,
    file: 'shared-string-bomb.xlsx',
    write: (path: string) => writeSharedStringBomb(path, { rows: ROWS, length: 1000 }),
  },
  { name: 'billion laughs (entities)', file: 'entity-bomb.xlsx', write: writeEntityBomb },
];

interface Outcome {
  rssMb: number;
  ms: number;
  rows: number;
  /** How the load ended: loaded, or the error's kind and message. */
  result: string;
}

/** The child side: one load, reporting its peak RSS. */
async function load(path: string | null): Promise<Outcome> {
  const started = performance.now();
  let rows = 0;
  let result = 'loaded';
  if (path !== null) {
    try {
      const table = await openTabularFile(path, { maxUncompressedBytes: MAX_UNCOMPRESSED }, path);
      try {
        const normaliser = createNormaliser(resolveColumns(table.headers), { text: table.textBudget });
        for await (const batch of table.batches) {
          for (const record of batch) normaliser.add(record);
          rows += batch.length;
        }
        normaliser.finish(() => false);
      } finally {
        await table.close();
      }
    } catch (error) {
      result =
        error instanceof SourceError
          ? `${error.kind}: ${error.message.replace(path, 'FILE')}`
          : `${(error as Error).name}: ${(error as Error).message}`;
    }
  }
  return { rssMb: process.resourceUsage().maxRSS / 1024, ms: performance.now() - started, rows, result };
}

function inChild(...args: string[]): Outcome {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) {
    return {
      rssMb: Number.NaN,
      ms: 0,
      rows: 0,
      result: `process failed: ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    };
  }
  return JSON.parse(child.stdout.trim().split('\n').pop() as string) as Outcome;
}

if (process.argv[2] === '--generate') {
  const [, , , dir, file] = process.argv;
  await FILES.find((f) => f.file === file)?.write(join(dir as string, file as string));
  process.exit(0);
}
if (process.argv[2] === '--load') {
  console.log(JSON.stringify(await load(process.argv[3] === '-' ? null : (process.argv[3] as string))));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'bench-hostile-'));
try {
  const baseline = inChild('--load', '-');
  console.log('Hostile files, loaded as a run loads them (read + normalise), each in its own process');
  console.log(`bare baseline (same code, nothing read): peak RSS ${baseline.rssMb.toFixed(0)} MB\n`);
  for (const { name, file } of FILES) {
    const path = join(dir, file);
    // Generated in a process of its own: the writers' memory is not the reader's.
    const made = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1] as string, '--generate', dir, file],
      {
        stdio: 'inherit',
      },
    );
    if (made.status !== 0) throw new Error(`writing ${file} failed`);
    const outcome = inChild('--load', path);
    const size = statSync(path).size / 1024 ** 2;
    console.log(
      `${name.padEnd(42)} ${`${size.toFixed(1)} MB`.padStart(9)}  peak RSS ${`${outcome.rssMb.toFixed(0)} MB`.padStart(7)} ` +
        `(${(outcome.rssMb - baseline.rssMb).toFixed(0)} MB over baseline, ${outcome.rssMb <= 512 ? 'within' : 'OVER'} 512 MB)  ` +
        `${(outcome.ms / 1000).toFixed(1)} s, ${outcome.rows} rows read\n    → ${outcome.result.slice(0, 200)}`,
    );
    rmSync(path, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
