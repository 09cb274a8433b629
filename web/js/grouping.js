// Grouping runs the way the compare page's bands do (`group_by`, docs/api.md): the choices a
// set of runs offers, and the figures of a runs-table column across a group's runs.

import { flatten } from "./metrics.js";
import { parseValue } from "./charts.js";

// What "average the seeds" means: every config key but these (see docs/api.md).
const SEED_KEYS = ["seed", "random_seed", "random_state"];

/** The Bands choices for these runs: [[group_by, label]], from their config differences. */
export function bandChoices(configs) {
  const choices = [["", "off (one line per run)"]];
  const diff = configDiff(configs).map((row) => row.path);
  const seeds = SEED_KEYS.filter((k) => diff.includes(k));
  if (seeds.length) choices.push([seeds.map((k) => `-config.${k}`).join(","), `mean of the ${seeds.join(", ")}s`]);
  for (const path of diff) {
    if (/^(environment|model|fits|compile|learning_rate_per_epoch)\b/.test(path) || path.endsWith(".name")) continue;
    choices.push([`config.${path}`, `by ${path}`]);
  }
  choices.push(["tags", "by tags"]);
  return choices;
}

// Config paths that always differ between runs and say nothing about the training.
const DIFF_IGNORE = [/^environment\.argv/, /^learning_rate_per_epoch\./, /^fits\[\d+\]\.initial_iterations$/];

/** Config paths whose values differ between runs (a path missing in some run differs too). */
export function configDiff(configs) {
  const flats = configs.map((c) => flatten(c || {}));
  const paths = new Set(flats.flatMap((f) => Object.keys(f)));
  const rows = [];
  for (const path of [...paths].sort()) {
    if (DIFF_IGNORE.some((re) => re.test(path))) continue;
    const values = flats.map((f) => (path in f ? JSON.stringify(f[path]) : undefined));
    if (new Set(values).size > 1) rows.push({ path, values: flats.map((f) => f[path]), present: flats.map((f) => path in f) });
  }
  return rows;
}


/**
 * A column's figures across runs: {n, mean, std, min, max} over the runs whose value is a
 * finite number (`n` of them; NaN, ±Inf and missing values are left out), std the population
 * one (ddof = 0, as numpy.std and the bands). null when no run has a number there.
 */
export function columnStats(col, runs) {
  const values = [];
  for (const run of runs) {
    const { value } = col.value(run);
    if (typeof value === "boolean" || value === null || value === undefined) continue;
    const n = typeof value === "number" ? value : typeof value === "string" && col.metric ? parseValue(value) : NaN;
    if (Number.isFinite(n)) values.push(n);
  }
  if (!values.length) return null;
  const min = Math.min(...values);
  const max = Math.max(...values);
  // A mean lies between the values and equal values have no spread; the float sum rounds
  // (seven runs at 0.1 gave 0.1 ± 1.4e-17), so both are kept exact, as the bands' are.
  const mean = Math.min(max, Math.max(min, values.reduce((a, b) => a + b, 0) / values.length));
  const std = min === max ? 0 : Math.sqrt(values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / values.length);
  return { n: values.length, mean, std, min, max };
}
