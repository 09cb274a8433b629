// Bands: one chart of a metric for groups of runs, drawn from GET /series/groups. Per group
// and key: the mean line, a mean ± std band and a fainter min–max band, in the group's colour.

import { parseValue, formatValue, plotlyReady, plotlyText, chartTheme, spikes } from "./charts.js";
import { flatRange } from "./toolbar.js";
import { isValidation } from "./metrics.js";

/** rgba() of a "#rrggbb" colour. */
export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/**
 * The traces of one group's key: min, max (filled to min), mean − std, mean + std (filled),
 * mean. Buckets are drawn at their middle step (`step_width` steps each).
 */
export function bandTraces({ label, key, color, stats, width }) {
  // The runs' own keys behind the figure when they are not the metric's name (acc, accuracy).
  const logged = stats.logged_keys || [];
  const shown = logged.some((k) => k !== key) ? `${key} (${logged.join(", ")})` : key;
  const x = stats.steps.map((s) => s + (width - 1) / 2);
  const mean = stats.mean.map(parseValue);
  const std = stats.std.map(parseValue);
  const fin = (v) => (Number.isFinite(v) ? v : null);
  const dash = isValidation(key) ? "dot" : "solid";
  const name = plotlyText(`${label} \u00b7 ${shown}`);
  const hover = stats.mean.map((m, i) => `${formatValue(m, 6)} \u00b1 ${formatValue(stats.std[i], 3)} `
    + `(n=${stats.count[i]}, min ${formatValue(stats.min[i], 6)}, max ${formatValue(stats.max[i], 6)})`);
  const edge = { width: 0, color };
  const common = { type: "scatter", mode: "lines", x, legendgroup: name, showlegend: false, hoverinfo: "skip" };
  return [
    { ...common, name: `${name} min`, y: stats.min.map((v) => fin(parseValue(v))), line: edge, meta: "band-min" },
    { ...common, name: `${name} max`, y: stats.max.map((v) => fin(parseValue(v))), line: edge,
      fill: "tonexty", fillcolor: withAlpha(color, 0.1), meta: "band-max" },
    { ...common, name: `${name} \u2212std`, y: mean.map((m, i) => fin(m - std[i])), line: edge, meta: "band-lo" },
    { ...common, name: `${name} +std`, y: mean.map((m, i) => fin(m + std[i])), line: edge,
      fill: "tonexty", fillcolor: withAlpha(color, 0.28), meta: "band-hi" },
    { type: "scatter", mode: "lines", name, x, y: mean.map(fin), legendgroup: name, showlegend: true,
      line: { color, width: 2, dash }, customdata: hover, meta: "band-mean",
      hovertemplate: `${plotlyText(`${label} \u00b7 ${shown}`).replace(/%/g, "%%")}: %{customdata}<extra></extra>` },
  ];
}

/** A chart of one metric's groups; `render(groups)` draws (or redraws) it. */
export class BandChart {
  constructor(container, { title, xTitle = "step", logY = false, logX = false, height = 300 } = {}) {
    this.logX = logX;
    this.container = container;
    this.title = title;
    this.xTitle = xTitle;
    this.logY = logY;
    this.height = height;
    this.drawn = false;
    this.series = []; // the MetricChart interface the page iterates over (none here)
  }

  /** `groups`: [{label, color, series: [{key, steps, count, mean, std, min, max}]}]; `keys` to draw. */
  async render(groups, keys, width) {
    await plotlyReady();
    const traces = [];
    for (const g of groups) {
      for (const key of keys) {
        const stats = g.series.find((s) => s.key === key);
        if (stats) traces.push(...bandTraces({ label: g.label, key, color: g.color, stats, width }));
      }
    }
    this._traces = traces;
    const theme = chartTheme();
    const layout = {
      margin: { l: 56, r: 14, t: 34, b: 40 }, height: this.height, hovermode: "x unified", uirevision: "keep",
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: theme.plot,
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: theme.text },
      title: { text: plotlyText(this.title), x: 0, xanchor: "left", font: { size: 14, color: theme.title } },
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", font: { size: 11 } },
      xaxis: { type: this.logX ? "log" : "linear", title: { text: plotlyText(this.xTitle), font: { size: 11, color: theme.muted } }, gridcolor: theme.grid, zeroline: false,
        linecolor: theme.line, showline: true, ...spikes(theme) },
      yaxis: { type: this.logY ? "log" : "linear", gridcolor: theme.grid, zeroline: false, linecolor: theme.line, showline: true,
        tickformat: "~g", hoverformat: ".6g", ...this._yRange(traces) },
    };
    const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
    if (this.drawn) await Plotly.react(this.container, traces, layout, config);
    else await Plotly.newPlot(this.container, traces, layout, config);
    this.drawn = true;
    this.container.dataset.groups = String(groups.length);
  }

  /** Bands of one value (a learning rate every seed shares) get an axis around it, as a
   * run line does (`flatRange`); anything else autoranges. */
  _yRange(traces) {
    const range = flatRange(traces.flatMap((t) => t.y), { log: this.logY });
    return range ? { range, autorange: false } : { autorange: true };
  }

  // The page's toolbar calls these on every chart. Bands are figures per step bucket: they
  // are not smoothed again and stay on steps whatever the x axis of the run lines is.
  async setSmoothing() {}

  async setX() {}

  async setLogX(logX) {
    this.logX = logX;
    if (this.drawn) await Plotly.relayout(this.container, { "xaxis.type": logX ? "log" : "linear", "xaxis.autorange": true });
  }

  // The outlier toggle acts on run lines; a band already spans the runs' spread.
  async setOutliers() {}

  async setLog(logY) {
    this.logY = logY;
    if (!this.drawn) return;
    const y = this._yRange(this._traces);
    await Plotly.relayout(this.container, { "yaxis.type": logY ? "log" : "linear", "yaxis.autorange": y.autorange, ...(y.range ? { "yaxis.range": y.range } : {}) });
  }

  purge() {
    if (this.drawn) Plotly.purge(this.container);
    this.drawn = false;
  }
}
