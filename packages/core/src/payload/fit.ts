/**
 * The render of the least-trimmed knobs that fits `budget` o200k tokens: `start`, then `start` after
 * each further step of `steps` (least important cut first); the most trimmed when none fits. Each render is counted, so the first that fits is found
 * by a galloping search (1, 2, 4, … steps, then halving) rather than one render per step. A render's
 * `token_count` includes the count itself (`settleTokenCount`).
 */
export function fitToBudget<K, P extends { token_count: number }>(
  start: K,
  steps: ReadonlyArray<(knobs: K) => K>,
  render: (knobs: K) => P,
  budget: number,
): P {
  const knobs = [start];
  for (const step of steps) knobs.push(step(knobs.at(-1) as K));
  const renders = new Map<number, P>();
  const at = (i: number) => {
    let payload = renders.get(i);
    if (payload === undefined) {
      payload = render(knobs[i] as K);
      renders.set(i, payload);
    }
    return payload;
  };
  const fits = (i: number) => at(i).token_count <= budget;
  const last = knobs.length - 1;
  let found = 0;
  if (!fits(0)) {
    let low = 0;
    let high = 1;
    while (high < last && !fits(high)) [low, high] = [high, Math.min(last, high * 2)];
    if (fits(high)) {
      while (high - low > 1) {
        const mid = (low + high) >> 1;
        if (fits(mid)) high = mid;
        else low = mid;
      }
    }
    found = high;
  }
  // Each render's count is exact (settleTokenCount): nothing to count again.
  return at(found);
}
