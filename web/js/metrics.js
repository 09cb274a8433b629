// Pure helpers about metric keys, series summaries and formatting (no DOM).

/** "val_loss" -> "loss"; a validation key is drawn in the chart of its training key. */
export function baseKey(key) {
  return key.startsWith("val_") ? key.slice(4) : key;
}

export const isValidation = (key) => key.startsWith("val_");

/** The run's metric entry for `key`: the manifest the Keras callback sent, else the server's
 * catalog lookup (both in `run.metrics`, GET /runs with include=series); undefined if neither knows. */
export function metricOf(run, key) {
  return (run.metrics || []).find((m) => m.key === key);
}

/** "min" or "max" (which way is better), or null: then no value is called "best". */
export function directionOf(run, key) {
  const m = metricOf(run, key);
  return (m && m.direction) || null;
}

/** The name under which a key lines up across runs: what Keras computed (canonical name, its
 * output, val_ for validation), whatever the run spelled (`acc`, `accuracy`); else the key. */
export function alignedKey(run, key) {
  const m = metricOf(run, key);
  if (!m || !m.canonical) return key;
  return `${m.validation ? "val_" : ""}${m.output ? `${m.output}_` : ""}${m.canonical}`;
}

/** Group keys into charts: [{base, keys: [train, val]}], loss first, then `order`, then by name. */
export function groupKeys(keys, order = []) {
  const groups = new Map();
  for (const key of keys) {
    const base = baseKey(key);
    if (!groups.has(base)) groups.set(base, []);
    groups.get(base).push(key);
  }
  const rank = (base) => {
    if (base === "loss") return -2;
    const i = order.indexOf(base);
    if (i >= 0) return i;
    return base.includes("/") ? 1e6 : 1e5;
  };
  return [...groups.entries()]
    .map(([base, ks]) => ({ base, keys: ks.sort((a, b) => Number(isValidation(a)) - Number(isValidation(b))) }))
    .sort((a, b) => rank(a.base) - rank(b.base) || a.base.localeCompare(b.base));
}

/** The run's compiled metrics in Keras's order (from the callback's config), without loss. */
export function compiledMetrics(run) {
  const names = [];
  const compile = run.config && run.config.compile;
  const metrics = compile && compile.metrics;
  const visit = (m) => {
    if (typeof m === "string") names.push(m);
    else if (Array.isArray(m)) m.forEach(visit);
    else if (m && typeof m === "object") {
      if (m.config && typeof m.config.name === "string") names.push(m.config.name);
      else if (typeof m.class_name === "string" && !m.config) names.push(m.class_name);
      else Object.values(m).forEach(visit);
    }
  };
  visit(metrics);
  const logged = new Set((run.series || []).map((s) => s.key));
  const fromSeries = [...logged].filter((k) => !isValidation(k) && k !== "loss" && !k.includes("/") && !k.endsWith("_loss")).sort();
  const ordered = names.filter((n) => logged.has(n));
  for (const k of fromSeries) if (!ordered.includes(k)) ordered.push(k);
  return ordered;
}

/** A run's series summary for (key, scope), or undefined. */
export function summaryOf(run, key, scope) {
  return (run.series || []).find((s) => s.key === key && s.scope === scope);
}

/** Prefer epoch values; a run logging only batches so far shows its latest running mean. */
export function mainSummary(run, key) {
  return summaryOf(run, key, "epoch") || summaryOf(run, key, "batch");
}

export function epochsDone(run) {
  let done = 0;
  for (const s of run.series || []) if (s.scope === "epoch") done = Math.max(done, s.last_step + 1);
  return done;
}

export function parseTime(text) {
  if (!text) return null;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(t) ? null : t;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "\u2013";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, "0")}m`;
}

export function formatDate(ms) {
  if (ms === null) return "\u2013";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function runDurationMs(run, now = Date.now()) {
  const start = parseTime(run.created_at);
  if (start === null) return null;
  const end = parseTime(run.ended_at) ?? (run.status === "running" ? now : parseTime(run.heartbeat_at));
  return end === null ? null : end - start;
}

/** Flatten nested config into {"optimizer.learning_rate": 0.001, ...}. */
export function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (!entries.length && prefix) out[prefix] = "{}";
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value) && value.some((v) => v && typeof v === "object")) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else {
    out[prefix] = value;
  }
  return out;
}

export function displayValue(v) {
  if (v === null) return "null";
  if (v === undefined) return "\u2013";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
