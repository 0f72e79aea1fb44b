/** The sync benchmarks' bare baseline. */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { HR_COLUMNS, time } from '@provisioning/testkit';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** The bare baseline: COPY the same file's rows into an unindexed table. */
export async function copyBaseline(url: string, csvPath: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `drop table if exists bench_copy; create unlogged table bench_copy (${HR_COLUMNS.map((c) => `${c} text`).join(', ')})`,
    );
    const [, ms] = await time(() =>
      pipeline(
        createReadStream(csvPath),
        client.query(copyFrom('copy bench_copy from stdin with (format csv, header true)')),
      ),
    );
    return ms;
  } finally {
    await client.end();
  }
}
