// Debiased exponential moving average, as TensorBoard's scalar dashboard smooths.
// Pure: no DOM, so tests can call it directly.
//
// s_n = w*s_(n-1) + (1-w)*x_n with s_0 = 0, then divided by (1 - w^n) so the start is not
// pulled towards zero. Non-finite values (NaN, +/-Infinity) pass through as they are and do
// not touch the average, so a gap stays a gap and the line resumes after it.
//
// The result is clamped to the smallest and largest value seen so far. A weighted mean lies
// between the values it averages, but the division by (1 - w^n) can round it just outside:
// a constant series (a learning rate of 0.001 at every step) then came out as 0.001 plus or
// minus one unit in the last place, and the chart's autoscaled y axis zoomed into that
// rounding and drew it as a square wave. Clamped, a constant series smooths to itself.

/** A stateful smoother for streaming values: push(x) returns the smoothed value. */
export function createEma(weight) {
  const w = clampWeight(weight);
  let last = 0;
  let count = 0;
  let low = Infinity;
  let high = -Infinity;
  return {
    push(x) {
      if (!Number.isFinite(x)) return x;
      if (w === 0) return x;
      last = last * w + (1 - w) * x;
      count += 1;
      if (x < low) low = x;
      if (x > high) high = x;
      return Math.min(high, Math.max(low, last / (1 - w ** count)));
    },
    get count() { return count; },
  };
}

/** Smooth a whole array (values are numbers; NaN/Infinity pass through). */
export function smooth(values, weight) {
  const ema = createEma(weight);
  const out = new Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = ema.push(values[i]);
  return out;
}

export function clampWeight(weight) {
  const w = Number(weight);
  if (!Number.isFinite(w) || w <= 0) return 0;
  return Math.min(w, 0.999);
}
