import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const target = process.env.PALISADE_URL ?? 'http://127.0.0.1:8080';

// `npm run build` writes the console to dist/web, which `palisade serve` serves at /.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  // The server puts a fresh nonce in place of this placeholder in every index.html it sends
  // (src/web/console.ts); Vite stamps it on the tags it writes and on <meta property="csp-nonce">,
  // where the app reads it for the style elements Mantine adds at run time.
  html: { cspNonce: 'PALISADE_CSP_NONCE' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // The size budget (250 KB gzip of initial JavaScript) is checked by bench/console.ts.
    chunkSizeWarningLimit: 800,
    sourcemap: false,
  },
  server: {
    // `npm run web:dev`: the console with hot reload against a running `palisade serve`.
    proxy: Object.fromEntries(
      ['/api', '/sso', '/docs', '/openapi.json', '/setup', '/reset-password', '/verify-email', '/invitations'].map(
        (p) => [p, { target, changeOrigin: false }],
      ),
    ),
  },
});
