// The compare page's first two reads (its runs, and every series of them), sent as soon as
// this small module has loaded: boot/compare.js starts them before it imports the rest of the
// page, so the server reads the series while the browser still fetches and compiles the
// page's modules (issue 11, first paint; docs/dashboard.md). Only what the requests need
// lives here: the page's URL state, and the points each line asks for.

import * as api from "../api.js";
import { el } from "../dom.js";
import { parseState } from "../urlstate.js";
import { TOOLBAR_SCHEMA, metricXKey } from "../toolbar.js";

export const SCHEMA = {
  project: { type: "string", default: "" },
  runs: { type: "list", default: [] },
  ...TOOLBAR_SCHEMA,
  scope: { type: "string", default: "epoch" },
  metric: { type: "string", default: "" },
  // GET /series/groups `group_by`: "" draws one line per run, anything else bands per group.
  group: { type: "string", default: "" },
};

// A chart of many runs asks each run for fewer points: 20 runs x one point per pixel drew
// 26,000 points per chart (issue 11: most of the server's answer and of Plotly's drawing), far
// more than a chart's pixels show. Each line gets its share of POINTS_PER_PIXEL points per
// pixel of the chart, but never fewer than MIN_POINTS_PER_LINE (TensorBoard samples 1,000 per
// series, W&B about 1,500 per line) nor more than one per pixel. The server's downsampling
// keeps each bucket's min and max, so a spike stays visible; a zoom asks again at full detail.
export const POINTS_PER_PIXEL = 4;
export const MIN_POINTS_PER_LINE = 400;

/** Points per line of a chart `maxPoints` pixels wide (one point per pixel) drawing `runs` runs. */
export function pointsPerLine(maxPoints, runs) {
  const share = Math.round((POINTS_PER_PIXEL * maxPoints) / Math.max(1, runs));
  return Math.min(maxPoints, Math.max(MIN_POINTS_PER_LINE, share));
}

/** Points a chart `chart` (an element, or none yet) asks for: one per pixel of its width. */
export function chartMaxPoints(chart) {
  return Math.max(200, Math.min(4000, Math.round((chart ? chart.clientWidth : 600) || 600)));
}

/** GET /runs for exactly `runs`, each with its series summaries (one request). */
export function readRuns(runs) {
  return api.listRuns({ filter: `id in (${runs.map((id) => JSON.stringify(id)).join(", ")})`, include: "series", limit: 1000 });
}

/** Starts the reads for `state` (the page's URL state): {runs, scope, maxPoints, runsRead,
 * seriesRead}, each read a promise of the answer or null on any failure (the page then asks
 * again). No series read where the view needs more than the keyless one (bands, a metric as
 * x). The chart width is measured on a hidden stand-in card laid out as the real ones will be. */
export function startReads(state) {
  const runs = [...state.runs];
  const scope = state.scope;
  const runsRead = runs.length ? readRuns(runs).catch(() => null) : null;
  if (!runs.length || state.group || metricXKey(state.x) !== null) return { runs, scope, maxPoints: null, runsRead, seriesRead: null };
  const probe = el("main", { class: "main", style: "visibility:hidden" },
    el("div", { class: "charts" }, el("div", { class: "chart-card" }, el("div", { class: "chart" }))));
  document.body.append(probe);
  const maxPoints = pointsPerLine(chartMaxPoints(probe.querySelector(".chart")), runs.length);
  probe.remove();
  const seriesRead = api.readMany({ runs, scope, max_points: maxPoints }).catch(() => null);
  return { runs, scope, maxPoints, runsRead, seriesRead };
}

// The reads boot/compare.js started: undefined before, null once the page has taken them.
let first;

/** Sends the page's first reads, from the address it was opened at (once). */
export function startFirstReads() {
  if (first === undefined) first = startReads(parseState(location.search, SCHEMA));
}

/** The first reads, to the first caller only (null after, or if none were started): a later
 * load (say, back online) reads afresh. */
export function takeFirstReads() {
  const reads = first ?? null;
  first = null;
  return reads;
}
