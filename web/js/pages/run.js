// Run page: header, one chart per metric (train + val together), scope/smoothing/log/x
// controls in the URL, live extension over the websocket, config/model/environment panels.

import { el, append, setText, replaceChildren, pageFrame, callbackSnippet } from "../dom.js";
import * as api from "../api.js";
import { LiveClient } from "../live.js";
import { RunEditor } from "../run_editor.js";
import { ChartLayout } from "../layout.js";
import { parseState, serializeState } from "../urlstate.js";
import { MetricChart, linkZoom, linkHover, PALETTE, formatValue, compactPoints, parseValue, startPlotly } from "../charts.js";
import { SCOPES as WIRE_SCOPES, carriesEpochs } from "../wire.js";
import { ChartToolbar, TOOLBAR_SCHEMA, applyToCharts, metricXKey, metricXModes, xSourceScope, X_SCOPE_FALLBACK } from "../toolbar.js";
import {
  groupKeys, isValidation, compiledMetrics, epochsDone, parseTime, formatDate, formatDuration,
  runDurationMs, flatten, displayValue, directionOf,
} from "../metrics.js";

export const SCHEMA = {
  run: { type: "string", default: "" },
  ...TOOLBAR_SCHEMA,
  smooth: { type: "number", default: 0.6 },
};

// The scopes come from wire.js (the SDK's list); only their labels and notes live here.
const SCOPE_TEXT = {
  batch: { label: "batch", note: "batch: Keras logs a running mean since the epoch began, not each batch's own value (that is why curves jump at epoch boundaries)." },
  batch_derived: { label: "batch (derived)", note: "batch (derived): each batch's own value, recovered by fitwatch from consecutive running means. Derived, not logged by Keras; exact only when every batch has the same size and weight." },
  epoch: { label: "epoch", note: "epoch: the values Keras reports at the end of each epoch (equal to History.history); validation metrics are computed at epoch end." },
  eval: { label: "evaluate", note: "evaluate: results of model.evaluate(), one point per call." },
  system: { label: "system", note: "system: sampled by the SDK every few seconds (step = sample number): process CPU and memory, host memory, NVIDIA GPUs when present, training throughput and ETA. Use the time x axis to line them up with training." },
};
export const SCOPES = WIRE_SCOPES.map((id) => ({ id, label: id, note: "", ...SCOPE_TEXT[id] }));
// A run logged without the Keras callback (fitwatch.init and run.log): nothing is known of
// how its values were computed, so the notes say only what the run logged.
const PLAIN_NOTES = {
  batch: "batch: the values this run logged at each step.",
  epoch: "epoch: the values this run logged once per epoch; on a step axis each sits at the last step logged before it.",
  eval: "evaluate: the values this run logged as evaluations.",
};

/** Whether the Keras callback recorded this run (it writes the fit() calls into the config). */
export function isKerasRun(run) {
  return Boolean(run && run.config && Array.isArray(run.config.fits));
}

/** The last step logged at or before `time` in a [[time, step], ...] list sorted by time. */
export function stepAtTime(timeline, time) {
  let lo = 0;
  let hi = timeline.length - 1;
  let found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (timeline[mid][0] <= time) { found = timeline[mid][1]; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

/** Latest value of a `system` series from the run's summaries, or null. */
function systemValue(run, key) {
  const s = (run.series || []).find((x) => x.scope === "system" && x.key === key);
  const v = s ? s.last_value : null;
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** "41.3 steps/s · 661 samples/s" from the latest throughput sample, or "" before there is one. */
export function throughputText(run) {
  const steps = systemValue(run, "train/steps_per_s");
  if (steps === null) return "";
  const samples = systemValue(run, "train/samples_per_s");
  const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
  return samples === null ? `${fmt(steps)} steps/s` : `${fmt(steps)} steps/s \u00b7 ${fmt(samples)} samples/s`;
}

/** Time left in the current fit at the latest rate (running runs only), in ms, or null. */
export function etaMs(run) {
  if (run.status !== "running") return null;
  const eta = systemValue(run, "train/eta_s");
  return eta === null ? null : eta * 1000;
}

const X_MODES = [
  { id: "step", label: "step" },
  { id: "epoch", label: "epoch" },
  { id: "relative", label: "relative time" },
  { id: "wall", label: "wall time" },
];

const TRAIN_COLOR = PALETTE[0];
const VAL_COLOR = PALETTE[1];
const CONFIG_SECTIONS = new Set(["fits", "batch_size", "batch_size_source", "optimizer", "loss", "compile",
  "model", "environment", "metric_names", "learning_rate_per_epoch"]);
// A live series holding more points than this many chart widths is compacted client-side.
const LIVE_COMPACT_FACTOR = 6;

export function mount(root) {
  const page = new RunPage(root);
  window.fitwatchReady = page.start();
  window.fitwatchPage = page;
  return page;
}

class RunPage {
  constructor(root) {
    this.root = root;
    this.state = parseState(location.search, SCHEMA);
    this.run = null;
    this.charts = [];
    this.byId = new Map(); // series id -> chart
    this.pending = null; // live messages that arrive while a scope loads
    this.live = null;
    this.loadedXKey = null; // the metric drawn as the x axis, if any
  }

  async start() {
    const frame = pageFrame("run");
    this.main = frame.main;
    append(this.root, [frame.header, frame.banner, frame.main]);
    // Back online: load what failed (the live connection resumes by itself).
    api.on("online", () => { if (!this.run) this.load(); else if (!this.scopeLoaded) this.loadScope(); });
    if (!this.state.run) {
      this.showEmpty("No run chosen", "Open a run from the runs page, or add ?run=<run id> to this page's address.");
      document.documentElement.dataset.ready = "1";
      return;
    }
    await this.load();
    setInterval(() => this.tick(), 1000);
  }

  pushState() {
    history.replaceState(null, "", `${location.pathname}${serializeState(this.state, SCHEMA)}`);
  }

  async load() {
    try {
      this.run = await api.getRun(this.state.run);
    } catch (error) {
      if (error.status === 404) {
        this.showEmpty("Run not found", `There is no run with id ${this.state.run}. It may have been deleted.`);
        document.documentElement.dataset.ready = "1";
      }
      return;
    }
    document.title = `${this.run.name} \u00b7 fitwatch`;
    this.renderShell();
    this.startLive();
    await this.loadScope();
  }

  startLive() {
    if (this.live) this.live.stop();
    this.live = new LiveClient({
      runs: [this.run.id],
      onPoints: (message) => this.onPoints(message),
      onRun: (run) => this.onRun(run),
      onSeries: (_id, series) => this.onSeries(series),
      onRunDeleted: (id) => { if (id === this.run.id) this.gone(); },
      // The project's chart layout, as other pages save it; after a reconnect, read it again.
      layouts: [this.run.project],
      onLayout: (layout) => this.layout.apply(layout),
      // After a reconnect (or a resync) the run changes missed meanwhile are not replayed:
      // read the run again (its name, status, tags, notes; a 404: it was deleted).
      onResync: () => { this.layout.load().then(() => this.layout.arrange()); this.refreshRun(); },
    });
    // Resume cursors: the history the REST summary covers is not replayed, only what follows.
    for (const s of this.run.series || []) this.live.seen(this.run.id, s.key, s.scope, s.last_step);
  }

  async refreshRun() {
    let run;
    try {
      run = await api.getRun(this.run.id);
    } catch (error) {
      if (error.status === 404) this.gone();
      return;
    }
    const { series, ...fields } = run;
    this.onRun(fields);
    if (series) this.onSeries(series);
  }

  /** The run was deleted for good while this page showed it: no chart of it stays. */
  gone() {
    this.live.stop();
    clearTimeout(this.reloadTimer);
    for (const c of this.charts) c.purge();
    this.charts = [];
    this.byId.clear();
    this.showEmpty("Run deleted", `The run ${this.run.name} (${this.run.id}) was deleted for good while this page showed it.`,
      `./?project=${encodeURIComponent(this.run.project)}`);
  }

  /** The page's whole content: what there is instead of a run, and the way back. */
  showEmpty(title, text, back = "./") {
    replaceChildren(this.main, el("div", { class: "empty", id: "empty-state" },
      el("h2", {}, title), el("p", {}, text), el("a", { class: "btn", href: back }, "Go to the runs page")));
  }

  scopes() {
    return new Set((this.run.series || []).map((s) => s.scope));
  }

  currentScope() {
    const have = this.scopes();
    if (this.state.scope && (have.has(this.state.scope) || !have.size)) return this.state.scope;
    for (const s of ["batch", "epoch", "batch_derived", "eval"]) if (have.has(s)) return s;
    return this.state.scope || "batch";
  }

  stepsPerEpoch() {
    const fits = this.run.config && this.run.config.fits;
    const last = Array.isArray(fits) && fits.length ? fits[fits.length - 1] : null;
    const steps = last && last.params && last.params.steps;
    return Number.isInteger(steps) && steps > 0 ? steps : null;
  }

  /** The keys of the view's scope (and of its fallback, toolbar.js), each a choice of x axis. */
  scopeKeys() {
    const scope = this.currentScope();
    const scopes = [scope, X_SCOPE_FALLBACK[scope]];
    return (this.run.series || []).filter((s) => scopes.includes(s.scope)).map((s) => s.key);
  }

  /** The scope the x metric `key` is read from, or null when the view cannot use it. */
  xScope(key) {
    const has = (scope, k) => (this.run.series || []).some((s) => s.scope === scope && s.key === k);
    return xSourceScope(this.currentScope(), key, has);
  }

  /** The x mode drawn: the state's, or step when its metric is not logged in this scope. */
  xMode() {
    const key = metricXKey(this.state.x);
    return key === null || this.xScope(key) !== null ? this.state.x : "step";
  }

  /** x of a point for the current x mode; epoch-scope points in a batch chart sit at the epoch's last step. */
  xFor(series, step, time, epoch) {
    const mode = this.xMode();
    if (metricXKey(mode) !== null) {
      // The x metric's value at the step the point sits at on a step axis (join by step).
      const at = this.xForMode("step", series, step, time, epoch);
      const x = this.xValues ? this.xValues.get(at) : undefined;
      return Number.isFinite(x) ? x : null;
    }
    return this.xForMode(mode, series, step, time, epoch);
  }

  xForMode(mode, series, step, time, epoch) {
    const spe = this.stepsPerEpoch();
    const fromEpochScope = series.scope === "epoch";
    const batchView = carriesEpochs(this.viewScope);
    if (mode === "wall") return new Date(time * 1000);
    if (mode === "relative") return time - this.t0;
    if (mode === "epoch") {
      if (fromEpochScope || series.scope === "eval") return step + 1;
      if (spe) return (step + 1) / spe;
      return (epoch ?? 0) + 1;
    }
    if (fromEpochScope && batchView) {
      if (spe) return (step + 1) * spe - 1;
      const end = this.epochEnd.get(step);
      if (end !== undefined) return end;
      // Batch points without epochs (a plain loop): the epoch ended after the last batch
      // logged before its point, by wall time.
      const before = this.batchTimeline ? stepAtTime(this.batchTimeline, time) : null;
      return before ?? step;
    }
    return step;
  }

  xTitle() {
    const key = metricXKey(this.xMode());
    if (key !== null) return `${key} (at the same step)`;
    return { step: this.viewScope === "epoch" ? "epoch index (step)" : this.viewScope === "eval" ? "evaluation #" : "step (global batch index)",
      epoch: "epochs completed", relative: "seconds since the run started", wall: "wall time" }[this.xMode()];
  }

  renderShell() {
    const r = this.run;
    this.statusBadge = el("span", { class: `status ${r.status}`, id: "run-status" }, r.status);
    this.durationText = el("b", {}, formatDuration(runDurationMs(r)));
    this.epochText = el("b", {}, String(epochsDone(r)));
    // Name, tags, notes, project, trash: editable (run_editor.js), redrawn on live changes.
    this.editor = new RunEditor(r, { onTrashed: () => location.assign(`./?project=${encodeURIComponent(r.project)}`) });
    const actions = this.editor.actions([]);
    api.getProjects().then((data) => {
      const names = document.getElementById("project-names");
      if (names) replaceChildren(names, data.projects.map((p) => el("option", { value: p.name })));
    }).catch(() => {});
    const head = el("div", { class: "page-head" },
      el("div", {},
        el("div", { class: "field" }, this.editor.nameHost, this.statusBadge),
        el("div", { class: "meta" },
          el("span", {}, "project ", this.editor.projectLink),
          el("span", {}, "started ", el("b", {}, formatDate(parseTime(r.created_at)))),
          el("span", {}, "duration ", this.durationText),
          el("span", {}, "epochs ", this.epochText),
          this.throughputSpan = el("span", { id: "run-throughput" }, "throughput ", this.throughputText = el("b", {}, "")),
          this.etaSpan = el("span", { id: "run-eta" }, "ETA ", this.etaText = el("b", {}, "")),
          el("span", { class: "mono subtle" }, r.id),
          this.editor.tagsHost),
        this.editor.notesHost,
        this.editor.error),
      el("div", { class: "field" },
        el("a", { class: "btn", id: "download-csv", href: api.exportUrl(r.id, "csv"), download: `fitwatch-${r.id}.csv` }, "Download CSV"),
        el("a", { class: "btn", href: `./?project=${encodeURIComponent(r.project)}&sel=${encodeURIComponent(r.id)}` }, "Compare\u2026"),
        actions,
        // Admin only (css/app.css hides it from read and write sessions; the server checks too).
        el("button", { class: "btn danger", id: "delete-run", dataset: { requires: "admin" }, onclick: () => this.deleteRun() }, "Delete for good")));
    this.toolbar = el("div", { class: "toolbar", id: "controls" });
    this.scopeNote = el("p", { class: "note", id: "scope-note" });
    this.chartsHost = el("div", { class: "charts", id: "charts" });
    this.hiddenHost = el("div", { class: "hidden-charts", id: "hidden-charts", hidden: true });
    // The project's saved chart order and hidden charts, read while the series load.
    this.layout = new ChartLayout({ project: r.project, page: "run", host: this.chartsHost, hiddenHost: this.hiddenHost });
    this.layoutReady = this.layout.load();
    this.panels = el("div", { class: "grid-2", id: "panels" });
    replaceChildren(this.main, this.editor.trashHost, head, this.toolbar, this.scopeNote, this.hiddenHost, this.chartsHost, this.panels);
    this.renderToolbar();
    this.renderPanels();
    this.renderProgress();
  }

  /** Throughput and ETA from the latest `system` samples; hidden until there are some. */
  renderProgress() {
    if (!this.throughputText) return;
    const rate = throughputText(this.run);
    setText(this.throughputText, rate);
    this.throughputSpan.hidden = !rate;
    const eta = etaMs(this.run);
    setText(this.etaText, eta === null ? "" : formatDuration(eta));
    this.etaSpan.hidden = eta === null;
  }

  async deleteRun() {
    const r = this.run;
    if (!window.confirm(`Delete run ${r.name} (${r.id}) with all its series and points? This cannot be undone.`)) return;
    try {
      await api.deleteRun(r.id);
    } catch (error) {
      window.alert(`The run was not deleted: ${error.detail}`);
      return;
    }
    location.assign(`./?project=${encodeURIComponent(r.project)}`);
  }

  renderToolbar() {
    if (!this.toolbarControl) {
      this.toolbarControl = new ChartToolbar(this.toolbar, {
        state: this.state, scopes: SCOPES, note: this.scopeNote,
        xModes: () => [...X_MODES.map((m) => [m.id, m.label]), ...metricXModes(this.scopeKeys())],
        available: () => this.scopes(), currentScope: () => this.currentScope(),
        extra: () => [el("span", { class: "grow" }), el("span", { class: "subtle", id: "live-state" })],
        onChange: (kind) => this.setOption({}, kind),
        // A run without the Keras callback gets notes that claim nothing about Keras.
        noteFor: (scope) => (isKerasRun(this.run) ? undefined : PLAIN_NOTES[scope]) ?? SCOPES.find((s) => s.id === scope)?.note,
      });
    }
    this.toolbarControl.host = this.toolbar;
    this.toolbarControl.note = this.scopeNote;
    this.toolbarControl.render();
  }

  async setOption(changes, kind) {
    Object.assign(this.state, changes);
    this.pushState();
    if (kind === "scope" || (kind === "x" && (metricXKey(this.xMode()) !== null || this.loadedXKey !== null))) {
      // A metric as the x axis (or leaving one): its points are read with the view's.
      await this.loadScope();
    } else if (kind === "smooth") {
      clearTimeout(this.smoothTimer);
      this.smoothTimer = setTimeout(() => this.whenDrawn(applyToCharts(this.charts, kind, this.state)), 30);
    } else {
      await this.whenDrawn(applyToCharts(this.charts, kind, this.state, this.xTitle()));
    }
  }

  /** data-drawn counts redraws, so tests can wait for one without sleeping. */
  async whenDrawn(promise) {
    await promise;
    const root = document.documentElement;
    root.dataset.drawn = String(Number(root.dataset.drawn || 0) + 1);
  }

  maxPoints() {
    const first = this.chartsHost.querySelector(".chart");
    const width = first ? first.clientWidth : this.chartsHost.clientWidth / 2;
    return Math.max(200, Math.min(4000, Math.round(width || 600)));
  }

  /** Load every series of the view's scope (downsampled to the chart width) and draw. */
  async loadScope() {
    const scope = this.currentScope();
    this.viewScope = scope;
    this.pending = [];
    for (const c of this.charts) c.purge();
    this.charts = [];
    this.byId.clear();
    replaceChildren(this.chartsHost);
    const series = (this.run.series || []).filter((s) => s.scope === scope);
    const batchView = carriesEpochs(scope);
    const trainKeys = new Set(series.map((s) => s.key));
    // In a batch view, validation metrics (epoch scope only) join their training chart.
    const valExtras = batchView
      ? (this.run.series || []).filter((s) => s.scope === "epoch" && isValidation(s.key) && trainKeys.has(s.key.slice(4)) && !trainKeys.has(s.key))
      : [];
    if (!series.length) {
      this.renderNoSeries(scope);
      this.pending = null;
      document.documentElement.dataset.ready = "1";
      return;
    }
    const order = compiledMetrics(this.run);
    const groups = groupKeys([...series.map((s) => s.key), ...valExtras.map((s) => s.key)], order);
    // Chart containers first, so the requested point count matches their real width.
    const cards = groups.map((g) => {
      const div = el("div", { class: "chart", dataset: { key: g.base } });
      this.chartsHost.append(el("div", { class: "chart-card" }, div));
      return { group: g, div };
    });
    const maxPoints = this.maxPoints();
    const scopeOf = (key) => (valExtras.some((s) => s.key === key) ? "epoch" : scope);
    const xKey = metricXKey(this.xMode());
    let data;
    let xData = null;
    try {
      const requests = [api.readMany({ runs: this.run.id, keys: series.map((s) => s.key), scope, max_points: maxPoints })];
      if (valExtras.length) requests.push(api.readMany({ runs: this.run.id, keys: valExtras.map((s) => s.key), scope: "epoch" }));
      // The x metric at every step (never downsampled): a downsampled y point keeps its step,
      // and the join needs the x metric's value there.
      const xRead = xKey === null ? null : api.readSeries(this.run.id, xKey, { scope: this.xScope(xKey) });
      startPlotly(); // executes while the server reads the series
      data = (await Promise.all(requests)).flatMap((d) => d.series);
      xData = xRead && (await xRead);
      await this.layoutReady;
    } catch {
      this.scopeLoaded = false;
      if (!this.live.socket && this.live.state === "connecting") this.live.start();
      return; // the banner says the server is unreachable; "online" reloads
    }
    if (this.viewScope !== scope) return; // the user switched scope meanwhile
    this.scopeLoaded = true;
    this.loadedXKey = xKey;
    this.loadedXScope = xKey === null ? null : this.xScope(xKey);
    this.xValues = xData ? new Map(xData.steps.map((step, i) => [step, parseValue(xData.values[i])])) : null;
    this.layout.attach(cards.map(({ group, div }) => ({ id: group.base, card: div.parentElement })));
    this.t0 = (parseTime(this.run.created_at) ?? Date.now()) / 1000;
    this.epochEnd = new Map();
    this.batchTimeline = [];
    for (const d of data) {
      if (d.scope === "batch" || d.scope === "batch_derived") d.steps.forEach((step, i) => this.batchTimeline.push([d.times[i], step]));
    }
    this.batchTimeline.sort((a, b) => a[0] - b[0]);
    for (const d of data) {
      if (d.scope !== "epoch" && d.epochs) {
        d.steps.forEach((step, i) => {
          const e = d.epochs[i];
          if (e !== null && (this.epochEnd.get(e) ?? -1) < step) this.epochEnd.set(e, step);
        });
      }
    }
    for (const { group, div } of cards) {
      const chart = new MetricChart(div, {
        title: group.base, xFor: (s, step, t, e) => this.xFor(s, step, t, e), xMode: this.xMode(), xTitle: this.xTitle(),
        logY: this.state.log, logX: this.state.logx, outliers: this.state.outliers, smoothing: this.state.smooth,
        onZoom: (ranges) => this.zoom(chart, ranges),
      });
      for (const key of group.keys) {
        const d = data.find((x) => x.key === key && x.scope === scopeOf(key));
        if (!d) continue;
        const val = isValidation(key);
        const s = chart.add({ id: `${key}\u0000${d.scope}`, key, scope: d.scope, label: key, color: val ? VAL_COLOR : TRAIN_COLOR,
          dash: val && batchView ? "solid" : "solid", steps: d.steps, values: d.values, times: d.times,
          epochs: d.epochs || [], downsampled: d.downsampled });
        this.byId.set(s.id, chart);
        if (d.steps.length) this.live.seen(this.run.id, key, d.scope, d.steps[d.steps.length - 1]);
      }
      this.charts.push(chart);
    }
    await Promise.all(this.charts.map((c) => c.render()));
    linkZoom(this.charts);
    linkHover(this.charts);
    // Points that arrived while loading: extend() skips the steps the REST read already had.
    const pending = this.pending;
    this.pending = null;
    for (const message of pending) this.onPoints(message);
    if (this.live.state === "connecting" && !this.live.socket) this.live.start();
    document.documentElement.dataset.ready = "1";
    await this.whenDrawn(Promise.resolve());
  }

  renderNoSeries(scope) {
    const anyData = (this.run.series || []).length > 0;
    replaceChildren(this.chartsHost, el("div", { class: "empty", id: "empty-state" },
      el("h2", {}, anyData ? `Nothing logged in the ${scope} scope` : "Waiting for the first points\u2026"),
      anyData
        ? el("p", {}, "Pick another scope above. To log per-batch values, pass update_freq=\"batch\" to the callback:")
        : el("p", {}, "This run has no metrics yet; charts appear here as soon as training logs. The callback in model.fit():"),
      callbackSnippet(this.run.project)));
    if (!this.live.socket && this.live.state === "connecting") this.live.start();
  }

  /** Zoom: refetch downsampled series at full detail for the visible steps; unzoom: the overview again. */
  async zoom(chart, ranges) {
    const targets = chart.series.filter((s) => s.downsampled || s.partial);
    if (!targets.length) return;
    const maxPoints = this.maxPoints();
    const results = await Promise.all(targets.map(async (s) => {
      const r = ranges && ranges[s.id];
      const params = { scope: s.scope, max_points: maxPoints };
      if (r) { params.start = r.start; params.end = r.end; }
      try {
        return [s, await api.readSeries(this.run.id, s.key, params), Boolean(r)];
      } catch {
        return null;
      }
    }));
    for (const item of results) {
      if (!item) continue;
      const [s, data, partial] = item;
      chart.replace(s.id, data);
      s.partial = partial;
      s.downsampled = data.downsampled || partial;
    }
    await this.whenDrawn(chart.render());
  }

  onPoints(message) {
    if (this.pending) { this.pending.push(message); return; }
    if (this.xValues && message.key === this.loadedXKey && message.scope === this.loadedXScope) {
      // New x values: points already stored at those steps can be drawn now.
      message.steps.forEach((step, i) => this.xValues.set(step, parseValue(message.values[i])));
      clearTimeout(this.xRenderTimer);
      this.xRenderTimer = setTimeout(() => this.whenDrawn(Promise.all(this.charts.map((c) => c.render()))), 200);
    }
    const id = `${message.key}\u0000${message.scope}`;
    const chart = this.byId.get(id);
    if (!chart) {
      this.noteNewSeries(message);
      return;
    }
    const s = chart.find(id);
    if (s.partial) return; // zoomed into history: unzooming refetches everything
    if (message.epochs && message.scope !== "epoch") {
      message.steps.forEach((step, i) => {
        const e = message.epochs[i];
        if (e !== null && (this.epochEnd.get(e) ?? -1) < step) this.epochEnd.set(e, step);
      });
    }
    if ((message.scope === "batch" || message.scope === "batch_derived") && this.batchTimeline) {
      message.steps.forEach((step, i) => this.batchTimeline.push([message.times[i], step]));
    }
    const added = chart.extend(id, message);
    if (added && s.steps.length > LIVE_COMPACT_FACTOR * this.maxPoints()) {
      // A long live tail: keep the chart light (min/max per bucket, spikes and gaps kept).
      Object.assign(s, compactPoints(s, 2 * this.maxPoints()));
      s.downsampled = true;
      chart.render();
    }
  }

  /** A series the view does not show yet (a new metric, or the first points of a run). */
  noteNewSeries(message) {
    const scope = this.viewScope;
    const batchView = carriesEpochs(scope);
    const relevant = message.scope === scope || (batchView && message.scope === "epoch" && isValidation(message.key));
    const known = (this.run.series || []).some((s) => s.key === message.key && s.scope === message.scope);
    if (!known) {
      this.run.series = [...(this.run.series || []), { key: message.key, scope: message.scope, count: message.steps.length,
        first_step: message.steps[0], last_step: message.steps[message.steps.length - 1], last_value: message.values[message.values.length - 1],
        min_value: null, min_step: null, max_value: null, max_step: null }];
      this.renderToolbar();
    }
    const noScopeChosen = !this.state.scope && this.currentScope() !== scope;
    if (relevant || noScopeChosen) {
      // One reload of the view per new series (an event, not a timer).
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => { this.renderToolbar(); this.loadScope(); }, 100);
    }
  }

  onRun(run) {
    if (run.id !== this.run.id) return;
    this.run = { ...this.run, ...run, series: this.run.series };
    this.statusBadge.className = `status ${run.status}`;
    setText(this.statusBadge, run.status);
    this.renderProgress();
    if (this.editor) this.editor.update(run);
  }

  onSeries(series) {
    for (const summary of series) {
      const i = (this.run.series || []).findIndex((s) => s.key === summary.key && s.scope === summary.scope);
      if (i >= 0) this.run.series[i] = summary; else (this.run.series ||= []).push(summary);
    }
    setText(this.epochText, String(epochsDone(this.run)));
    this.renderProgress();
    clearTimeout(this.metricsTimer);
    this.metricsTimer = setTimeout(() => this.renderMetricsTable(), 300);
  }

  tick() {
    if (!this.run || !this.durationText) return;
    if (this.run.status === "running") setText(this.durationText, formatDuration(runDurationMs(this.run)));
    const node = document.getElementById("live-state");
    if (!node) return;
    const open = this.live && this.live.state === "open";
    node.className = open && this.run.status === "running" ? "live-state on" : "subtle";
    setText(node, open ? (this.run.status === "running" ? "\u25cf live" : "up to date") : "");
  }

  renderPanels() {
    const config = this.run.config || {};
    // Every label is the value's path in the run's config, as a filter takes it
    // (`config.optimizer.learning_rate`): one name per hyperparameter everywhere.
    const hyper = {};
    for (const [k, v] of Object.entries(config)) if (!CONFIG_SECTIONS.has(k)) hyper[`config.${k}`] = v;
    if (config.optimizer && typeof config.optimizer === "object") {
      for (const [k, v] of Object.entries(config.optimizer)) if (v !== null) hyper[`config.optimizer.${k}`] = v;
    }
    if (config.loss !== undefined) hyper["config.loss"] = config.loss;
    if (config.batch_size !== undefined) hyper["config.batch_size"] = config.batch_size;
    const fits = Array.isArray(config.fits) ? config.fits : [];
    const args = fits.length ? fits[fits.length - 1].args || {} : {};
    for (const k of ["epochs", "validation_split", "samples", "shuffle"]) {
      if (args[k] !== undefined && args[k] !== null) hyper[`config.fits[${fits.length - 1}].args.${k}`] = args[k];
    }
    if (config.compile && config.compile.metrics) hyper["config.compile.metrics"] = config.compile.metrics;

    this.metricsPanel = el("div", { class: "panel", id: "metrics-panel" });
    const panels = [
      this.metricsPanel,
      el("div", { class: "panel", id: "hyperparameters" }, el("h2", {}, "Hyperparameters"),
        Object.keys(hyper).length ? kvTable(flatten(hyper), this.run.project) : el("p", { class: "subtle" }, "No config was recorded for this run.")),
    ];
    if (config.model) panels.push(modelPanel(config.model));
    if (config.environment) {
      const env = { ...config.environment };
      if (Array.isArray(env.argv)) env.argv = env.argv.join(" ");
      panels.push(el("div", { class: "panel", id: "environment" }, el("h2", {}, "Environment"), kvTable(flatten(env))));
    }
    panels.push(el("div", { class: "panel", id: "config" }, el("h2", {}, "Full config"),
      el("details", {}, el("summary", {}, `${Object.keys(flatten(config)).length} entries`), kvTable(flatten(config)))));
    replaceChildren(this.panels, panels);
    this.renderMetricsTable();
  }

  renderMetricsTable() {
    const rows = (this.run.series || []).filter((s) => s.scope === "epoch" || s.scope === "eval")
      .sort((a, b) => a.scope.localeCompare(b.scope) || a.key.localeCompare(b.key));
    const body = rows.map((s) => {
      const direction = directionOf(this.run, s.key);
      const low = direction === "min";
      const bestValue = direction === null ? null : low ? s.min_value : s.max_value;
      const bestStep = low ? s.min_step : s.max_step;
      return el("tr", {}, el("td", { class: "mono wrap" }, s.scope === "eval" ? `${s.key} (evaluate)` : s.key),
        el("td", { class: "num" }, formatValue(s.last_value, 5)),
        el("td", { class: "num" }, bestValue === null ? "\u2013" : [formatValue(bestValue, 5), el("span", { class: "epoch" }, ` @${bestStep}`)]));
    });
    replaceChildren(this.metricsPanel, el("h2", {}, "Metrics (epoch)"),
      rows.length
        ? el("table", { class: "data compact" }, el("thead", {}, el("tr", {}, el("th", {}, "metric"),
            el("th", { class: "num" }, "last"), el("th", { class: "num", title: "lowest or highest as the metric's direction says (from the Keras callback's manifest, else the catalog); \u2013 when unknown; @ epoch" }, "best @epoch"))), el("tbody", {}, body))
        : el("p", { class: "subtle" }, "No epoch values yet."));
  }
}

function kvTable(flat, project) {
  return el("table", { class: "kv" }, el("tbody", {}, Object.entries(flat).map(([k, v]) => {
    const filter = project === undefined ? null : filterFor(k, v);
    // Long paths wrap after a dot, never inside a name.
    const label = k.split(/(?<=\.)/).flatMap((part, i) => (i ? [el("wbr"), part] : [part]));
    // A filterable name opens the runs page with `name = value` in its filter field.
    const name = filter === null ? label : el("a", { class: "filter-link", "data-path": k, title: `filter runs by ${filter}`,
      href: `./?project=${encodeURIComponent(project)}&filter=${encodeURIComponent(filter)}` }, label);
    return el("tr", {}, el("th", {}, name), el("td", {}, displayValue(v)));
  })));
}

/** `path = value` in the filter language, or null when the filter cannot say it. */
export function filterFor(path, value) {
  if (path.includes("[") || path.includes(" ")) return null; // the language has no list indices
  if (typeof value === "number" && Number.isFinite(value)) return `${path} = ${value}`;
  if (typeof value === "boolean") return `${path} = ${value}`;
  if (typeof value === "string") return `${path} = ${JSON.stringify(value)}`;
  return null;
}

function modelPanel(model) {
  const layers = Array.isArray(model.layers) ? model.layers : [];
  const shape = (s) => (Array.isArray(s) ? `(${s.map((d) => (d === null ? "None" : d)).join(", ")})` : displayValue(s));
  return el("div", { class: "panel", id: "model-summary" },
    el("h2", {}, `Model: ${model.name ?? ""} (${model.class_name ?? ""})`),
    el("div", { class: "meta" },
      el("span", {}, "total params ", el("b", {}, (model.total_params ?? 0).toLocaleString())),
      el("span", {}, "trainable ", el("b", {}, (model.trainable_params ?? 0).toLocaleString())),
      el("span", {}, "non-trainable ", el("b", {}, (model.non_trainable_params ?? 0).toLocaleString()))),
    el("table", { class: "data layers" },
      el("thead", {}, el("tr", {}, el("th", {}, "layer"), el("th", {}, "type"), el("th", {}, "output shape"), el("th", { class: "num" }, "params"))),
      el("tbody", {}, layers.map((l) => el("tr", {}, el("td", {}, l.name), el("td", {}, l.class_name), el("td", {}, shape(l.output_shape)),
        el("td", { class: "num" }, l.params === null || l.params === undefined ? "?" : l.params.toLocaleString()))))));
}
