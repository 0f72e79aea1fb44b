/**
 * The source fingerprint's cost on an SFTP download: the one streamed SHA-256 pass over the downloaded
 * file that the connector makes (digestFile), on a 200 MB file, beside `sha256sum` of the same file (the
 * bare baseline) and a plain streamed read of it without hashing, in the same run; the file is read once
 * first so every pass finds it in the page cache, as the connector does right after downloading it.
 * Part of `pnpm bench:sync`; alone: `pnpm --filter @provisioning/sync exec tsx bench/fingerprint.bench.ts`.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from '@provisioning/testkit';
import { digestFile } from '../src/connectors/source-fingerprint.ts';

const FILE_BYTES = 200 * 1024 * 1024;
/** Passes of each; the median is reported (the machines are shared). */
const PASSES = 5;

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

function writeFile(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
  try {
    for (let written = 0; written < FILE_BYTES; written += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, FILE_BYTES - written));
    }
  } finally {
    closeSync(fd);
  }
}

async function plainRead(path: string): Promise<void> {
  for await (const _chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    // Read and dropped: the I/O the digest pass cannot avoid.
  }
}

function sha256sum(path: string): string {
  const result = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sha256sum failed: ${result.stderr}`);
  return result.stdout.split(' ')[0]!;
}

export interface FingerprintFigures {
  digestMs: number;
  sha256sumMs: number;
  plainReadMs: number;
}

/** Times the three passes over a fresh 200 MB file and checks the digests agree. */
export async function benchFingerprint(): Promise<FingerprintFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-fingerprint-'));
  try {
    const path = join(dir, 'source.bin');
    writeFile(path);
    await plainRead(path);
    const expected = sha256sum(path);
    const digest = [];
    const baseline = [];
    const plain = [];
    for (let pass = 0; pass < PASSES; pass++) {
      // Interleaved, so that a neighbour's load falls on all three alike.
      let sha256 = '';
      digest.push(await timed(async () => (sha256 = (await digestFile(path)).sha256)));
      if (sha256 !== expected) throw new Error(`digestFile gave ${sha256}, sha256sum ${expected}`);
      baseline.push(await timed(() => sha256sum(path)));
      plain.push(await timed(() => plainRead(path)));
    }
    return { digestMs: median(digest), sha256sumMs: median(baseline), plainReadMs: median(plain) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printFingerprintFigures(figures: FingerprintFigures): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rate = (ms: number) => `${(FILE_BYTES / 1024 / 1024 / (ms / 1000)).toFixed(0)} MB/s`;
  console.log(
    `\nSource fingerprint of a ${FILE_BYTES / 1024 / 1024} MB SFTP download (median of ${PASSES}), beside sha256sum`,
  );
  console.log('case                               time      rate    ratio to sha256sum');
  const row = (name: string, ms: number) =>
    console.log(
      `${name.padEnd(32)} ${s(ms).padStart(8)} ${rate(ms).padStart(10)}   ${(ms / figures.sha256sumMs).toFixed(2)}×`,
    );
  row('digestFile (the connector pass)', figures.digestMs);
  row('sha256sum (baseline)', figures.sha256sumMs);
  row('plain streamed read, no hash', figures.plainReadMs);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printFingerprintFigures(await benchFingerprint());
}
