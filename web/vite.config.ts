import { defineConfig } from 'vite';

// The built files go to dist/, which the atelier binary serves (WEB_DIR). Hashed names under
// assets/ are cached for a year; index.html is revalidated on every load.
export default defineConfig({
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // Nothing inlined as data: URLs (the page's Content-Security-Policy allows none).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev`: the API of a server started with ./dev run.
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
