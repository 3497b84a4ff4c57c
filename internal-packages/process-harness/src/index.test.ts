import { afterEach, expect, it } from 'vitest';
import { appArgs, GiveUp, nodeFlags, ProcessGroup, until } from './index.js';

// Real child processes (node -e): what the chaos suite and the benchmarks rely on.
const group = new ProcessGroup();
afterEach(() => group.stopAll());

const script = (code: string) => ['-e', code];
const env = {};

it('collects lines from both streams and parses JSON log entries on demand', async () => {
  const proc = group.start({
    name: 'talker',
    args: script(
      `console.log('plain'); console.error(JSON.stringify({ msg: 'server listening', port: 4321 })); setInterval(() => {}, 1000);`,
    ),
    env,
  });
  expect(await proc.listening(10_000)).toBe('http://127.0.0.1:4321');
  expect(proc.lines).toContain('plain');
  expect(proc.entries()).toEqual([{ msg: 'server listening', port: 4321 }]);
  expect(await proc.stop()).toBe('SIGTERM');
  expect(group.unexpectedExits()).toEqual([]);
});

it('waits for a line that comes later, driven by the output', async () => {
  const proc = group.start({
    name: 'later',
    args: script(
      `setTimeout(() => console.log(JSON.stringify({ msg: 'ready', n: 7 })), 300); setInterval(() => {}, 1000);`,
    ),
    env,
  });
  expect(await proc.waitFor('ready', (_, e) => (e?.msg === 'ready' ? e.n : undefined), 10_000)).toBe(7);
});

it('fails a wait at once when the process dies first, with its last lines', async () => {
  const proc = group.start({ name: 'crasher', args: script(`console.log('boom coming'); process.exit(3);`), env });
  await expect(proc.waitFor('never', (l) => l === 'never', 60_000)).rejects.toThrow(
    /crasher exited \(3\).*\n.*boom coming/s,
  );
  expect(await proc.exited).toBe(3);
  expect(group.unexpectedExits()).toEqual([proc]);
  await expect(group.until('anything', () => undefined, { timeoutMs: 60_000 })).rejects.toThrow(GiveUp);
});

it('times out a wait with the deadline in the message', async () => {
  const proc = group.start({ name: 'quiet', args: script('setInterval(() => {}, 1000);'), env });
  await expect(proc.waitFor('a word', (l) => l === 'word', 200)).rejects.toThrow(
    /timed out after 200 ms waiting for a word/,
  );
});

it('stop escalates to SIGKILL when the process ignores the signal', async () => {
  const proc = group.start({
    name: 'stubborn',
    args: script(`process.on('SIGTERM', () => {}); console.log('armed'); setInterval(() => {}, 1000);`),
    env,
  });
  await proc.waitFor('armed', (l) => l === 'armed', 10_000);
  expect(await proc.stop('SIGTERM', 300)).toBe('SIGKILL');
  expect(proc.alive).toBe(false);
});

it('until: retries thrown errors, stops on GiveUp, reports the last error on timeout', async () => {
  let calls = 0;
  expect(
    await until(
      'third call',
      () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
        return 'done';
      },
      { timeoutMs: 5_000, everyMs: 10 },
    ),
  ).toBe('done');
  await expect(until('x', () => Promise.reject(new GiveUp('stop')), { timeoutMs: 5_000 })).rejects.toThrow('stop');
  await expect(until('y', () => Promise.reject(new Error('refused')), { timeoutMs: 50, everyMs: 10 })).rejects.toThrow(
    /waiting for y \(last error: refused\)/,
  );
});

it('starts an app with the node flags its package.json asks for, as `pnpm start` does', () => {
  expect(nodeFlags('worker')).toContain('--max-semi-space-size=32');
  expect(appArgs('worker', 'dist')).toEqual([...nodeFlags('worker'), 'apps/worker/dist/main.js']);
  expect(appArgs('worker', 'tsx')).toEqual([...nodeFlags('worker'), '--import', 'tsx', 'apps/worker/src/main.ts']);
  expect(appArgs('api', 'dist')).toEqual([...nodeFlags('api'), 'apps/api/dist/main.js']);
});
