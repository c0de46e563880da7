/**
 * Vite build of the web client (web/ -> dist/web/), run by scripts/build.mjs when web/ changed. Preact's JSX
 * through Vite's own transform (no Babel plugin); hashed file names under /assets/ (the server caches them for a
 * year); the crypto's WebAssembly is an asset of the build, fetched from our own origin. No dev-only inline scripts
 * reach the build, so the server's Content-Security-Policy can forbid inline scripts.
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The crypto's WebAssembly is ~5 MB: warn only above that.
    chunkSizeWarningLimit: 6000,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
