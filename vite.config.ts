import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/** Vite's dev server injects CSS as inline <style>; production builds keep the strict policy. */
function relaxStyleCspInDev(): Plugin {
  return {
    name: 'sightline-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace(/style-src ([^;"]*)/, (match, sources: string) => (sources.includes("'unsafe-inline'") ? match : `style-src ${sources} 'unsafe-inline'`)),
  };
}

// The renderer is a static bundle served by `sightline serve` (web mode) or loaded by Electron from disk.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react(), relaxStyleCspInDev()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: 'es' },
  server: {
    // `npm run dev:web`: proxy the API to a running `sightline serve` on the default port.
    proxy: {
      '/api/call': { target: 'http://127.0.0.1:8808' },
      '/api/upload': { target: 'http://127.0.0.1:8808' },
      '/api/events': { target: 'ws://127.0.0.1:8808', ws: true },
    },
  },
});
