import { join } from 'node:path';
import { generateHrRows, type HrRow, writeHrCsv } from '@provisioning/sample-source';

function renumber(rows: HrRow[], prefix: string, idPrefix: string): HrRow[] {
  return rows.map((row, i) => ({
    ...row,
    employee_id: `${idPrefix}${String(i + 1).padStart(5, '0')}`,
    email: `${prefix}.${i + 1}@demo.example`,
    manager_email: '',
  }));
}

/**
 * The files the demo server serves under `outbound/`, one per outcome the demo configurations show.
 */
export async function writeSampleFiles(outbound: string): Promise<void> {
  // A clean export: every row valid, managers inside the file.
  await writeHrCsv(join(outbound, 'employees_20240115.csv'), { rows: 200, seed: 3 });
  // Contractors: two invalid emails and one email twice (in another case) → Needs Attention.
  const contractors = renumber(generateHrRows(60, 5), 'contractor', 'C');
  (contractors[7] as HrRow).email = 'not-an-email';
  (contractors[19] as HrRow).email = 'contractor.20@demo';
  (contractors[33] as HrRow).email = 'CONTRACTOR.12@demo.example';
  await writeHrCsv(join(outbound, 'contractors.csv'), { rows: contractors });
  // An acquired company's feed that lost most of its people: far above its deactivation threshold.
  await writeHrCsv(join(outbound, 'acquired.csv'), {
    rows: renumber(generateHrRows(80, 9), 'acquired', 'A'),
  });
}
