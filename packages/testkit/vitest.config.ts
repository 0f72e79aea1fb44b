import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The kit's SFTP server and file generators are tested where they live (@provisioning/sample-source);
  // what is tested here is the benchmarks' timing helpers.
  test: { environment: 'node' },
});
