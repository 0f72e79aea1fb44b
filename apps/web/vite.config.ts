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
    // The Host header is kept (changeOrigin: false): the API then sees the page's own origin, which its
    // cross-site check and its cookies expect.
    proxy: Object.fromEntries(
      ['/trpc', '/healthz', '/readyz', '/api'].map((path) => [path, { target: apiUrl, changeOrigin: false }]),
    ),
  },
  preview: { host: '127.0.0.1', port, strictPort: true },
});
