import react from '@vitejs/plugin-react';
import { defineProject } from 'vitest/config';

/** Component tests: React in jsdom, the API faked at `fetch`. */
export default defineProject({
  plugins: [react()],
  test: {
    name: 'web',
    root: import.meta.dirname,
    include: ['src/**/*.test.tsx'],
    environment: './src/test/jsdom-environment.ts',
    setupFiles: ['./src/test/setup.ts'],
    testTimeout: 15_000,
  },
});
