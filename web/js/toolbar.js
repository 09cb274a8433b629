// The chart toolbar of the run and compare pages: one component, so a chart option is added
// in one place. It owns the controls and their URL state; the page says what a change means
// for its data (a scope change reloads) and `applyToCharts` applies the rest to the charts.

import { el, replaceChildren, setText } from "./dom.js";

/** URL state fields of the toolbar; pages spread these into their SCHEMA (defaults may differ). */
export const TOOLBAR_SCHEMA = {
  scope: { type: "string", default: "" },
  smooth: { type: "number", default: 0 },
  log: { type: "bool", default: false },
  logx: { type: "bool", default: false },
  outliers: { type: "bool", default: false },
  x: { type: "string", default: "step" },
};

// Percentiles the outlier-ignoring y range keeps (a diverging first steps' loss no longer
// squashes the rest of the curve).
export const OUTLIER_PERCENTILES = [1, 99];

// A logged metric as the x axis: `x=metric:<key>` in the URL state. Each chart then plots its
// values against the key's value at the same step (steps missing in either are not drawn).
const METRIC_X = "metric:";

/** The key of a `metric:<key>` x mode, or null for step, epoch, time... */
export function metricXKey(x) {
  return typeof x === "string" && x.startsWith(METRIC_X) ? x.slice(METRIC_X.length) : null;
}

export const isMetricX = (x) => metricXKey(x) !== null;

/** The scope whose keys can also be the x axis of a view: the batch-derived values sit at the
 * steps of the batch running means they come from (the SDK logs `fitwatch/learning_rate` per
 * batch, not per derived batch). */
export const X_SCOPE_FALLBACK = { batch_derived: "batch" };

/** The scope to read the x metric `key` from in a view of `scope`: the view's own when it has
 * the key (`has(scope, key)`), else its fallback, else null. */
export function xSourceScope(scope, key, has) {
  if (has(scope, key)) return scope;
  const other = X_SCOPE_FALLBACK[scope];
  return other && has(other, key) ? other : null;
}

/** The x-axis choices [[id, label]] for `keys` (a scope's keys) as the x axis. */
export function metricXModes(keys) {
  return [...new Set(keys)].sort().map((key) => [`${METRIC_X}${key}`, `metric: ${key}`]);
}

export class ChartToolbar {
  /**
   * @param host the element the controls go into
   * @param options.state the page's URL state (mutated here)
   * @param options.scopes [{id, label, note}]; options.available() the scopes that have data
   * @param options.xModes [[id, label]] for the x axis select, or () => them (the metric
   *   choices follow the scope's keys)
   * @param options.extra () => elements appended after the common controls
   * @param options.onChange (kind) => void, after `state` changed; kind: scope, smooth, log, logx, outliers, x
   * @param options.note the element that shows the scope's note
   * @param options.currentScope () => the scope shown (a page may pick one when the state has none)
   */
  constructor(host, { state, scopes, available, xModes, extra = () => [], onChange, note = null, noteSuffix = () => "", noteFor = null,
    currentScope = () => state.scope }) {
    Object.assign(this, { host, state, scopes, available, xModes, extra, onChange, note, noteSuffix, noteFor, currentScope });
  }

  set(changes, kind) {
    Object.assign(this.state, changes);
    if (kind === "scope") this.render();
    this.onChange(kind);
  }

  render() {
    const state = this.state;
    const have = this.available();
    const scope = this.currentScope();
    const smoothValue = el("span", { class: "mono", id: "smooth-value" }, Number(state.smooth).toFixed(2));
    const check = (id, field, label, title) => el("label", { title }, el("input", { type: "checkbox", id, checked: state[field],
      onchange: (e) => this.set({ [field]: e.target.checked }, field) }), label);
    replaceChildren(this.host,
      el("label", {}, "Scope", el("div", { class: "seg", id: "scope" }, this.scopes.map((s) => el("button", {
        class: s.id === scope ? "on" : "", disabled: !have.has(s.id) && s.id !== scope, dataset: { scope: s.id }, title: s.note,
        onclick: () => this.set({ scope: s.id }, "scope"),
      }, s.label)))),
      el("label", { title: "debiased exponential moving average (as TensorBoard); the raw line stays faint underneath" }, "Smoothing",
        el("input", { type: "range", id: "smoothing", min: "0", max: "0.99", step: "0.01", value: String(state.smooth),
          oninput: (e) => { setText(smoothValue, Number(e.target.value).toFixed(2)); this.set({ smooth: Number(e.target.value) }, "smooth"); } }),
        smoothValue),
      check("log-scale", "log", "Log scale", "logarithmic y axis"),
      check("log-x", "logx", "Log x", "logarithmic x axis (steps from 1; not for wall time)"),
      check("outliers", "outliers", "Ignore outliers",
        `y range from the ${OUTLIER_PERCENTILES[0]}st to the ${OUTLIER_PERCENTILES[1]}th percentile of the values drawn`),
      el("label", {}, "X axis", el("select", { id: "x-axis", onchange: (e) => this.set({ x: e.target.value }, "x") },
        (typeof this.xModes === "function" ? this.xModes() : this.xModes)
          .map(([id, label]) => el("option", { value: id, selected: id === state.x }, label)))),
      ...this.extra());
    const note = this.noteFor ? this.noteFor(scope) : this.scopes.find((s) => s.id === scope)?.note;
    if (this.note) setText(this.note, (note || "") + this.noteSuffix());
  }
}

/** Apply a non-scope toolbar change to every chart (MetricChart and BandChart share the API). */
export function applyToCharts(charts, kind, state, xTitle) {
  if (kind === "smooth") return Promise.all(charts.map((c) => c.setSmoothing(state.smooth)));
  if (kind === "log") return Promise.all(charts.map((c) => c.setLog(state.log)));
  if (kind === "logx") return Promise.all(charts.map((c) => c.setLogX(state.logx)));
  if (kind === "outliers") return Promise.all(charts.map((c) => c.setOutliers(state.outliers)));
  if (kind === "x") return Promise.all(charts.map((c) => c.setX(state.x, xTitle)));
  return Promise.resolve();
}

/** The y range for values that are all one number v (finite ones only; v > 0 on a log axis,
 * returned as log10): v ± 10 %. Plotly pads such a series by ±1 whatever v is, so a constant
 * learning rate of 0.001 sat at the middle of an axis from -1 to 1 and read as 0. Null when
 * the values differ, or are all 0 (±1 is right there). Pure, for tests. */
export function flatRange(values, { log = false } = {}) {
  let v = null;
  for (const x of values) {
    if (!Number.isFinite(x)) continue;
    if (v === null) v = x;
    else if (x !== v) return null;
  }
  if (v === null || v === 0 || (log && v < 0)) return null;
  const [lo, hi] = v > 0 ? [v * 0.9, v * 1.1] : [v * 1.1, v * 0.9];
  return log ? [Math.log10(lo), Math.log10(hi)] : [lo, hi];
}

/** The [lo, hi] range between two percentiles of `values` (finite only; positive only on a log
 * axis, returned as log10), padded by 5 %; null when fewer than 2 values. Pure, for tests. */
export function robustRange(values, { log = false, percentiles = OUTLIER_PERCENTILES } = {}) {
  const v = values.filter((x) => Number.isFinite(x) && (!log || x > 0)).map((x) => (log ? Math.log10(x) : x)).sort((a, b) => a - b);
  if (v.length < 2) return null;
  const at = (p) => {
    const i = (p / 100) * (v.length - 1);
    const lo = Math.floor(i);
    return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (i - lo);
  };
  const lo = at(percentiles[0]);
  const hi = at(percentiles[1]);
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  return [lo - pad, hi + pad];
}
