// Plotly wrappers: one MetricChart per metric. newPlot once; live points go through
// Plotly.extendTraces (no full redraw); NaN and +/-Infinity are drawn as gaps in the line
// with a marker at the gap (never silently dropped).

import { createEma, clampWeight } from "./smoothing.js";
import { decodeValue } from "./wire.js";
import { flatRange, robustRange, isMetricX } from "./toolbar.js";

/** One colour per run, kept across every chart of a page (Tableau 10 + 10 darker). */
export const PALETTE = [
  "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac", "#1f4e79", "#b35806", "#2d6a2f", "#a4262c", "#3b8a84", "#a68a00",
  "#6f3f8f", "#c4477a", "#5e4433", "#6b6b6b",
];

export const colorFor = (index) => PALETTE[index % PALETTE.length];

const NONFINITE_COLOR = "#d62728";

/** Chart colours for the page's colour scheme (the dark theme follows the system setting). */
export function chartTheme() {
  const dark = typeof window !== "undefined" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  return dark
    ? { dark, plot: "#161b22", text: "#c9d1d9", title: "#e6edf3", muted: "#8b949e", grid: "#262c36", line: "#3a424e" }
    : { dark, plot: "#ffffff", text: "#2b3340", title: "#1c2430", muted: "#6b7685", grid: "#eef1f5", line: "#c9d1db" };
}

let basicBundle = null;

/** Execute the partial Plotly.js build (the page's HTML only preloads it). Executing it takes
 * ~0.3-0.6 s of the main thread, so a page calls this right after sending its first data
 * request: the server computes the series while Plotly executes, instead of the request
 * waiting for Plotly (docs/dashboard.md, first paint). Idempotent. */
export function startPlotly() {
  if (basicBundle) return basicBundle;
  if (window.Plotly) return (basicBundle = Promise.resolve(window.Plotly));
  basicBundle = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/vendor/plotly-basic.min.js";
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => { basicBundle = null; reject(new Error("Plotly.js did not load")); };
    document.head.append(script);
  });
  return basicBundle;
}

/** Resolves once Plotly.js has executed (starting it if no one has yet). */
export function plotlyReady() {
  return startPlotly();
}

let fullBundle = null;

/** The full Plotly.js bundle (parallel coordinates need it), loaded once on first use. The
 * pages run the partial build (`/vendor/plotly-basic.min.js`, a quarter of the size) as
 * `window.Plotly`; the full bundle assigns `window.Plotly` too, so that assignment is caught
 * and the charts already drawn keep the instance that drew them. */
export function fullPlotly() {
  if (fullBundle) return fullBundle;
  fullBundle = plotlyReady().then((basic) => new Promise((resolve, reject) => {
    let full = null;
    Object.defineProperty(window, "Plotly", { configurable: true, get: () => basic, set: (value) => { full = value; } });
    const restore = () => { delete window.Plotly; window.Plotly = basic; };
    const script = document.createElement("script");
    script.src = "/vendor/plotly.min.js";
    script.onload = () => { restore(); resolve(full); };
    script.onerror = () => { restore(); fullBundle = null; reject(new Error("the full Plotly.js bundle did not load")); };
    document.head.append(script);
  }));
  return fullBundle;
}

/** A wire value (number or "NaN"/"Infinity"/"-Infinity") as a JS number: the one codec, wire.js. */
export const parseValue = decodeValue;

/** How a value reads in hover text and tables: full precision, non-finite spelled out. */
export function formatValue(v, digits) {
  if (v === null || v === undefined) return "\u2013";
  const n = parseValue(v);
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "\u2212Inf";
  if (digits) return Number(n.toPrecision(digits)).toString();
  return String(n);
}

const BASE_LAYOUT = {
  margin: { l: 56, r: 14, t: 34, b: 40 },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "#ffffff",
  font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#2b3340" },
  hoverlabel: { font: { family: "ui-monospace, SFMono-Regular, Menlo, monospace", size: 12 } },
  showlegend: true,
  legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", font: { size: 11 } },
  uirevision: "keep",
};

/** The vertical line at the hovered x (the charts of a page hover together: linkHover). */
export function spikes(theme) {
  return { showspikes: true, spikemode: "across", spikesnap: "hovered data", spikethickness: 1, spikedash: "dot", spikecolor: theme.muted };
}

const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

/**
 * A chart of one metric: several series (e.g. loss and val_loss, or one per run).
 *
 * A series is {id, label, color, dash, steps, values, times, epochs, downsampled} plus any
 * fields the page's `xFor(series, step, time, epoch)` needs. Each series draws 3 traces:
 * the raw line (faint when smoothing is on), the smoothed line, and the non-finite markers.
 */
export class MetricChart {
  constructor(container, { title, xFor, xMode = "step", xTitle = "step", logY = false, smoothing = 0,
    showLegend = true, height = 300, hovermode = "x unified", onZoom = null, logX = false, outliers = false,
    drawnOnly = false } = {}) {
    this.container = container;
    this.title = title;
    this.xFor = xFor;
    this.xMode = xMode;
    this.xTitle = xTitle;
    this.logY = logY;
    this.smoothing = clampWeight(smoothing);
    this.showLegend = showLegend;
    this.height = height;
    this.hovermode = hovermode;
    this.onZoom = onZoom;
    this.logX = logX;
    this.outliers = outliers;
    // Hand Plotly only the traces it shows (no hidden smoothed line, no empty markers): with
    // 20 runs a chart held 60 traces of which 40 hidden, and Plotly's cost is per trace as
    // much as per point (issue 11: newPlot ~30 % shorter). A series' traces are then found
    // through its slots, and a first non-finite value arriving live redraws the chart.
    this.drawnOnly = drawnOnly;
    this.series = [];
    this.drawn = false;
    this.zoomed = null;
  }

  add(series) {
    const s = { steps: [], values: [], times: [], epochs: [], ...series };
    s.values = s.values.map(parseValue);
    if (!s.epochs) s.epochs = [];
    this.series.push(s);
    return s;
  }

  find(id) {
    return this.series.find((s) => s.id === id);
  }

  /** The three traces of a series from its stored points. */
  _traces(s) {
    const x = [];
    const raw = [];
    const sm = [];
    const hover = [];
    const markX = [];
    const markY = [];
    const markText = [];
    const ema = createEma(this.smoothing);
    let lastFinite = null;
    for (let i = 0; i < s.steps.length; i++) {
      const xv = this.xFor(s, s.steps[i], s.times[i], s.epochs[i]);
      // No x for this step (a metric as the x axis that was not logged there): not drawn.
      if (xv === null || xv === undefined) continue;
      const v = s.values[i];
      x.push(xv);
      const smoothed = ema.push(v);
      hover.push(formatValue(v));
      if (Number.isFinite(v)) {
        raw.push(v);
        sm.push(smoothed);
        lastFinite = v;
      } else {
        raw.push(null);
        sm.push(null);
        markX.push(xv);
        markY.push(lastFinite ?? 0);
        markText.push(plotlyText(`${s.label}: ${formatValue(v)} at step ${s.steps[i]}`));
      }
    }
    s._ema = ema;
    s._lastFinite = lastFinite;
    return this._traceObjects(s, { x, raw, sm, hover, markX, markY, markText });
  }

  _traceObjects(s, d) {
    const smoothingOn = this.smoothing > 0;
    const group = s.id;
    const rawTrace = {
      type: "scattergl" === s.traceType ? "scattergl" : "scatter",
      mode: "lines",
      name: plotlyText(`${s.label} (raw)`),
      legendgroup: group,
      showlegend: false,
      x: d.x,
      y: d.raw,
      customdata: d.hover,
      connectgaps: false,
      line: { color: s.color, width: smoothingOn ? 1 : 1.8, dash: s.dash || "solid" },
      opacity: smoothingOn ? 0.25 : 1,
      hoverinfo: smoothingOn ? "skip" : undefined,
      hovertemplate: smoothingOn ? undefined : `${escapeTemplate(s.label)}: %{customdata}<extra></extra>`,
    };
    const smoothTrace = {
      type: "scatter",
      mode: "lines",
      name: plotlyText(s.label),
      legendgroup: group,
      showlegend: this.showLegend,
      x: d.x,
      y: d.sm,
      customdata: d.hover,
      connectgaps: false,
      visible: smoothingOn ? true : "legendonly",
      line: { color: s.color, width: 2, dash: s.dash || "solid" },
      hovertemplate: `${escapeTemplate(s.label)}: %{customdata} (smoothed %{y:.6g})<extra></extra>`,
    };
    if (!smoothingOn) {
      // Keep the legend entry on the visible raw line when smoothing is off.
      rawTrace.showlegend = this.showLegend;
      rawTrace.name = plotlyText(s.label);
      smoothTrace.showlegend = false;
      smoothTrace.visible = false;
    }
    const markTrace = {
      type: "scatter",
      mode: "markers",
      name: plotlyText(`${s.label} non-finite`),
      legendgroup: group,
      showlegend: false,
      x: d.markX,
      y: d.markY,
      text: d.markText,
      marker: { symbol: "x-thin-open", size: 10, color: NONFINITE_COLOR, line: { width: 2, color: NONFINITE_COLOR } },
      hovertemplate: "%{text}<extra></extra>",
      // Hidden (so Plotly skips it) until a non-finite value exists.
      visible: d.markX.length > 0,
    };
    s._marksVisible = d.markX.length > 0;
    return [rawTrace, smoothTrace, markTrace];
  }

  _layout() {
    const wall = this.xMode === "wall";
    const theme = chartTheme();
    return {
      ...BASE_LAYOUT,
      plot_bgcolor: theme.plot,
      font: { ...BASE_LAYOUT.font, color: theme.text },
      height: this.height,
      hovermode: this.hovermode,
      showlegend: this.showLegend,
      title: { text: plotlyText(this.title), x: 0, xanchor: "left", font: { size: 14, color: theme.title } },
      xaxis: {
        title: { text: plotlyText(this.xTitle), font: { size: 11, color: theme.muted } },
        type: wall ? "date" : this.logX ? "log" : "linear",
        gridcolor: theme.grid, zeroline: false, linecolor: theme.line, showline: true,
        hoverformat: wall ? "%Y-%m-%d %H:%M:%S.%L" : "",
        ...spikes(theme),
      },
      yaxis: {
        type: this.logY ? "log" : "linear",
        gridcolor: theme.grid, zeroline: false, linecolor: theme.line, showline: true,
        tickformat: "~g", hoverformat: ".6g",
        // Log axes: label 1, 2 and 5 of each decade only.
        dtick: this.logY ? "D2" : undefined,
        ...this._yRange(),
      },
    };
  }

  /** The outlier-ignoring y range (percentiles of every value drawn), a range around a flat
   * chart's one value, or autorange. */
  _yRange() {
    const values = this.series.flatMap((s) => s.values);
    const range = this.outliers ? robustRange(values, { log: this.logY }) : flatRange(values, { log: this.logY });
    // Remembered so that the first live value off the flat line gives the axis back to autorange.
    this._flatValue = !this.outliers && range ? values.find((v) => Number.isFinite(v)) : null;
    return range ? { range, autorange: false } : { autorange: true };
  }

  async setLogX(logX) {
    this.logX = logX;
    if (this.drawn && this.xMode !== "wall") await Plotly.relayout(this.container, { "xaxis.type": logX ? "log" : "linear", "xaxis.autorange": true });
  }

  async setOutliers(outliers) {
    this.outliers = outliers;
    if (!this.drawn) return;
    const y = this._yRange();
    await Plotly.relayout(this.container, y.range ? { "yaxis.range": y.range, "yaxis.autorange": false } : { "yaxis.autorange": true });
  }

  /** The traces of every series, each series' trace indices kept as its `_slots` (-1: absent). */
  _allTraces() {
    const traces = [];
    for (const s of this.series) {
      const [raw, smooth, marks] = this._traces(s);
      const keep = (trace, wanted) => {
        if (!wanted) return -1;
        traces.push(trace);
        return traces.length - 1;
      };
      s._slots = { raw: keep(raw, true), smooth: keep(smooth, !this.drawnOnly || this.smoothing > 0),
        marks: keep(marks, !this.drawnOnly || s._marksVisible) };
    }
    return traces;
  }

  /** Draw from scratch (Plotly.react reuses the DOM; used on first draw and on scope/x changes). */
  async render() {
    await plotlyReady();
    const traces = this._allTraces();
    if (!this.drawn) {
      await Plotly.newPlot(this.container, traces, this._layout(), CONFIG);
      this.drawn = true;
      this.container.on("plotly_relayout", (event) => this._relayout(event));
    } else {
      await Plotly.react(this.container, traces, this._layout(), CONFIG);
    }
    this._markCount();
  }

  _markCount() {
    let total = 0;
    for (const s of this.series) total += s.steps.length;
    this.container.dataset.points = String(total);
  }

  /** Live points: extend the series' traces in place. */
  extend(id, points) {
    const s = this.find(id);
    if (!s || !this.drawn) return 0;
    const lastStep = s.steps.length ? s.steps[s.steps.length - 1] : -1;
    const slots = s._slots;
    const x = []; const raw = []; const sm = []; const hover = [];
    const markX = []; const markY = []; const markText = [];
    let rewrote = false;
    for (let i = 0; i < points.steps.length; i++) {
      const step = points.steps[i];
      if (step <= lastStep) {
        // A step the series already reaches: the overlap of the first read and the
        // subscription (same value, nothing to do), an overwrite (the later value replaces the
        // earlier one, docs/api.md) or an earlier step logged late (drawn in its place).
        if (mergeEarlier(s, step, parseValue(points.values[i]), points.times[i], points.epochs ? points.epochs[i] : undefined)) rewrote = true;
        continue;
      }
      const v = parseValue(points.values[i]);
      const t = points.times[i];
      const e = points.epochs ? points.epochs[i] : undefined;
      s.steps.push(step); s.values.push(v); s.times.push(t); s.epochs.push(e);
      const xv = this.xFor(s, step, t, e);
      // No x yet (the x metric's point for this step has not arrived): kept in the series, drawn
      // by the render that the x metric's points bring.
      if (xv === null || xv === undefined) continue;
      x.push(xv);
      hover.push(formatValue(v));
      const smoothed = s._ema.push(v);
      if (Number.isFinite(v)) {
        raw.push(v); sm.push(smoothed); s._lastFinite = v;
      } else {
        raw.push(null); sm.push(null);
        markX.push(xv); markY.push(s._lastFinite ?? 0);
        markText.push(plotlyText(`${s.label}: ${formatValue(v)} at step ${step}`));
      }
    }
    if (rewrote) {
      // Points before the end changed: draw the series again from its (merged) points.
      this.render();
      return x.length + 1;
    }
    if (!x.length) return 0;
    if (markX.length && slots.marks < 0) {
      // The series' first non-finite value and no markers trace to extend: draw it all again.
      this.render();
      return x.length;
    }
    if (slots.smooth >= 0) {
      Plotly.extendTraces(this.container, { x: [x, x], y: [raw, sm], customdata: [hover, hover] }, [slots.raw, slots.smooth]);
    } else {
      Plotly.extendTraces(this.container, { x: [x], y: [raw], customdata: [hover] }, [slots.raw]);
    }
    if (markX.length) {
      Plotly.extendTraces(this.container, { x: [markX], y: [markY], text: [markText] }, [slots.marks]);
      if (!s._marksVisible) {
        s._marksVisible = true;
        Plotly.restyle(this.container, { visible: true }, [slots.marks]);
      }
    }
    if (this._flatValue != null && raw.some((v) => v !== null && v !== this._flatValue)) {
      this._flatValue = null;
      Plotly.relayout(this.container, { "yaxis.autorange": true });
    }
    this._markCount();
    return x.length;
  }

  /** Replace a series' points (zoom refetch) and redraw. */
  replace(id, data) {
    const s = this.find(id);
    if (!s) return;
    s.steps = data.steps; s.times = data.times; s.epochs = data.epochs || [];
    s.values = data.values.map(parseValue);
    s.downsampled = data.downsampled;
  }

  async setSmoothing(weight) {
    this.smoothing = clampWeight(weight);
    if (this.drawn) await this.render();
  }

  async setLog(logY) {
    this.logY = logY;
    if (this.drawn) await Plotly.relayout(this.container, { "yaxis.type": logY ? "log" : "linear", "yaxis.dtick": logY ? "D2" : null, ...this._relayoutY() });
  }

  _relayoutY() {
    const y = this._yRange();
    return y.range ? { "yaxis.range": y.range, "yaxis.autorange": false } : { "yaxis.autorange": true };
  }

  async setX(xMode, xTitle) {
    this.xMode = xMode;
    this.xTitle = xTitle;
    this.zoomed = null;
    if (this.drawn) {
      await Plotly.relayout(this.container, { "xaxis.autorange": true });
      await this.render();
    }
  }

  /** Show the x range another chart of the page was zoomed to (null: autorange), without
   * passing it on again. */
  async showRange(range) {
    if (!this.drawn) return;
    const axis = this.container._fullLayout && this.container._fullLayout.xaxis;
    // Already there: nothing to do (and no relayout event to bounce back).
    if (axis && (range ? !axis.autorange && String(axis.range) === String(range) : axis.autorange)) return;
    this._syncing = true;
    try {
      await Plotly.relayout(this.container, range ? { "xaxis.range": range } : { "xaxis.autorange": true });
    } finally {
      this._syncing = false;
    }
  }

  /** User zoom: translate the x range back into steps of each series and ask the page. */
  _relayout(event) {
    let x0 = event["xaxis.range[0]"];
    let x1 = event["xaxis.range[1]"];
    if (x0 === undefined && Array.isArray(event["xaxis.range"])) [x0, x1] = event["xaxis.range"];
    const reset = event["xaxis.autorange"] === true;
    if (this.onRange && !this._syncing && (reset || x0 !== undefined)) this.onRange(reset ? null : [x0, x1]);
    if (!this.onZoom) return;
    if (reset) {
      if (this.zoomed) { this.zoomed = null; this.onZoom(null); }
      return;
    }
    if (x0 === undefined) return;
    const toNum = (v) => (this.xMode === "wall" ? new Date(v).getTime() : Number(v));
    // A log axis reports its range in log10 units.
    const fromAxis = (v) => (this.logX && this.xMode !== "wall" ? 10 ** Number(v) : toNum(v));
    const lo = fromAxis(x0); const hi = fromAxis(x1);
    const ranges = {};
    for (const s of this.series) {
      if (isMetricX(this.xMode)) {
        // A metric need not grow with the step: the steps whose x is in view, first to last,
        // and one point either side (the points drawn may be a downsampled few).
        let first = -1; let last = -1;
        for (let i = 0; i < s.steps.length; i++) {
          const xv = this.xFor(s, s.steps[i], s.times[i], s.epochs[i]);
          if (xv === null || xv === undefined || xv < lo || xv > hi) continue;
          if (first < 0) first = i;
          last = i;
        }
        if (first >= 0) ranges[s.id] = { start: s.steps[Math.max(0, first - 1)], end: s.steps[Math.min(s.steps.length - 1, last + 1)] };
        continue;
      }
      let start = null; let end = null;
      for (let i = 0; i < s.steps.length; i++) {
        const raw = this.xFor(s, s.steps[i], s.times[i], s.epochs[i]);
        if (raw === null || raw === undefined) continue;
        const xv = toNum(raw);
        // One point either side of the window, so the line runs to the edges.
        if (xv < lo) { start = s.steps[i]; continue; }
        if (start === null) start = s.steps[i];
        end = s.steps[i];
        if (xv > hi) break;
      }
      if (start !== null) ranges[s.id] = { start, end: end ?? start };
    }
    this.zoomed = ranges;
    this.onZoom(ranges);
  }

  purge() {
    if (this.drawn) Plotly.purge(this.container);
    this.drawn = false;
  }
}

/** Zoom on one chart of a page and the others follow (same x range, or all back to autorange);
 * each chart then refetches its own detail as after a zoom of its own. */
export function linkZoom(charts) {
  for (const chart of charts) {
    chart.onRange = (range) => {
      for (const other of charts) if (other !== chart && other.showRange) other.showRange(range);
    };
  }
}

/** Hover on one chart of a page and the others show the hover (and spike line) at the same x.
 * `Plotly.Fx.hover` on another chart emits that chart's own `plotly_hover`: the `syncing` flag
 * keeps it from passing the hover on again (and on, in a loop between the charts). Charts are
 * MetricChart or BandChart; their containers are taken when the hover happens (a chart redrawn
 * by Plotly.react keeps its div). */
export function linkHover(charts) {
  let syncing = false;
  const drawn = () => charts.filter((c) => c.drawn && c.container._fullLayout);
  for (const chart of charts) {
    const div = chart.container;
    if (!div || !div.on || div._fitwatchHover === charts) continue;
    div._fitwatchHover = charts;
    div.on("plotly_hover", (event) => {
      if (syncing || !event || !event.points || !event.points.length || div._fitwatchHover !== charts) return;
      const xval = event.points[0].x;
      syncing = true;
      try {
        for (const other of drawn()) if (other !== chart) hoverAt(other.container, xval);
      } finally {
        syncing = false;
      }
    });
    div.on("plotly_unhover", () => {
      if (syncing || div._fitwatchHover !== charts) return;
      syncing = true;
      try {
        for (const other of drawn()) if (other !== chart) Plotly.Fx.unhover(other.container);
      } finally {
        syncing = false;
      }
    });
  }
}

/** Hover `div` at `xval`: in "x" modes Plotly picks the points itself; in "closest" mode it
 * wants points, so each visible trace's point nearest to `xval` is named. */
function hoverAt(div, xval) {
  const mode = div._fullLayout.hovermode;
  if (mode && String(mode).startsWith("x")) {
    Plotly.Fx.hover(div, { xval });
    return;
  }
  const target = xval instanceof Date ? xval.getTime() : typeof xval === "string" ? Date.parse(xval) || Number(xval) : Number(xval);
  const points = [];
  (div._fullData || []).forEach((trace, curveNumber) => {
    if (trace.visible !== true || trace.hoverinfo === "skip" || !trace.x || !trace.x.length) return;
    let best = -1; let bestDistance = Infinity;
    for (let i = 0; i < trace.x.length; i++) {
      if (trace.y[i] === null || trace.y[i] === undefined) continue;
      const x = trace.x[i];
      const d = Math.abs((x instanceof Date ? x.getTime() : typeof x === "string" ? Date.parse(x) : x) - target);
      if (d < bestDistance) { bestDistance = d; best = i; }
    }
    if (best >= 0) points.push({ curveNumber, pointNumber: best });
  });
  if (points.length) Plotly.Fx.hover(div, points);
}

/** Text for Plotly (titles, names, axis labels): Plotly renders a few HTML-like tags
 * (<b>, <a href>...) in its SVG text, so user-controlled strings are entity-escaped. */
export function plotlyText(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeTemplate(text) {
  // Templates also treat %{...} specially.
  return plotlyText(text).replace(/%/g, "%%");
}

/** Client-side min/max bucketing for long live tails; non-finite points are always kept. */
export function compactPoints(data, target) {
  const n = data.steps.length;
  if (n <= target) return data;
  const buckets = Math.max(1, Math.floor(target / 2));
  const size = n / buckets;
  const keep = new Set([0, n - 1]);
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(n, Math.floor((b + 1) * size));
    let iMin = -1; let iMax = -1;
    for (let i = lo; i < hi; i++) {
      const v = data.values[i];
      if (!Number.isFinite(v)) { keep.add(i); continue; }
      if (iMin < 0 || v < data.values[iMin]) iMin = i;
      if (iMax < 0 || v > data.values[iMax]) iMax = i;
    }
    if (iMin >= 0) keep.add(iMin);
    if (iMax >= 0) keep.add(iMax);
  }
  const idx = [...keep].sort((a, b) => a - b);
  const pick = (arr) => (arr && arr.length ? idx.map((i) => arr[i]) : []);
  return { steps: pick(data.steps), values: pick(data.values), times: pick(data.times), epochs: pick(data.epochs) };
}

/** Put a live point at or before a series' last step into the series: replace the value of a
 * step it holds, insert a step it lacks in step order. True when the series changed. */
export function mergeEarlier(s, step, value, time, epoch) {
  let lo = 0; let hi = s.steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.steps[mid] < step) lo = mid + 1; else hi = mid;
  }
  if (s.steps[lo] === step) {
    if (Object.is(s.values[lo], value)) return false;
    s.values[lo] = value; s.times[lo] = time;
    if (epoch !== undefined) s.epochs[lo] = epoch;
    return true;
  }
  if (s.epochs.length === s.steps.length) s.epochs.splice(lo, 0, epoch);
  s.steps.splice(lo, 0, step); s.values.splice(lo, 0, value); s.times.splice(lo, 0, time);
  return true;
}
