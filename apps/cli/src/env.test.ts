import { afterEach, expect, it, vi } from 'vitest';
import { childNodeOptions } from './env.js';

afterEach(() => vi.unstubAllEnvs());

it("puts an app's node flags before the user's NODE_OPTIONS, so the user's value of a flag wins", () => {
  vi.stubEnv('NODE_OPTIONS', '--max-semi-space-size=16 --enable-source-maps');
  expect(childNodeOptions(['--max-semi-space-size=32'], false)).toBe(
    '--max-semi-space-size=32 --max-semi-space-size=16 --enable-source-maps',
  );
  expect(childNodeOptions([], true)).toBe('--max-semi-space-size=16 --enable-source-maps --conditions=development');
  vi.stubEnv('NODE_OPTIONS', '');
  expect(childNodeOptions(['--max-semi-space-size=32'], true)).toBe(
    '--max-semi-space-size=32 --conditions=development',
  );
  expect(childNodeOptions([], false)).toBe('');
});
