import v8 from 'node:v8';

// Imported first by main.ts, so it runs before the rest of the worker loads (and with it, in every
// way the worker is started: `pnpm start`, the image, the benches). Jobs hold their data across young
// collections (they wait on providers and the database), so it dies in the old generation; by default
// V8 lets that grow to ~4× what the last full collection kept before collecting again (a 40 MB live
// heap reached 190 MB under load). 30 % keeps the worker's RSS within its 200 MB budget; full
// collections of its small heap stay cheap (docs/performance.md: GC time measured at both settings).
v8.setFlagsFromString('--heap-growing-percent=30');
