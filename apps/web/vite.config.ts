import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { readEnv } from './env.ts';

// Every command loads this file with `--configLoader runner`: it imports @provisioning/shared, whose
// exports are TypeScript sources, and the default loader hands that import to Node, which cannot run them.
const env = readEnv();

export default defineConfig({
  plugins: [react()],
  server: {
    host: env.HOST,
    port: env.PORT,
    strictPort: true,
    // The Host header is kept (changeOrigin: false): the API then sees the page's own origin, which its
    // cross-site check and its cookies expect.
    proxy: Object.fromEntries(
      ['/trpc', '/healthz', '/readyz', '/api'].map((path) => [
        path,
        { target: env.API_URL, changeOrigin: false },
      ]),
    ),
  },
  preview: { host: env.HOST, port: env.PORT, strictPort: true },
});
