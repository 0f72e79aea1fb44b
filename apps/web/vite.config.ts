import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { readEnv } from './env.ts';

// Every command loads this file with `--configLoader runner`: it imports @provisioning/shared, whose
// exports are TypeScript sources, and the default loader hands that import to Node, which cannot run them.
const env = readEnv();

/**
 * The page takes only a type from the API (`import type { AppRouter }`, erased before bundling). A value
 * import from the API or another server package would still resolve, through the tsconfig path, and
 * bundle server code into the page, so it fails the build and the dev server instead.
 */
function serverCodeStaysOut(): Plugin {
  return {
    name: 'server-code-stays-out',
    enforce: 'pre',
    resolveId(source, importer) {
      if (/^@provisioning\/(api|cli|db|sync|testkit|worker)(\/|$)/.test(source)) {
        this.error(
          `${importer ?? 'the page'} imports ${source}: the page may import only types from the server`,
        );
      }
      return null;
    },
  };
}

export default defineConfig({
  plugins: [serverCodeStaysOut(), react()],
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
