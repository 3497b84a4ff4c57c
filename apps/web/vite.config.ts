import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dev server proxies the API paths to the API process, so the browser sees one origin: no CORS,
// and the same relative URLs work when the API serves the built files (`pnpm start`). The browser's
// Host goes through unchanged (a plain string target would rewrite it to the API's): the API accepts a
// cookie-authenticated write only from the origin the browser addressed (issue 21's CSRF check).
const api = { target: `http://127.0.0.1:${process.env.API_PORT ?? '8000'}`, changeOrigin: false };
const proxy = Object.fromEntries(['/v1', '/health', '/openapi.json', '/docs'].map((path) => [path, api]));

export default defineConfig({
  plugins: [react()],
  server: { port: Number(process.env.WEB_PORT ?? 5173), strictPort: true, proxy },
  preview: { port: Number(process.env.WEB_PORT ?? 5173), strictPort: true, proxy },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1200 },
});
