import { JSDOM } from 'jsdom';
import { type Environment, populateGlobal } from 'vitest/runtime';

/**
 * jsdom from this package (26, which runs on Node 20) rather than the one vitest resolves for
 * itself (jsdom 31 needs Node >= 22). `fetch` and friends stay Node's (tests stub `fetch`).
 */
export default (<Environment>{
  name: 'jsdom-node20',
  viteEnvironment: 'client',
  setup(global) {
    const dom = new JSDOM('<!DOCTYPE html>', { url: 'http://localhost/', pretendToBeVisual: true });
    const { keys, originals } = populateGlobal(global, dom.window, { bindFunctions: true });
    for (const name of [
      'fetch',
      'Response',
      'Headers',
      'Request',
      'AbortController',
      'AbortSignal',
      'URL',
      'URLSearchParams',
    ]) {
      const node = originals.get(name);
      if (node !== undefined) global[name] = node;
    }
    return {
      teardown(global) {
        dom.window.close();
        for (const key of keys) delete global[key];
        originals.forEach((value, key) => {
          global[key] = value;
        });
      },
    };
  },
});
