// Compare page: the chosen runs overlaid per metric (one colour per run across every chart),
// config differences, final and best values, parallel coordinates of hyperparameters.

import { el, append, setText, replaceChildren, pageFrame, callbackSnippet } from "../dom.js";
import * as api from "../api.js";
import { LiveClient } from "../live.js";
import { parseState, serializeState } from "../urlstate.js";
import { MetricChart, linkZoom, linkHover, colorFor, formatValue, parseValue, plotlyText, chartTheme, fullPlotly, startPlotly } from "../charts.js";
import { SCOPES as WIRE_SCOPES } from "../wire.js";
import { BandChart } from "../bands.js";
import { ChartLayout } from "../layout.js";
import { bandChoices, configDiff } from "../grouping.js";
import { ChartToolbar, applyToCharts, metricXKey, metricXModes, xSourceScope, X_SCOPE_FALLBACK } from "../toolbar.js";
import { SCHEMA, chartMaxPoints, pointsPerLine, readRuns, startReads, takeFirstReads } from "./compare_first_reads.js";
import { groupKeys, isValidation, compiledMetrics, parseTime, displayValue, alignedKey, directionOf } from "../metrics.js";

// Also the runs page's "Group by" (grouping.js); kept importable from here.
export { bandChoices, configDiff };

// The scopes come from wire.js (the SDK's list); only their labels and notes live here.
const SCOPE_TEXT = {
  batch: { label: "batch", note: "batch: Keras's running means since each epoch began (not each batch's own value)." },
  batch_derived: { label: "batch (derived)", note: "batch (derived): per-batch values recovered from running means by fitwatch; exact only with equal batch weights." },
  epoch: { label: "epoch", note: "epoch: end-of-epoch values (equal to History.history). Solid lines: training; dotted: validation." },
  eval: { label: "evaluate", note: "evaluate: model.evaluate() results." },
};
const SCOPES = WIRE_SCOPES.map((id) => ({ id, label: id, note: "", ...SCOPE_TEXT[id] }));

const X_MODES = [["step", "step"], ["relative", "relative time"], ["wall", "wall time"]];
export function mount(root) {
  const page = new ComparePage(root);
  window.fitwatchReady = page.start();
  window.fitwatchPage = page;
  return page;
}

class ComparePage {
  constructor(root) {
    this.root = root;
    this.state = parseState(location.search, SCHEMA);
    this.runs = [];
    this.charts = [];
    this.byId = new Map();
    this.pending = null;
    this.loadedXKey = null; // the metric drawn as the x axis, if any
  }

  async start() {
    const frame = pageFrame("compare");
    this.main = frame.main;
    append(this.root, [frame.header, frame.banner, frame.main]);
    api.on("online", () => { if (!this.runs.length || !this.chartsLoaded) { if (this.live) this.live.stop(); this.load(); } });
    await this.load();
  }

  pushState() {
    history.replaceState(null, "", `${location.pathname}${serializeState(this.state, SCHEMA)}`);
  }

  async load() {
    if (!this.state.runs.length) {
      replaceChildren(this.main, el("div", { class: "page-head" }, el("h1", {}, "Compare runs")),
        el("div", { class: "empty", id: "empty-state" },
          el("h2", {}, "No runs chosen"),
          el("p", {}, "Tick two or more runs on the runs page and press Compare; the choice is kept in this page's address."),
          el("a", { class: "btn primary", href: this.state.project ? `./?project=${encodeURIComponent(this.state.project)}` : "./" }, "Choose runs"),
          el("p", {}, "No runs at all yet? Add the callback to model.fit():"), callbackSnippet(this.state.project)));
      document.documentElement.dataset.ready = "1";
      return;
    }
    // The series are asked for beside the runs, rather than once the runs say which keys there
    // are, and on the first load before this module even ran (compare_first_reads.js; issue 11:
    // first paint). loadCharts checks the series answer fits what it would ask.
    const reads = takeFirstReads() ?? startReads(this.state);
    this.early = reads.seriesRead ? reads : null;
    let found;
    try {
      const early = reads.runs.join("\u0000") === this.state.runs.join("\u0000") ? await reads.runsRead : null;
      found = (early ?? (await readRuns(this.state.runs))).runs;
    } catch {
      return; // offline: the banner shows and "online" loads again
    }
    const byId = new Map(found.map((r) => [r.id, r]));
    this.missing = this.state.runs.filter((id) => !byId.has(id));
    this.runs = this.state.runs.filter((id) => byId.has(id)).map((id) => byId.get(id));
    this.colors = new Map(this.state.runs.map((id, i) => [id, colorFor(i)]));
    if (!this.state.project && this.runs.length) this.state.project = this.runs[0].project;
    this.pushState();
    this.t0 = new Map(this.runs.map((r) => [r.id, (parseTime(r.created_at) ?? 0) / 1000]));
    this.renderShell();
    this.live = new LiveClient({ runs: this.runs.map((r) => r.id),
      onPoints: (m) => this.onPoints(m), onRun: (run) => this.onRun(run),
      // A run deleted for good (or moved away) while compared: read the runs again, so its
      // lines go and the page says it is not found, as when the page is opened.
      onRunDeleted: (id) => { if (this.state.runs.includes(id)) this.reloadSoon(); },
      // The project's chart layout for compare pages, as other pages save it.
      layouts: this.state.project ? [this.state.project] : [], onLayout: (layout) => this.layout.apply(layout),
      // After a reconnect (or a resync) the run changes missed meanwhile are not replayed:
      // read the runs again (a rename or a deletion redraws the page).
      onResync: () => { this.layout.load().then(() => this.layout.arrange()); this.refreshRuns(); } });
    // Cursors for the live resume. The lines drawn from the series read take theirs from that
    // read (loadCharts): the runs' answer can be newer than it (the two reads go out together),
    // and a cursor past what was drawn would skip the points logged in between for good.
    const drawnFromRead = this.state.group ? null : this.state.scope;
    for (const r of this.runs) {
      for (const s of r.series || []) if (s.scope !== drawnFromRead) this.live.seen(r.id, s.key, s.scope, s.last_step);
    }
    await this.loadCharts();
    this.renderTables();
    this.live.start();
  }

  renderShell() {
    const legend = el("div", { class: "chart-legend", id: "run-legend" }, this.runs.map((r) => el("span", {},
      el("span", { class: "swatch", style: `background:${this.colors.get(r.id)}` }),
      el("a", { href: `run.html?run=${encodeURIComponent(r.id)}` }, r.name),
      el("span", { class: `status ${r.status}`, style: "margin-left:6px", dataset: { statusOf: r.id } }, r.status),
      el("button", { class: "btn", style: "min-height:0;padding:0 6px;margin-left:4px;border:0", title: "remove from the comparison",
        onclick: () => this.remove(r.id) }, "\u00d7"))));
    this.toolbar = el("div", { class: "toolbar", id: "controls" });
    this.note = el("p", { class: "note", id: "scope-note" });
    this.chartsHost = el("div", { class: "charts", id: "charts" });
    this.hiddenHost = el("div", { class: "hidden-charts", id: "hidden-charts", hidden: true });
    // The project's saved chart order and hidden charts, read while the series load.
    this.layout = new ChartLayout({ project: this.state.project, page: "compare", host: this.chartsHost, hiddenHost: this.hiddenHost });
    this.layoutReady = this.layout.load();
    this.tables = el("div", { id: "tables" });
    replaceChildren(this.main,
      el("div", { class: "page-head" },
        el("div", {}, el("h1", {}, `Compare ${this.runs.length} runs`),
          el("div", { class: "subtle" }, `project ${this.state.project}`,
            this.missing.length ? ` \u00b7 not found: ${this.missing.join(", ")}` : "")),
        el("a", { class: "btn", href: `./?project=${encodeURIComponent(this.state.project)}&sel=${this.state.runs.join(",")}` }, "Change selection")),
      legend, this.toolbar, this.note, this.hiddenHost, this.chartsHost, this.tables);
    this.renderToolbar();
  }

  remove(id) {
    this.state.runs = this.state.runs.filter((r) => r !== id);
    this.pushState();
    this.reload();
  }

  reload() {
    clearTimeout(this.reloadTimer);
    if (this.live) this.live.stop();
    for (const c of this.charts) c.purge();
    this.charts = [];
    this.load();
  }

  /** A series of the view's scope that has no line (or band) yet: read the runs again, once. */
  newSeriesSeen(id) {
    this.newSeries ||= new Set();
    if (this.newSeries.has(id)) return;
    this.newSeries.add(id);
    this.reloadSoon();
  }

  /** The compared runs as the server has them now, through onRun; one gone: reload. */
  async refreshRuns() {
    let found;
    try {
      found = (await readRuns(this.runs.map((r) => r.id))).runs;
    } catch { return; }
    for (const run of found) this.onRun(run);
    if (found.length < this.runs.length) this.reloadSoon();
  }

  /** One reload for a burst of changes (a project deleted is a `run_deleted` per run). */
  reloadSoon() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.reload(), 100);
  }

  renderToolbar() {
    if (!this.toolbarControl) {
      this.toolbarControl = new ChartToolbar(this.toolbar, {
        state: this.state, scopes: SCOPES, xModes: () => [...X_MODES, ...metricXModes(this.scopeKeys())], note: this.note,
        available: () => new Set(this.runs.flatMap((r) => (r.series || []).map((s) => s.scope))),
        extra: () => [this.bandsControl()],
        noteSuffix: () => (this.state.group ? " Bands: mean \u00b1 std (darker) and min\u2013max (lighter) across each group's runs, per step bucket." : ""),
        onChange: (kind) => this.onToolbar(kind),
      });
    }
    this.toolbarControl.note = this.note;
    this.toolbarControl.host = this.toolbar;
    this.toolbarControl.render();
  }

  onToolbar(kind) {
    this.pushState();
    // A metric as the x axis (or leaving one): its points are read with the charts'.
    if (kind === "scope" || (kind === "x" && (metricXKey(this.xMode()) !== null || this.loadedXKey !== null))) {
      this.loadCharts();
      return;
    }
    if (kind === "smooth") {
      clearTimeout(this.smoothTimer);
      this.smoothTimer = setTimeout(() => applyToCharts(this.charts, kind, this.state), 30);
      return;
    }
    applyToCharts(this.charts, kind, this.state, this.xTitle());
  }

  bandsControl() {
    const choices = bandChoices(this.runs.map((r) => r.config));
    if (this.state.group && !choices.some(([v]) => v === this.state.group)) choices.push([this.state.group, this.state.group]);
    return el("label", {}, "Bands", el("select", { id: "bands", title: "group runs and draw each group's mean ± std and min–max",
      onchange: (e) => { this.state.group = e.target.value; this.pushState(); this.renderToolbar(); this.loadCharts(); } },
    choices.map(([value, label]) => el("option", { value, selected: value === this.state.group }, label))));
  }

  /** The keys the runs logged in the scope (and its fallback, toolbar.js), each a choice of x axis. */
  scopeKeys() {
    const scopes = [this.state.scope, X_SCOPE_FALLBACK[this.state.scope]];
    return this.runs.flatMap((r) => (r.series || []).filter((s) => scopes.includes(s.scope)).map((s) => s.key));
  }

  /** The scope the x metric `key` is read from, or null when no run has it for this view. */
  xScope(key) {
    const has = (scope, k) => this.runs.some((r) => (r.series || []).some((s) => s.scope === scope && s.key === k));
    return xSourceScope(this.state.scope, key, has);
  }

  /** The x mode drawn: the state's, or step when no run logged its metric in this scope. */
  xMode() {
    const key = metricXKey(this.state.x);
    return key === null || this.xScope(key) !== null ? this.state.x : "step";
  }

  xTitle() {
    const key = metricXKey(this.xMode());
    if (key !== null) return `${key} (each run's, at the same step)`;
    return { step: this.state.scope === "epoch" ? "epoch" : "step", relative: "seconds since each run started", wall: "wall time" }[this.xMode()];
  }

  xFor(s, step, time) {
    const mode = this.xMode();
    if (metricXKey(mode) !== null) {
      // The run's own value of the x metric at the same step (join by step).
      const x = this.xValues && this.xValues.get(s.runId) ? this.xValues.get(s.runId).get(step) : undefined;
      return Number.isFinite(x) ? x : null;
    }
    if (mode === "wall") return new Date(time * 1000);
    if (mode === "relative") return time - this.t0.get(s.runId);
    return step;
  }

  maxPoints(first = this.chartsHost.querySelector(".chart")) {
    return chartMaxPoints(first);
  }

  /** Points asked for per run and key for a whole view (pointsPerLine). A zoom asks for
   * `maxPoints()` in its window: full detail where the user looks. */
  lineMaxPoints(first, runs = this.runs.length) {
    return pointsPerLine(this.maxPoints(first), runs);
  }

  /** The early read when it asked what loadCharts is about to ask, else null. */
  fitsEarly(early, runs, scope, maxPoints) {
    if (!early || early.scope !== scope || early.maxPoints !== maxPoints || early.runs.join("\u0000") !== runs.join("\u0000")) return null;
    return early.seriesRead;
  }

  /** Whether `series` has every series the runs' summaries list in `scope` (a key logged
   * between the two answers would otherwise have no line). */
  covers(series, scope) {
    const have = new Set(series.map((d) => `${d.run_id}\u0000${d.key}`));
    return this.runs.every((r) => (r.series || []).every((s) => s.scope !== scope || have.has(`${r.id}\u0000${s.key}`)));
  }

  async loadCharts() {
    const started = performance.now();
    const scope = this.state.scope;
    // The early read serves the first drawing only: any later one reads afresh.
    const early = this.early;
    this.early = null;
    this.pending = [];
    for (const c of this.charts) c.purge();
    this.charts = [];
    this.byId.clear();
    replaceChildren(this.chartsHost);
    const keys = [...new Set(this.runs.flatMap((r) => (r.series || []).filter((s) => s.scope === scope).map((s) => s.key)))];
    if (!keys.length) {
      replaceChildren(this.chartsHost, el("div", { class: "empty", id: "empty-state" }, el("h2", {}, `No ${scope} values in these runs`),
        el("p", {}, "Pick another scope above.")));
      this.pending = null;
      this.markReady(started);
      return;
    }
    // Charts are per metric as Keras computed it (the manifest): one run's `acc` and another's
    // `accuracy` share a chart; each line keeps its run's own key in its label.
    const realKeys = alignedKeys(this.runs, scope);
    const order = compiledMetrics(this.runs[0]).map((k) => alignedKey(this.runs[0], k));
    const groups = groupKeys([...realKeys.keys()], order);
    const cards = groups.map((g) => {
      const div = el("div", { class: "chart", dataset: { key: g.base } });
      this.chartsHost.append(el("div", { class: "chart-card" }, div));
      return { group: g, div };
    });
    if (this.state.group) {
      await this.loadBands(cards, started);
      return;
    }
    const xKey = metricXKey(this.xMode());
    let data;
    let xData = [];
    try {
      // One request for every run and key: the server uses the same step buckets for every run.
      const runIds = this.runs.map((r) => r.id);
      const maxPoints = this.lineMaxPoints();
      const fresh = () => api.readMany({ runs: runIds, keys, scope, max_points: maxPoints });
      const fits = xKey === null ? this.fitsEarly(early, runIds, scope, maxPoints) : null;
      const read = fits ? fits.then((body) => (body && this.covers(body.series, scope) ? body : fresh())) : fresh();
      // The x metric at every step of each run (never downsampled), for the join by step.
      const xRead = xKey === null ? null : api.readMany({ runs: this.runs.map((r) => r.id), keys: [xKey], scope: this.xScope(xKey) });
      startPlotly(); // executes while the server reads the series
      data = (await read).series;
      if (xRead) xData = (await xRead).series;
      await this.layoutReady;
    } catch {
      this.chartsLoaded = false;
      return;
    }
    if (scope !== this.state.scope) return;
    this.chartsLoaded = true;
    this.loadedXKey = xKey;
    this.loadedXScope = xKey === null ? null : this.xScope(xKey);
    this.xValues = xKey === null ? null : new Map(xData.map((d) => [d.run_id, new Map(d.steps.map((step, i) => [step, parseValue(d.values[i])]))]));
    this.attachLayout(cards);
    const names = new Map(this.runs.map((r) => [r.id, r.name]));
    for (const { group, div } of cards) {
      const chart = new MetricChart(div, { title: group.base, xFor: (s, step, t) => this.xFor(s, step, t), xMode: this.xMode(),
        xTitle: this.xTitle(), logY: this.state.log, logX: this.state.logx, outliers: this.state.outliers,
        smoothing: this.state.smooth, showLegend: false, hovermode: "closest", drawnOnly: true,
        onZoom: (ranges) => this.zoom(chart, ranges) });
      for (const run of this.runs) {
        for (const [aligned, key] of group.keys.flatMap((a) => (realKeys.get(a).get(run.id) || []).map((k) => [a, k]))) {
          const d = data.find((x) => x.run_id === run.id && x.key === key);
          if (!d) continue;
          const s = chart.add({ id: `${run.id}\u0000${key}\u0000${scope}`, runId: run.id, key, scope, label: `${names.get(run.id)} \u00b7 ${key}`,
            color: this.colors.get(run.id), dash: isValidation(aligned) ? "dot" : "solid",
            steps: d.steps, values: d.values, times: d.times, epochs: d.epochs || [], downsampled: d.downsampled });
          this.byId.set(s.id, chart);
          if (d.steps.length) this.live.seen(run.id, key, scope, d.steps[d.steps.length - 1]);
        }
      }
      this.charts.push(chart);
    }
    await Promise.all(this.charts.map((c) => c.render()));
    linkZoom(this.charts);
    linkHover(this.charts);
    const pending = this.pending;
    this.pending = null;
    for (const m of pending) this.onPoints(m);
    this.markReady(started);
  }

  attachLayout(cards) {
    this.layout.attach(cards.map(({ group, div }) => ({ id: group.base, card: div.parentElement })));
  }

  /** Bands mode: one /series/groups request for every chart; groups coloured in order. The
   * server reads each run's keys by the metric Keras computed (align=metric), so a group whose
   * runs logged `acc` or `accuracy` draws one band; the legend names the keys behind it. */
  async loadBands(cards, started) {
    const scope = this.state.scope;
    const filter = `id in (${this.runs.map((r) => JSON.stringify(r.id)).join(", ")})`;
    const keys = cards.flatMap((c) => c.group.keys);
    let body;
    try {
      body = await api.readGroups({ filter, group_by: this.state.group, keys, scope, max_points: this.maxPoints(), align: "metric" });
      await this.layoutReady;
    } catch (error) {
      this.pending = null;
      this.chartsLoaded = false;
      if (error.status) replaceChildren(this.chartsHost, el("div", { class: "empty", id: "empty-state" }, el("h2", {}, "Cannot group these runs"), el("p", {}, error.detail)));
      this.markReady(started);
      return;
    }
    if (scope !== this.state.scope) return;
    this.chartsLoaded = true;
    this.attachLayout(cards);
    const groups = body.groups.map((g, i) => ({ ...g, color: colorFor(i) }));
    this.bandGroups = groups;
    for (const { group, div } of cards) {
      const chart = new BandChart(div, { title: group.base, xTitle: scope === "epoch" ? "epoch" : "step", logY: this.state.log, logX: this.state.logx });
      chart.keys = group.keys;
      this.charts.push(chart);
    }
    await Promise.all(this.charts.map((c) => c.render(groups, c.keys, body.step_width)));
    linkHover(this.charts);
    this.pending = null;
    this.markReady(started);
  }

  /** Live points in bands mode: the figures change for the whole group, so ask again (at most every 2 s). */
  refreshBands() {
    if (this.bandTimer) return;
    this.bandTimer = setTimeout(async () => {
      this.bandTimer = null;
      const keys = this.charts.flatMap((c) => c.keys || []);
      if (!this.state.group || !keys.length) return;
      const filter = `id in (${this.runs.map((r) => JSON.stringify(r.id)).join(", ")})`;
      let body;
      try {
        body = await api.readGroups({ filter, group_by: this.state.group, keys, scope: this.state.scope, max_points: this.maxPoints(), align: "metric" });
      } catch { return; }
      const groups = body.groups.map((g, i) => ({ ...g, color: colorFor(i) }));
      for (const c of this.charts) if (c instanceof BandChart) await c.render(groups, c.keys, body.step_width);
    }, 2000);
  }

  markReady(started) {
    const root = document.documentElement;
    // Wait for the browser to paint what Plotly drew before calling the page ready.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      root.dataset.readyMs = String(Math.round(performance.now()));
      root.dataset.chartsMs = String(Math.round(performance.now() - started));
      root.dataset.ready = "1";
    }));
  }

  async zoom(chart, ranges) {
    const targets = chart.series.filter((s) => s.downsampled || s.partial);
    if (!targets.length) return;
    // Same start/end for every run: the visible step window (union of the runs' ranges).
    let start = null; let end = null;
    if (ranges) {
      for (const r of Object.values(ranges)) {
        start = start === null ? r.start : Math.min(start, r.start);
        end = end === null ? r.end : Math.max(end, r.end);
      }
    }
    const runs = [...new Set(targets.map((s) => s.runId))];
    const keys = [...new Set(targets.map((s) => s.key))];
    let data;
    try {
      // In a window, the chart's full detail; back to the whole range, the view's budget.
      const maxPoints = ranges ? this.maxPoints() : this.lineMaxPoints();
      data = (await api.readMany({ runs, keys, scope: this.state.scope, max_points: maxPoints, start, end })).series;
    } catch { return; }
    for (const s of targets) {
      const d = data.find((x) => x.run_id === s.runId && x.key === s.key);
      if (!d) continue;
      chart.replace(s.id, d);
      s.partial = Boolean(ranges);
      s.downsampled = d.downsampled || s.partial;
    }
    await chart.render();
  }

  onPoints(m) {
    if (this.pending) { this.pending.push(m); return; }
    if (this.state.group) {
      if (m.scope !== this.state.scope) return;
      if (this.charts.some((c) => (c.keys || []).includes(m.key))) this.refreshBands();
      else this.newSeriesSeen(`${m.run_id}\u0000${m.key}\u0000${m.scope}`); // a metric with no band yet
      return;
    }
    if (this.xValues && m.key === this.loadedXKey && m.scope === this.loadedXScope) {
      // New x values: points already stored at those steps can be drawn now.
      if (!this.xValues.has(m.run_id)) this.xValues.set(m.run_id, new Map());
      m.steps.forEach((step, i) => this.xValues.get(m.run_id).set(step, parseValue(m.values[i])));
      clearTimeout(this.xRenderTimer);
      this.xRenderTimer = setTimeout(() => Promise.all(this.charts.map((c) => c.render())), 200);
    }
    const id = `${m.run_id}\u0000${m.key}\u0000${m.scope}`;
    const chart = this.byId.get(id);
    if (!chart) {
      // A series of the view's scope first logged after the runs were read (a new metric, a
      // run's first points): read the runs again, once per series, so it gets its line.
      if (m.scope === this.state.scope) this.newSeriesSeen(id);
      return;
    }
    if (chart.find(id).partial) return;
    chart.extend(id, m);
  }

  onRun(run) {
    const i = this.runs.findIndex((r) => r.id === run.id);
    if (i < 0) return;
    const before = this.runs[i];
    this.runs[i] = { ...before, ...run, series: before.series };
    const badge = this.main.querySelector(`[data-status-of="${CSS.escape(run.id)}"]`);
    if (badge) { badge.className = `status ${run.status}`; badge.textContent = run.status; }
    // Renamed (legend, line names, tables) or moved to the trash: draw the page again.
    if (run.name !== before.name || (run.deleted_at && !before.deleted_at)) this.reloadSoon();
  }

  renderTables() {
    const runs = this.runs;
    const head = () => el("tr", {}, el("th", {}, ""), runs.map((r) => el("th", {},
      el("span", { class: "swatch", style: `background:${this.colors.get(r.id)}` }), r.name)));
    // Config differences.
    const diff = configDiff(runs.map((r) => r.config));
    const diffTable = diff.length
      ? el("div", { class: "table-wrap" }, el("table", { class: "data plain-head", id: "config-diff" }, el("thead", {}, head()),
          el("tbody", {}, diff.map((row) => el("tr", {}, el("td", { class: "mono" }, `config.${row.path}`),
            row.values.map((v, i) => el("td", { class: row.present[i] ? "diff mono wrap" : "missing mono" },
              row.present[i] ? displayValue(v) : "(not set)")))))))
      : el("p", { class: "subtle", id: "config-diff" }, runs.length > 1 ? "These runs have the same config." : "Add another run to see config differences.");
    // Final and best values per metric (epoch scope, as History.history).
    // Rows per metric as Keras computed it; "best" follows the manifest's direction (none when unknown).
    this.epochKeys = alignedKeys(runs, "epoch", (key) => !key.includes("/"));
    const keys = [...this.epochKeys.keys()].sort(
      (a, b) => Number(isValidation(a)) - Number(isValidation(b)) || a.localeCompare(b));
    const rows = [];
    for (const key of keys) {
      const realKey = (r) => (this.epochKeys.get(key).get(r.id) || [])[0];
      const direction = this.directionFor(key);
      const low = direction === "min";
      const summaries = runs.map((r) => (r.series || []).find((s) => s.key === realKey(r) && s.scope === "epoch"));
      const best = summaries.map((s) => (s ? (low ? s.min_value : s.max_value) : null));
      const bestStep = summaries.map((s) => (s ? (low ? s.min_step : s.max_step) : null));
      const finite = best.map((v) => (v === null ? NaN : parseValue(v)));
      const winner = finite.reduce((w, v, i) => (Number.isNaN(v) ? w : w < 0 || (low ? v < finite[w] : v > finite[w]) ? i : w), -1);
      const lastV = summaries.map((s) => (s ? parseValue(s.last_value) : NaN));
      const lastWinner = lastV.reduce((w, v, i) => (Number.isNaN(v) ? w : w < 0 || (low ? v < lastV[w] : v > lastV[w]) ? i : w), -1);
      const spelled = (i) => (summaries[i] && summaries[i].key !== key ? `logged as ${summaries[i].key}` : undefined);
      if (direction === null) {
        rows.push(el("tr", {}, el("td", { class: "mono", title: "no direction known for this metric: no value is called best" }, `${key} final`),
          summaries.map((s, i) => el("td", { class: "num", title: spelled(i) }, s ? formatValue(s.last_value, 5) : "\u2013"))));
        continue;
      }
      rows.push(el("tr", {}, el("td", { class: "mono" }, `${key} final`),
        summaries.map((s, i) => el("td", { class: `num${i === lastWinner && runs.length > 1 ? " best" : ""}`, title: spelled(i) }, s ? formatValue(s.last_value, 5) : "\u2013"))));
      rows.push(el("tr", {}, el("td", { class: "mono" }, `${key} best (${low ? "min" : "max"})`),
        best.map((v, i) => el("td", { class: `num${i === winner && runs.length > 1 ? " best" : ""}` },
          v === null ? "\u2013" : [formatValue(v, 5), el("span", { class: "epoch" }, ` @${bestStep[i]}`)]))));
    }
    const valuesTable = keys.length
      ? el("div", { class: "table-wrap" }, el("table", { class: "data plain-head", id: "metric-values" }, el("thead", {}, head()), el("tbody", {}, rows)))
      : el("p", { class: "subtle" }, "No epoch values yet.");
    this.parcoordsHost = el("div", { id: "parcoords", style: "width:100%;height:340px" });
    const metricKeys = keys.filter((k) => this.directionFor(k) !== null);
    if (!this.state.metric || !metricKeys.includes(this.state.metric)) {
      this.state.metric = metricKeys.includes("val_loss") ? "val_loss" : metricKeys.includes("loss") ? "loss" : metricKeys[0] || "";
    }
    const metricSelect = el("select", { id: "parcoords-metric", onchange: (e) => { this.state.metric = e.target.value; this.pushState(); this.renderParcoords(diff); } },
      metricKeys.map((k) => el("option", { value: k, selected: k === this.state.metric }, k)));
    replaceChildren(this.tables,
      el("div", { class: "panel" }, el("h2", {}, "Final and best values (epoch)"), valuesTable),
      el("div", { class: "panel" }, el("h2", {}, `Config differences (${diff.length})`),
        el("p", { class: "subtle" }, "Only what differs between the runs; highlighted cells differ."), diffTable),
      el("div", { class: "panel" }, el("div", { class: "page-head", style: "margin:0" }, el("h2", {}, "Hyperparameters vs metric"),
        el("label", { class: "field" }, "metric (best)", metricSelect)), this.parcoordsHost));
    this.renderParcoords(diff);
  }

  /** The direction of an aligned epoch key: the first run whose manifest or catalog knows it. */
  directionFor(key) {
    for (const r of this.runs) {
      for (const real of (this.epochKeys.get(key) || new Map()).get(r.id) || []) {
        const d = directionOf(r, real);
        if (d) return d;
      }
    }
    return null;
  }

  renderParcoords(diff) {
    // Parallel coordinates draw with WebGL, the slowest chart here: draw it when it scrolls into view.
    // ...or shortly after the metric charts have painted, whichever comes first.
    if (this.parcoordsObserver) this.parcoordsObserver.disconnect();
    clearTimeout(this.parcoordsTimer);
    let done = false;
    const draw = () => {
      if (done) return;
      done = true;
      this.parcoordsObserver.disconnect();
      clearTimeout(this.parcoordsTimer);
      this.drawParcoords(diff);
    };
    this.parcoordsObserver = new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) draw(); });
    this.parcoordsObserver.observe(this.parcoordsHost);
    this.parcoordsTimer = setTimeout(draw, 500);
  }

  async drawParcoords(diff) {
    const runs = this.runs;
    if (runs.length < 2 || !this.state.metric) {
      replaceChildren(this.parcoordsHost, el("p", { class: "subtle" }, "Compare two or more runs with epoch values to see hyperparameters against a metric."));
      return;
    }
    const dims = [];
    const labels = new Set();
    // Learning rates first, then the optimizer, then the user's own config keys, then the rest.
    const rank = (path) => (/learning_rate|(^|\.)lr$/.test(path) ? 0 : path === "optimizer.class_name" ? 1 : !path.includes(".") ? 2 : 3);
    const candidates = diff.filter((row) => !/^(environment|model|compile|fits)\b/.test(row.path) && !row.path.endsWith(".name"))
      .sort((a, b) => rank(a.path) - rank(b.path));
    for (const row of candidates) {
      const label = shortLabel(row.path);
      if (labels.has(label)) continue;
      const vals = row.values;
      if (vals.every((v) => typeof v === "number")) {
        // Learning rates spread over decades: show them on a log10 axis.
        const logScale = rank(row.path) === 0 && vals.every((v) => v > 0);
        dims.push(logScale ? { label: `log10 ${label}`, values: vals.map(Math.log10) } : { label, values: vals });
      } else if (vals.every((v) => v === undefined || v === null || ["string", "boolean"].includes(typeof v))) {
        const cats = [...new Set(vals.map((v) => String(v ?? "(not set)")))];
        dims.push({ label, values: vals.map((v) => cats.indexOf(String(v ?? "(not set)"))),
          tickvals: cats.map((_, i) => i), ticktext: cats, range: [-0.25, Math.max(cats.length - 1, 0) + 0.25] });
      } else {
        continue;
      }
      labels.add(label);
      if (dims.length >= 6) break;
    }
    const key = this.state.metric;
    // The colour scale runs towards the better end, as the metric's direction says.
    const low = this.directionFor(key) === "min";
    const metric = runs.map((r) => {
      const real = ((this.epochKeys.get(key) || new Map()).get(r.id) || [])[0];
      const s = (r.series || []).find((x) => x.key === real && x.scope === "epoch");
      const v = s ? (low ? s.min_value : s.max_value) : null;
      return v === null ? NaN : parseValue(v);
    });
    dims.push({ label: `${low ? "min" : "max"} ${key}`, values: metric });
    const finite = metric.filter(Number.isFinite);
    // Parallel coordinates are not in the partial build the metric charts use: load the full one.
    let full;
    try {
      full = await fullPlotly();
    } catch (error) {
      // Offline, or the page is closing: say so where the chart would be (a retry comes on reload).
      replaceChildren(this.parcoordsHost, el("p", { class: "subtle" }, `Parallel coordinates unavailable: ${error.message}.`));
      return;
    }
    await full.react(this.parcoordsHost, [{
      type: "parcoords",
      line: { color: metric.map((v) => (Number.isFinite(v) ? v : finite.length ? Math.max(...finite) : 0)),
        colorscale: "Viridis", reversescale: low, showscale: true, colorbar: { title: { text: plotlyText(key) }, thickness: 12 } },
      dimensions: dims.map((d) => ({ ...d, label: plotlyText(d.label), ticktext: d.ticktext && d.ticktext.map(plotlyText) })),
      labelfont: { size: 12 }, tickfont: { size: 11 },
    }], { margin: parcoordsMargin(dims.map((d) => d.label)), height: 340, paper_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, sans-serif", color: chartTheme().text } }, { displaylogo: false, responsive: true });
    this.parcoordsHost.dataset.drawn = "1";
  }
}

// Plotly centres each axis title over its axis, and the outer axes sit on the plot's edges:
// half of the first and last titles hangs into the margins, which must hold it or it is clipped.
const LABEL_CHAR_PX = 7.2; // 12 px system-ui, a little wide so that no title is cut
export function parcoordsMargin(labels) {
  const half = (label) => Math.ceil(((label || "").length * LABEL_CHAR_PX) / 2) + 12;
  return { l: Math.max(70, half(labels[0])), r: Math.max(110, half(labels[labels.length - 1]) + 60), t: 50, b: 20 };
}

/** Map(aligned key -> Map(run id -> [the run's real keys])) for one scope. */
export function alignedKeys(runs, scope, keep = () => true) {
  const found = new Map();
  for (const r of runs) {
    for (const s of r.series || []) {
      if (s.scope !== scope || !keep(s.key)) continue;
      const aligned = alignedKey(r, s.key);
      if (!found.has(aligned)) found.set(aligned, new Map());
      const byRun = found.get(aligned);
      if (!byRun.has(r.id)) byRun.set(r.id, []);
      byRun.get(r.id).push(s.key);
    }
  }
  return found;
}

function shortLabel(path) {
  // The config path as a filter takes it; fit() arguments (a list in the config) by their name.
  return /^fits\[\d+\]\.(args|params)\./.test(path) ? path.replace(/^fits\[\d+\]\.(args|params)\./, "") : `config.${path}`;
}
