/** Small helpers for benchmark figures: latency percentiles and plain-text tables. */

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Collects latencies (ms) into a growable Float64Array; summary() sorts once. */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private n = 0;

  record(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.n).sort();
    // Nearest-rank percentile: the smallest value with at least p% of samples at or below it.
    const at = (p: number) =>
      this.n === 0 ? Number.NaN : (sorted[Math.max(0, Math.ceil((p / 100) * this.n) - 1)] ?? 0);
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.n,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: this.n === 0 ? Number.NaN : (sorted[this.n - 1] ?? 0),
      mean: this.n === 0 ? Number.NaN : sum / this.n,
    };
  }
}

/** Round for display and JSON: keeps results readable without pretending to more precision. */
export function round(value: number | null, digits = 1): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function fmt(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A left-aligned first column, right-aligned others; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [header, ...body] = rows;
  if (!header) return '';
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line)].join('\n');
}
