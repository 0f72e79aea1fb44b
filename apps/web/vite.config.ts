import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Build configuration, not app code: the page itself never sees these variables.
const port = Number(process.env.PORT ?? 5173);
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  throw new Error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
}
const apiUrl = process.env.API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    host: '127.0.0.1',
    port,
    strictPort: true,
    proxy: Object.fromEntries(['/trpc', '/healthz', '/readyz', '/api'].map((path) => [path, apiUrl])),
  },
  preview: { host: '127.0.0.1', port, strictPort: true },
});
