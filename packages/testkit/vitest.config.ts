import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The kit's SFTP server and file generators are tested where they live (@provisioning/sample-source);
  // what is left here has no tests of its own yet, which is not a failure.
  test: { environment: 'node', passWithNoTests: true },
});
