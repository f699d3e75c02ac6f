import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run build -w dashboard` writes dist/, which the server serves at /. `npm run dev -w
// dashboard` serves the sources with hot reload and sends /api (and the stream) to a running
// server on :8080.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // MapLibre and ECharts are large on their own; the split below keeps each cacheable.
    chunkSizeWarningLimit: 2500,
  },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
