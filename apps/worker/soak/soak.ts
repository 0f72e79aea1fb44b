/**
 * `pnpm soak [--minutes 20] [--organisations 10] [--users 50000] [--churn 0.05] [--seed 1]
 * [--stale-after 30]`: see soak-run.ts. Needs PostgreSQL (DATABASE_URL or 127.0.0.1:5432); uses a
 * database of its own, dropped at the end. Exits 1 when a check fails, 2 on a bad flag.
 */
import { parseArgs } from 'node:util';
import { formatSoakReport, runSoak } from './soak-run.ts';

const USAGE =
  'usage: pnpm soak [--minutes 1-600] [--organisations 1-50] [--users 10-500000] [--churn 0.001-0.5] [--seed N] [--stale-after 15-3600]';

function numberFlag(
  values: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
) {
  const text = values[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    console.error(`--${name} must be a number from ${min} to ${max}, not "${text.slice(0, 40)}"\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

let values: Record<string, string | undefined>;
try {
  values = parseArgs({
    options: {
      minutes: { type: 'string' },
      organisations: { type: 'string' },
      users: { type: 'string' },
      churn: { type: 'string' },
      seed: { type: 'string' },
      'stale-after': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

const minutes = numberFlag(values, 'minutes', 20, 1, 600);
const started = Date.now();
const report = await runSoak({
  minutes,
  organisations: Math.round(numberFlag(values, 'organisations', 10, 1, 50)),
  users: Math.round(numberFlag(values, 'users', 50_000, 10, 500_000)),
  churn: numberFlag(values, 'churn', 0.05, 0.001, 0.5),
  seed: Math.round(numberFlag(values, 'seed', 1, 0, 2 ** 31)),
  staleAfterSeconds: Math.round(numberFlag(values, 'stale-after', 30, 15, 3600)),
  killEverySeconds: [30, 90],
  log: (line) => console.log(`[soak ${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`),
});
console.log(`\n${formatSoakReport(report)}`);
console.log(`soak took ${((Date.now() - started) / 60_000).toFixed(1)} min`);
process.exit(report.passed ? 0 : 1);
