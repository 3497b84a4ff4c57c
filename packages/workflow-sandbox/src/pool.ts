/**
 * A pool of QuickJS WebAssembly modules, each instantiated on its **own capped
 * `WebAssembly.Memory`** (QuickJS's `setMemoryLimit` does not count every allocation, e.g. fast
 * array storage; a capped linear memory does). A module serves one run at a time, so one run's
 * memory bomb cannot starve another; runs get a fresh runtime + context on it. Modules are created
 * lazily (the `.wasm` is compiled once per process and instantiated per module, ≈15 ms), reused,
 * and replaced after a run that broke them (out of memory, a failed dispose, an internal error) or
 * that grew their memory beyond its initial size (linear memory never shrinks).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import * as releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import {
  type CustomizeVariantOptions,
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';

/** The sync release build (its types describe the CommonJS shape; Node's ESM gives `default`). */
const RELEASE_SYNC = ((releaseSync as { default?: unknown }).default ?? releaseSync) as QuickJSSyncVariant;

/** The bits of the WebAssembly API used here (the repo compiles without the DOM lib). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  compile(bytes: Uint8Array): Promise<object>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE_BYTES = 64 * 1024;
/** The QuickJS build's declared initial memory: 256 pages (16 MiB). */
const INITIAL_PAGES = 256;

let compiled: Promise<object> | undefined;

/** The QuickJS `.wasm`, compiled once per process. */
function compiledWasm(): Promise<object> {
  compiled ??= (async () => {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
    return wasm.compile(await fs.promises.readFile(file));
  })();
  compiled.catch(() => {
    compiled = undefined;
  });
  return compiled;
}

export interface ModuleSlot {
  readonly module: QuickJSWASMModule;
  readonly memory: WasmMemory;
  readonly initialBytes: number;
  runs: number;
}

/** Instantiates one QuickJS module on its own memory of at most `memoryBytes`. */
export async function createModuleSlot(memoryBytes: number): Promise<ModuleSlot> {
  const maximum = Math.max(INITIAL_PAGES, Math.ceil(memoryBytes / PAGE_BYTES));
  const memory = new wasm.Memory({ initial: INITIAL_PAGES, maximum });
  const wasmModule = await compiledWasm();
  const module = await newQuickJSWASMModuleFromVariant(
    newVariant(RELEASE_SYNC, {
      wasmMemory: memory as CustomizeVariantOptions['wasmMemory'],
      wasmModule: wasmModule as CustomizeVariantOptions['wasmModule'],
      // Emscripten prints aborts (e.g. a failed dispose after out-of-memory) to stderr; the pool
      // already treats those as a broken module and replaces it.
      emscriptenModule: {
        print: () => undefined,
        printErr: () => undefined,
      } as CustomizeVariantOptions['emscriptenModule'],
    }),
  );
  return { module, memory, initialBytes: INITIAL_PAGES * PAGE_BYTES, runs: 0 };
}

interface Waiter {
  resolve: (slot: ModuleSlot) => void;
  reject: (error: unknown) => void;
}

export class ModulePool {
  private readonly idle: ModuleSlot[] = [];
  private readonly waiters: Waiter[] = [];
  private live = 0;
  private closed = false;
  /** Modules created over the pool's life (replacements included). */
  created = 0;

  constructor(
    private readonly memoryBytes: number,
    private readonly maxModules: number,
  ) {}

  /** Modules alive now (idle + in use). */
  get size(): number {
    return this.live;
  }

  /** A module for exclusive use; waits (FIFO) when `maxModules` are busy. */
  acquire(): Promise<ModuleSlot> {
    if (this.closed) return Promise.reject(new Error('Sandbox is closed'));
    const slot = this.idle.pop();
    if (slot) return Promise.resolve(slot);
    if (this.live < this.maxModules) return this.grow();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Returns a module; a broken (or oversized) one is dropped and replaced lazily. */
  release(slot: ModuleSlot, healthy: boolean): void {
    const keep = healthy && !this.closed && slot.memory.buffer.byteLength <= slot.initialBytes;
    if (!keep) {
      this.live--;
      const waiter = this.closed ? undefined : this.waiters.shift();
      if (waiter) this.grow().then(waiter.resolve, waiter.reject);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.idle.push(slot);
  }

  /** Creates modules until `count` (capped at `maxModules`) are alive. */
  async prewarm(count: number): Promise<void> {
    const wanted = Math.min(count, this.maxModules) - this.live;
    const slots = await Promise.all(Array.from({ length: Math.max(0, wanted) }, () => this.grow()));
    for (const slot of slots) this.release(slot, true);
  }

  close(): void {
    this.closed = true;
    this.live -= this.idle.length;
    this.idle.length = 0;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('Sandbox is closed'));
  }

  private async grow(): Promise<ModuleSlot> {
    this.live++;
    try {
      const slot = await createModuleSlot(this.memoryBytes);
      this.created++;
      return slot;
    } catch (error) {
      this.live--;
      throw error;
    }
  }
}
