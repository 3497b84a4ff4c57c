/** The apps' log lines, summarised for a benchmark report. */

/** Warnings and errors in the apps' JSON log lines, counted by message (err.message, else msg). */
export function logProblems(lines: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    const at = line.indexOf('{');
    if (at < 0) continue;
    try {
      const entry = JSON.parse(line.slice(at)) as { level?: number; msg?: string; err?: { message?: string } };
      if ((entry.level ?? 0) < 40) continue;
      const what = `${entry.level === 40 ? 'warn' : 'error'}: ${entry.msg ?? ''}${entry.err?.message ? ` (${entry.err.message})` : ''}`;
      counts[what] = (counts[what] ?? 0) + 1;
    } catch {
      // not a JSON line (e.g. a Node warning): shown as is
    }
  }
  return counts;
}
