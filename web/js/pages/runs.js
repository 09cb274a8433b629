// Runs page: every run of a project in a sortable table, filters in the URL, live updates.

import { el, append, setText, clear, replaceChildren, pageFrame, callbackSnippet } from "../dom.js";
import * as api from "../api.js";
import { LiveClient } from "../live.js";
import { parseState, serializeState } from "../urlstate.js";
import { formatValue, parseValue } from "../charts.js";
import {
  mainSummary, summaryOf, epochsDone, compiledMetrics, parseTime, formatDuration, formatDate, runDurationMs,
} from "../metrics.js";

export const SCHEMA = {
  project: { type: "string", default: "" },
  status: { type: "string", default: "" },
  tag: { type: "string", default: "" },
  name: { type: "string", default: "" },
  filter: { type: "string", default: "" },
  sort: { type: "string", default: "-start" },
  sel: { type: "list", default: [] },
};

const STATUSES = ["running", "finished", "failed", "crashed"];

/** The server filter expression for the page's filter fields. */
export function buildFilter(state) {
  return filterParts(state).text;
}

/** The expression, and where the user's own filter text starts in it (-1 if it is empty). */
export function filterParts(state) {
  const parts = [];
  if (state.status) parts.push(`status = ${JSON.stringify(state.status)}`);
  if (state.tag) parts.push(`tags = ${JSON.stringify(state.tag)}`);
  if (state.name) parts.push(`name ~ ${JSON.stringify(state.name)}`);
  const own = state.filter.trim();
  if (!own) return { text: parts.join(" and "), offset: -1 };
  const before = parts.length ? `${parts.join(" and ")} and (` : "(";
  // The leading spaces that trim() removed count too: positions are in the field's text.
  const lead = state.filter.length - state.filter.trimStart().length;
  return { text: `${before}${own})`, offset: before.length - lead };
}

/** A filter error as the user's own text with a caret under the position the server named. */
export function filterErrorLines(detail, position, state) {
  const { offset } = filterParts(state);
  const message = detail.split(" (at position")[0];
  if (position === null || offset < 0) return { message, text: "", caret: "" };
  const at = Math.min(Math.max(position - offset, 0), state.filter.length);
  return { message: `${message} (at position ${at})`, text: state.filter, caret: `${" ".repeat(at)}^` };
}

export function mount(root) {
  const page = new RunsPage(root);
  page.start();
  return page;
}

class RunsPage {
  constructor(root) {
    this.root = root;
    this.state = parseState(location.search, SCHEMA);
    this.runs = [];
    this.projects = [];
    this.metric = null;
    this.live = null;
    this.loadSeq = 0;
  }

  async start() {
    const frame = pageFrame("runs");
    this.main = frame.main;
    append(this.root, [frame.header, frame.banner, frame.main]);
    api.on("online", () => this.reload());
    setInterval(() => this.tickDurations(), 1000);
    await this.reload();
  }

  pushState() {
    history.replaceState(null, "", `${location.pathname}${serializeState(this.state, SCHEMA)}`);
  }

  async reload() {
    try {
      this.projects = (await api.getProjects()).projects;
    } catch {
      this.renderShell();
      return;
    }
    if (!this.projects.length) {
      this.renderNoProjects();
      document.documentElement.dataset.ready = "1";
      return;
    }
    if (!this.state.project || !this.projects.some((p) => p.name === this.state.project)) {
      const latest = [...this.projects].sort((a, b) => (parseTime(b.last_run_at) || 0) - (parseTime(a.last_run_at) || 0))[0];
      if (!this.state.project) this.state.project = latest.name;
    }
    this.pushState();
    this.renderShell();
    this.subscribe();
    await this.loadRuns();
  }

  subscribe() {
    if (this.live && this.live.project === this.state.project) return;
    if (this.live) this.live.stop();
    this.live = new LiveClient({
      project: this.state.project,
      onRun: (run) => this.onRun(run),
      onRunDeleted: (id) => { this.runs = this.runs.filter((r) => r.id !== id); this.renderTable(); },
      onSeries: (runId, series) => this.onSeries(runId, series),
      onResync: () => this.loadRuns(),
    }).start();
  }

  renderNoProjects() {
    replaceChildren(this.main,
      el("div", { class: "page-head" }, el("h1", {}, "Runs")),
      el("div", { class: "empty", id: "empty-state" },
        el("h2", {}, "No runs yet"),
        el("p", {}, "Add the fitwatch callback to model.fit() and your run shows up here live, batch by batch:"),
        callbackSnippet("my-project"),
        el("p", { class: "subtle" }, `The callback sends to FITWATCH_URL (default http://127.0.0.1:8000); point it at this server: ${location.origin}`)));
  }

  renderShell() {
    const s = this.state;
    const projectSelect = el("select", { id: "project", onchange: (e) => this.setFilter({ project: e.target.value, sel: [] }) },
      this.projects.map((p) => el("option", { value: p.name, selected: p.name === s.project }, `${p.name} (${p.run_count})`)));
    const statusSelect = el("select", { id: "status", onchange: (e) => this.setFilter({ status: e.target.value }) },
      el("option", { value: "" }, "any status"),
      STATUSES.map((st) => el("option", { value: st, selected: st === s.status }, st)));
    const debounced = (field) => {
      let timer = null;
      return (e) => { clearTimeout(timer); timer = setTimeout(() => this.setFilter({ [field]: e.target.value }), 250); };
    };
    this.filterInput = el("input", { type: "text", id: "filter", class: "filter-expr", value: s.filter,
      placeholder: "filter: config.optimizer.learning_rate < 0.01 and min(val_loss) < 0.3",
      onkeydown: (e) => { if (e.key === "Enter") this.setFilter({ filter: e.target.value }); },
      onchange: (e) => this.setFilter({ filter: e.target.value }) });
    this.filterError = el("div", { class: "error-text", id: "filter-error" });
    this.compareButton = el("button", { class: "btn primary", id: "compare", onclick: () => this.openCompare() }, "Compare");
    this.countLabel = el("span", { class: "subtle", id: "run-count" });
    this.tableHost = el("div", { id: "runs-table" });
    replaceChildren(this.main,
      el("div", { class: "page-head" },
        el("div", {}, el("h1", {}, "Runs"), el("div", { class: "subtle" }, "Select runs to compare them. Click a name to open the run.")),
        el("div", { class: "field" }, this.countLabel, this.compareButton)),
      el("div", { class: "toolbar" },
        el("label", {}, "Project", projectSelect),
        el("label", {}, "Status", statusSelect),
        el("label", {}, "Tag", el("input", { type: "search", id: "tag", value: s.tag, placeholder: "tag", size: 10, oninput: debounced("tag") })),
        el("label", {}, "Name", el("input", { type: "search", id: "name", value: s.name, placeholder: "contains\u2026", size: 14, oninput: debounced("name") })),
        el("label", { class: "grow" }, this.filterInput)),
      this.filterError,
      this.tableHost);
    this.updateCompareButton();
  }

  setFilter(changes) {
    Object.assign(this.state, changes);
    this.pushState();
    if ("project" in changes) {
      this.renderShell();
      this.subscribe();
    }
    this.loadRuns();
  }

  async loadRuns() {
    const seq = ++this.loadSeq;
    let data;
    try {
      data = await api.listRuns({ project: this.state.project, filter: buildFilter(this.state),
        include: "series", limit: 1000, sort: "-created_at" });
    } catch (error) {
      if (seq !== this.loadSeq) return;
      if (error.status === 400) {
        this.filterInput.classList.add("invalid");
        const shown = filterErrorLines(error.detail, error.position, this.state);
        replaceChildren(this.filterError, el("div", { id: "filter-message" }, `Filter: ${shown.message}`),
          shown.caret ? el("pre", { class: "caret", id: "filter-caret" }, `${shown.text}\n${shown.caret}`) : null);
        if (shown.caret) this.filterInput.setSelectionRange(shown.caret.length - 1, shown.caret.length - 1);
      }
      return;
    }
    if (seq !== this.loadSeq) return;
    this.filterInput.classList.remove("invalid");
    replaceChildren(this.filterError);
    this.runs = data.runs;
    this.total = data.total;
    this.renderTable();
    document.documentElement.dataset.ready = "1";
  }

  onRun(run) {
    if (run.project !== this.state.project) return;
    const i = this.runs.findIndex((r) => r.id === run.id);
    if (i >= 0) {
      // A run change carries no series; keep the ones we hold.
      this.runs[i] = { ...this.runs[i], ...run, series: run.series || this.runs[i].series };
      this.renderTable();
    } else {
      // A new run: ask the server whether it passes the filter (one request per event, no timer).
      clearTimeout(this.refetchTimer);
      this.refetchTimer = setTimeout(() => this.loadRuns(), 200);
    }
  }

  /** Series summaries pushed for the project's runs (at most every 0.5 s per run). */
  onSeries(runId, series) {
    const run = this.runs.find((r) => r.id === runId);
    if (!run) return;
    run.series ||= [];
    for (const summary of series) {
      const i = run.series.findIndex((x) => x.key === summary.key && x.scope === summary.scope);
      if (i >= 0) run.series[i] = summary; else run.series.push(summary);
    }
    clearTimeout(this.renderTimer);
    this.renderTimer = setTimeout(() => this.renderTable(), 50);
  }

  columns() {
    const metric = this.metric;
    const last = (key) => (r) => { const s = mainSummary(r, key); return s ? parseValue(s.last_value) : null; };
    const best = (key) => (r) => { const s = summaryOf(r, key, "epoch"); return s && s.min_value !== null ? parseValue(s.min_value) : null; };
    const cols = [
      { id: "status", label: "Status", get: (r) => r.status, cell: (r) => el("span", { class: `status ${r.status}` }, r.status) },
      { id: "name", label: "Name", get: (r) => r.name.toLowerCase(), cls: "name",
        cell: (r) => el("a", { href: `run.html?run=${encodeURIComponent(r.id)}` }, r.name) },
      { id: "start", label: "Started", get: (r) => parseTime(r.created_at), cell: (r) => formatDate(parseTime(r.created_at)) },
      { id: "duration", label: "Duration", get: (r) => runDurationMs(r), cls: "num",
        cell: (r) => el("span", { class: "duration", dataset: { run: r.id } }, formatDuration(runDurationMs(r))) },
      { id: "epochs", label: "Epochs", get: (r) => epochsDone(r), cls: "num", cell: (r) => String(epochsDone(r)) },
      { id: "loss", label: "loss", get: last("loss"), cls: "num", cell: (r) => formatValue(mainSummary(r, "loss")?.last_value, 4) },
      { id: "val_loss", label: "val_loss", get: last("val_loss"), cls: "num", cell: (r) => formatValue(mainSummary(r, "val_loss")?.last_value, 4) },
    ];
    if (metric) {
      cols.push({ id: "metric", label: metric, get: last(metric), cls: "num", cell: (r) => formatValue(mainSummary(r, metric)?.last_value, 4) });
    }
    const bestCell = (key) => (r) => {
      const s = summaryOf(r, key, "epoch");
      if (!s || s.min_value === null) return "\u2013";
      return [formatValue(s.min_value, 4), el("span", { class: "epoch" }, ` @${s.min_step}`)];
    };
    cols.push(
      { id: "best_loss", label: "best loss", get: best("loss"), cls: "num", cell: bestCell("loss"), title: "lowest epoch loss @ epoch" },
      { id: "best_val_loss", label: "best val_loss", get: best("val_loss"), cls: "num", cell: bestCell("val_loss"), title: "lowest epoch val_loss @ epoch" },
      { id: "tags", label: "Tags", get: (r) => r.tags.join(","), cls: "wrap", cell: (r) => r.tags.map((t) => el("span", { class: "tag" }, t)) },
    );
    return cols;
  }

  pickMetric() {
    const counts = new Map();
    for (const r of this.runs) {
      const first = compiledMetrics(r)[0];
      if (first) counts.set(first, (counts.get(first) || 0) + 1);
    }
    let bestName = null; let bestCount = 0;
    for (const [name, n] of counts) if (n > bestCount) { bestName = name; bestCount = n; }
    return bestName;
  }

  renderTable() {
    this.metric = this.pickMetric();
    setText(this.countLabel, `${this.runs.length} of ${this.total ?? this.runs.length} runs \u00b7 ${this.state.sel.length} selected`);
    if (!this.runs.length) {
      const filtered = buildFilter(this.state) !== "";
      replaceChildren(this.tableHost, el("div", { class: "empty", id: "empty-state" },
        el("h2", {}, filtered ? "No run matches these filters" : `No runs in ${this.state.project} yet`),
        filtered
          ? el("p", {}, "Clear the status, tag, name or filter fields above to see every run of the project.")
          : [el("p", {}, "Start training with the callback and the run appears here live:"), callbackSnippet(this.state.project)]));
      this.updateCompareButton();
      return;
    }
    const cols = this.columns();
    const desc = this.state.sort.startsWith("-");
    const sortId = this.state.sort.replace(/^-/, "");
    const col = cols.find((c) => c.id === sortId) || cols[2];
    const rows = [...this.runs].sort((a, b) => compare(col.get(a), col.get(b), desc));
    const selected = new Set(this.state.sel);
    const allBox = el("input", { type: "checkbox", title: "select all", checked: rows.every((r) => selected.has(r.id)),
      onchange: (e) => this.selectAll(e.target.checked, rows) });
    const head = el("tr", {}, el("th", {}, allBox), cols.map((c) => el("th", {
      class: ["sortable", c.cls || "", c.id === col.id ? (desc ? "sorted-desc" : "sorted-asc") : ""].join(" "),
      title: c.title || `sort by ${c.label}`, dataset: { col: c.id },
      onclick: () => this.sortBy(c.id),
    }, c.label)));
    const body = rows.map((r) => el("tr", { class: selected.has(r.id) ? "selected" : "", dataset: { run: r.id } },
      el("td", {}, el("input", { type: "checkbox", class: "select", checked: selected.has(r.id), onchange: (e) => this.select(r.id, e.target.checked) })),
      cols.map((c) => el("td", { class: c.cls || "" }, c.cell(r)))));
    replaceChildren(this.tableHost, el("div", { class: "table-wrap" },
      el("table", { class: "data runs" }, el("thead", {}, head), el("tbody", {}, body))));
    this.updateCompareButton();
  }

  sortBy(id) {
    const current = this.state.sort.replace(/^-/, "");
    const desc = this.state.sort.startsWith("-");
    this.state.sort = current === id ? (desc ? id : `-${id}`) : (["start", "duration", "epochs"].includes(id) ? `-${id}` : id);
    this.pushState();
    this.renderTable();
  }

  select(id, on) {
    const sel = new Set(this.state.sel);
    if (on) sel.add(id); else sel.delete(id);
    this.state.sel = [...sel];
    this.pushState();
    this.renderTable();
  }

  selectAll(on, rows) {
    this.state.sel = on ? rows.map((r) => r.id) : [];
    this.pushState();
    this.renderTable();
  }

  updateCompareButton() {
    if (!this.compareButton) return;
    const n = this.state.sel.length;
    this.compareButton.disabled = n < 1;
    setText(this.compareButton, n ? `Compare ${n} run${n > 1 ? "s" : ""}` : "Compare (select runs)");
  }

  openCompare() {
    const query = new URLSearchParams({ project: this.state.project, runs: this.state.sel.join(",") });
    location.href = `compare.html?${query.toString().replace(/%2C/g, ",")}`;
  }

  tickDurations() {
    for (const node of this.main.querySelectorAll(".duration")) {
      const run = this.runs.find((r) => r.id === node.dataset.run);
      if (run && run.status === "running") setText(node, formatDuration(runDurationMs(run)));
    }
  }
}

function compare(a, b, desc) {
  const missingA = a === null || a === undefined || (typeof a === "number" && Number.isNaN(a));
  const missingB = b === null || b === undefined || (typeof b === "number" && Number.isNaN(b));
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1; // missing sorts last
  const order = a < b ? -1 : a > b ? 1 : 0;
  return desc ? -order : order;
}
