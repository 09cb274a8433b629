// Runs page: the runs of a project (or of every project) in a table whose columns people
// choose (js/columns.js), sorted, filtered and paged on the server so that 10,000 runs
// stay responsive; selection to compare, bulk edits and the trash; live updates.

import { el, append, setText, replaceChildren, pageFrame, callbackSnippet } from "../dom.js";
import * as api from "../api.js";
import { LiveClient } from "../live.js";
import { parseState, serializeState } from "../urlstate.js";
import { formatValue } from "../charts.js";
import { parseTime, formatDuration, formatDate, runDurationMs } from "../metrics.js";
import { bandChoices, columnStats } from "../grouping.js";
import {
  AGGREGATES, availableColumns, column, configId, defaultColumns, filterClause, loadChoice, metricId,
  saveChoice, serverSort,
} from "../columns.js";

export const ALL_PROJECTS = "*";

export const SCHEMA = {
  project: { type: "string", default: "" },
  status: { type: "string", default: "" },
  tag: { type: "string", default: "" },
  name: { type: "string", default: "" },
  filter: { type: "string", default: "" },
  sort: { type: "string", default: "-start" },
  sel: { type: "list", default: [] },
  page: { type: "number", default: 0 },
  size: { type: "number", default: 100 },
  view: { type: "string", default: "" },
  // GET /runs `group_by` (the compare page's Bands choices): one row per group when set.
  group: { type: "string", default: "" },
};

const STATUSES = ["running", "finished", "failed", "crashed"];
const PAGE_SIZES = [50, 100, 250, 500];
// Projects watched live at once in the all-projects view (one websocket subscription each).
const MAX_LIVE_PROJECTS = 50;

/** The server filter expression for the page's filter fields and column filters. */
export function buildFilter(state, columnFilters = {}) {
  return filterParts(state, columnFilters).text;
}

/** The expression, and where the user's own filter text starts in it (-1 if it is empty). */
export function filterParts(state, columnFilters = {}) {
  const parts = [];
  if (state.status) parts.push(`status = ${JSON.stringify(state.status)}`);
  if (state.tag) parts.push(`tags = ${JSON.stringify(state.tag)}`);
  if (state.name) parts.push(`name ~ ${JSON.stringify(state.name)}`);
  for (const [id, typed] of Object.entries(columnFilters)) {
    const clause = filterClause(column(id), typed);
    if (clause) parts.push(clause);
  }
  const own = state.filter.trim();
  if (!own) return { text: parts.join(" and "), offset: -1 };
  const before = parts.length ? `${parts.join(" and ")} and (` : "(";
  // The leading spaces that trim() removed count too: positions are in the field's text.
  const lead = state.filter.length - state.filter.trimStart().length;
  return { text: `${before}${own})`, offset: before.length - lead };
}

/** A filter error as the user's own text with a caret under the position the server named. */
export function filterErrorLines(detail, position, state, columnFilters = {}) {
  const { offset } = filterParts(state, columnFilters);
  const message = detail.split(" (at position")[0];
  if (position === null || offset < 0) return { message, text: "", caret: "" };
  const at = Math.min(Math.max(position - offset, 0), state.filter.length);
  return { message: `${message} (at position ${at})`, text: state.filter, caret: `${" ".repeat(at)}^` };
}

export function mount(root) {
  const page = new RunsPage(root);
  page.start();
  window.fitwatchRunsPage = page;
  return page;
}

class RunsPage {
  constructor(root) {
    this.root = root;
    this.state = parseState(location.search, SCHEMA);
    this.runs = [];
    this.total = 0;
    this.projects = [];
    this.live = new Map(); // project -> LiveClient
    this.loadSeq = 0;
    this.columnFilters = {};
    // What is typed in a column's filter box before Enter: kept across redraws of the table.
    this.filterDrafts = {};
    this.chooserOpen = false;
    this.columnIds = null;
    this.groups = null; // the server's groups of the runs when grouped (GET /runs?group_by=)
    this.expanded = new Set(); // labels of the groups whose runs are shown
  }

  get allProjects() { return this.state.project === ALL_PROJECTS; }
  get trash() { return this.state.view === "trash"; }

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
    // With the project in the URL, ask for the rows at once, beside the project list
    // (one round trip before the first rows instead of two).
    const early = this.state.project ? this.fetchRuns() : null;
    if (early) early.catch(() => {});
    try {
      this.projects = (await api.getProjects()).projects;
    } catch {
      return;
    }
    if (!this.projects.length) {
      this.renderNoProjects();
      document.documentElement.dataset.ready = "1";
      return;
    }
    if (!this.state.project || (!this.allProjects && !this.projects.some((p) => p.name === this.state.project))) {
      if (!this.state.project) {
        const latest = [...this.projects].sort((a, b) => (parseTime(b.last_run_at) || 0) - (parseTime(a.last_run_at) || 0))[0];
        this.state.project = latest.name;
      }
    }
    this.pushState();
    this.columnIds = loadChoice(localStorage, this.state.project);
    this.renderShell();
    this.subscribe();
    await this.loadRuns(this.allProjects || this.projects.some((p) => p.name === this.state.project) ? early : null);
  }

  subscribe() {
    const wanted = this.allProjects ? this.projects.slice(0, MAX_LIVE_PROJECTS).map((p) => p.name) : [this.state.project];
    for (const [project, client] of this.live) {
      if (!wanted.includes(project)) { client.stop(); this.live.delete(project); }
    }
    for (const project of wanted) {
      if (this.live.has(project)) continue;
      this.live.set(project, new LiveClient({
        project,
        onRun: (run) => this.onRun(run),
        onRunDeleted: (id) => this.dropRun(id),
        onSeries: (runId, series) => this.onSeries(runId, series),
        onResync: () => this.loadRuns(),
      }).start());
    }
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

  projectInfo() {
    return this.projects.find((p) => p.name === this.state.project);
  }

  trashCount() {
    const list = this.allProjects ? this.projects : this.projects.filter((p) => p.name === this.state.project);
    return list.reduce((n, p) => n + (p.trashed_count || 0), 0);
  }

  renderShell() {
    const s = this.state;
    const total = this.projects.reduce((n, p) => n + p.run_count, 0);
    const projectSelect = el("select", { id: "project", onchange: (e) => this.setFilter({ project: e.target.value, sel: [] }) },
      el("option", { value: ALL_PROJECTS, selected: this.allProjects }, `All projects (${total})`),
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
    this.actionError = el("div", { class: "error-text", id: "action-error", role: "alert" });
    this.countLabel = el("span", { class: "subtle", id: "run-count" });
    this.bulkHost = el("div", { class: "bulk", id: "bulk" });
    this.chooserHost = el("div", { id: "column-chooser-host" });
    this.tableHost = el("div", { id: "runs-table" });
    this.pagerHost = el("div", { class: "pager", id: "pager" });
    const trashButton = el("button", { class: `btn${this.trash ? " primary" : ""}`, id: "view-trash",
      onclick: () => this.setFilter({ view: this.trash ? "" : "trash", sel: [] }) },
      this.trash ? "\u2190 Back to runs" : `Trash (${this.trashCount()})`);
    const heading = this.trash ? "Trash" : "Runs";
    const subtitle = this.trash
      ? "Runs moved to the trash keep their data: restore them, or delete them for good."
      : "Select runs to compare or edit them. Click a name to open the run.";
    replaceChildren(this.main,
      el("div", { class: "page-head" },
        el("div", {}, el("h1", { id: "page-title" }, heading), el("div", { class: "subtle" }, subtitle)),
        el("div", { class: "field" }, this.countLabel, trashButton,
          el("button", { class: "btn", id: "choose-columns", onclick: () => this.toggleChooser() }, "Columns\u2026"),
          !this.allProjects && !this.trash
            ? el("button", { class: "btn danger", id: "delete-project", dataset: { requires: "admin" }, onclick: () => this.deleteProject() }, "Delete project")
            : null)),
      el("div", { class: "toolbar" },
        el("label", {}, "Project", projectSelect),
        el("label", {}, "Status", statusSelect),
        el("label", {}, "Tag", el("input", { type: "search", id: "tag", value: s.tag, placeholder: "tag", size: 10, oninput: debounced("tag") })),
        el("label", {}, "Name", el("input", { type: "search", id: "name", value: s.name, placeholder: "contains\u2026", size: 14, oninput: debounced("name") })),
        this.trash ? null : el("label", {}, "Group by", this.groupSelect = el("select", { id: "group-by",
          title: "one row per group: n, and each numeric column as mean \u00b1 std (min\u2013max in the tooltip)",
          onchange: (e) => { this.expanded.clear(); this.setFilter({ group: e.target.value }); } })),
        el("label", { class: "grow" }, this.filterInput)),
      this.filterError,
      this.chooserHost,
      this.bulkHost,
      this.actionError,
      this.tableHost,
      this.pagerHost);
    this.renderChooser();
    this.renderBulk();
    this.renderGroupChoices();
  }

  /** The Group by choices: the compare page's Bands choices for the runs at hand. */
  renderGroupChoices() {
    if (!this.groupSelect) return;
    const choices = bandChoices(this.runs.map((r) => r.config)).map(([v, label]) => [v, v ? label : "off (one row per run)"]);
    if (this.state.group && !choices.some(([v]) => v === this.state.group)) choices.push([this.state.group, this.state.group]);
    replaceChildren(this.groupSelect, choices.map(([value, label]) => el("option", { value, selected: value === this.state.group }, label)));
  }

  get grouped() { return Boolean(this.state.group) && !this.trash; }

  setFilter(changes) {
    const pageReset = !("page" in changes);
    Object.assign(this.state, changes, pageReset ? { page: 0 } : {});
    this.pushState();
    if ("project" in changes || "view" in changes) {
      this.columnIds = loadChoice(localStorage, this.state.project);
      this.columnFilters = {};
      this.filterDrafts = {};
      this.renderShell();
      this.subscribe();
    }
    this.loadRuns();
  }

  fetchRuns() {
    const s = this.state;
    // Grouped, every matching run comes in one answer (at most 1000; the server refuses
    // more), so each group's figures are over all of its runs.
    const params = {
      project: this.allProjects ? undefined : s.project,
      filter: buildFilter(s, this.columnFilters),
      include: "series", limit: this.grouped ? 1000 : s.size, offset: this.grouped ? 0 : s.page * s.size,
      sort: serverSort(s.sort), group_by: this.grouped ? s.group : undefined,
    };
    return this.trash ? api.listTrash(params) : api.listRuns(params);
  }

  /** Fetch and draw the current page of runs (`pending`: that request, already sent). */
  async loadRuns(pending = null) {
    const seq = ++this.loadSeq;
    const s = this.state;
    let data;
    try {
      data = await (pending || this.fetchRuns());
    } catch (error) {
      if (seq !== this.loadSeq) return;
      if (error.status === 400 && this.grouped && error.position === null) {
        replaceChildren(this.filterError, el("div", { id: "group-error" }, `Group by: ${error.detail}`));
        return;
      }
      if (error.status === 400) {
        this.filterInput.classList.add("invalid");
        const shown = filterErrorLines(error.detail, error.position, this.state, this.columnFilters);
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
    this.groups = this.grouped ? data.groups || [] : null;
    this.renderGroupChoices();
    if (!this.runs.length && s.page > 0 && this.total > 0) {
      this.state.page = Math.max(0, Math.ceil(this.total / s.size) - 1);
      this.pushState();
      this.loadRuns();
      return;
    }
    this.renderTable();
    // For bench/runs_table.py: when the rows of the latest answer were drawn.
    document.documentElement.dataset.rowsMs = String(Math.round(performance.now()));
    document.documentElement.dataset.ready = "1";
  }

  /** The columns shown: the remembered choice, else the defaults for what these runs log. */
  columns() {
    const ids = this.columnIds || defaultColumns(this.runs, { allProjects: this.allProjects, trash: this.trash });
    return ids.map((id) => column(id)).filter(Boolean);
  }

  chooseColumns(ids) {
    this.columnIds = ids;
    saveChoice(localStorage, this.state.project, ids);
    for (const id of Object.keys(this.columnFilters)) if (!ids.includes(id)) delete this.columnFilters[id];
    this.renderChooser();
    this.renderTable();
  }

  toggleColumn(id, on) {
    const ids = this.columns().map((c) => c.id).filter((x) => x !== id);
    if (on) ids.push(id);
    this.chooseColumns(ids);
  }

  toggleChooser() {
    this.chooserOpen = !this.chooserOpen;
    this.renderChooser();
  }

  renderChooser() {
    if (!this.chooserOpen) { replaceChildren(this.chooserHost); return; }
    const shown = new Set(this.columns().map((c) => c.id));
    const offer = availableColumns(this.runs);
    const search = this.chooserSearch || "";
    const matches = (text) => !search || text.toLowerCase().includes(search.toLowerCase());
    const box = (id, label) => el("label", {}, el("input", { type: "checkbox", checked: shown.has(id), dataset: { column: id },
      onchange: (e) => this.toggleColumn(id, e.target.checked) }), label);
    const searchInput = el("input", { type: "search", id: "column-search", placeholder: "find a config key or metric\u2026", value: search,
      oninput: (e) => { this.chooserSearch = e.target.value; this.renderChooser(); document.getElementById("column-search")?.focus(); } });
    const attributes = offer.attributes.filter((id) => matches(column(id).label)).map((id) => box(id, column(id).label));
    const config = offer.config.filter((p) => matches(p.join("."))).slice(0, 300).map((p) => box(configId(p), p.join(".")));
    const metrics = offer.metrics.filter((m) => matches(m.key)).slice(0, 200).map((m) => el("div", { class: "metric-row" },
      el("span", { class: "key" }, m.scope === "epoch" ? m.key : `${m.key} (${m.scope})`),
      AGGREGATES.map((agg) => {
        const id = metricId(agg, m.scope, m.key);
        return el("label", { title: `${agg} of ${m.key} (${m.scope})` },
          el("input", { type: "checkbox", checked: shown.has(id), dataset: { column: id }, onchange: (e) => this.toggleColumn(id, e.target.checked) }), agg);
      })));
    replaceChildren(this.chooserHost, el("div", { class: "chooser", id: "column-chooser" },
      el("div", {},
        el("h3", {}, "Columns"), searchInput,
        el("div", { class: "opts" }, attributes),
        el("div", { class: "field" },
          el("button", { class: "btn small", id: "reset-columns", onclick: () => { localStorage.removeItem(`fitwatch.runs.columns.${this.state.project}`); this.columnIds = null; this.renderChooser(); this.renderTable(); } }, "Defaults"),
          el("span", { class: "subtle" }, this.allProjects ? "remembered for all projects" : `remembered for ${this.state.project}`))),
      el("div", {}, el("h3", {}, "Config"), el("div", { class: "opts", id: "config-columns" },
        config.length ? config : el("span", { class: "subtle" }, "no config keys in these runs"))),
      el("div", {}, el("h3", {}, "Metrics: last, min, max (with the step)"), el("div", { class: "opts", id: "metric-columns" },
        metrics.length ? metrics : el("span", { class: "subtle" }, "no metrics logged yet")))));
  }

  onRun(run) {
    const i = this.runs.findIndex((r) => r.id === run.id);
    const belongs = (this.allProjects || run.project === this.state.project) && Boolean(run.deleted_at) === this.trash;
    if (!belongs) {
      if (i >= 0) this.dropRun(run.id);
      else this.refetchSoon(); // counts (trash) changed
      return;
    }
    if (i >= 0) {
      // A run change carries no series; keep the ones we hold.
      this.runs[i] = { ...this.runs[i], ...run, series: run.series || this.runs[i].series };
      this.renderTable();
    } else {
      // A new or restored run: ask the server whether it passes the filter and where it sorts.
      this.refetchSoon();
    }
  }

  refetchSoon() {
    clearTimeout(this.refetchTimer);
    this.refetchTimer = setTimeout(() => { this.refreshProjects(); this.loadRuns(); }, 200);
  }

  async refreshProjects() {
    try {
      this.projects = (await api.getProjects()).projects;
    } catch { return; }
    const trashButton = document.getElementById("view-trash");
    if (trashButton && !this.trash) setText(trashButton, `Trash (${this.trashCount()})`);
  }

  dropRun(id) {
    const before = this.runs.length;
    this.runs = this.runs.filter((r) => r.id !== id);
    if (this.runs.length !== before) this.total = Math.max(0, this.total - 1);
    this.state.sel = this.state.sel.filter((x) => x !== id);
    this.renderTable();
    this.refetchSoon();
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

  cell(col, run) {
    const { value, step } = col.value(run);
    switch (col.id) {
      case "status": return el("span", { class: `status ${run.status}` }, run.status);
      case "name": return el("a", { href: `run.html?run=${encodeURIComponent(run.id)}` }, run.name);
      case "project": return el("a", { href: `./?project=${encodeURIComponent(run.project)}` }, run.project);
      case "start": case "deleted": return value ? formatDate(value) : "\u2013";
      case "duration": return el("span", { class: "duration", dataset: { run: run.id } }, formatDuration(value));
      case "epochs": return String(value);
      case "tags": return run.tags.map((t) => el("span", { class: "tag" }, t));
      case "notes": return (run.notes || "").split("\n")[0].slice(0, 80);
      default: break;
    }
    if (col.metric) {
      if (value === undefined || value === null) return "\u2013";
      return step !== undefined && col.id.startsWith("metric:") && !col.id.startsWith("metric:last:")
        ? [formatValue(value, 4), el("span", { class: "epoch" }, ` @${step}`)]
        : formatValue(value, 4);
    }
    if (value === undefined) return "\u2013";
    if (typeof value === "number") return formatValue(value, 4);
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  renderTable() {
    const s = this.state;
    const shownFrom = this.runs.length ? s.page * s.size + 1 : 0;
    setText(this.countLabel, this.groups
      ? `${this.total} runs in ${this.groups.length} groups \u00b7 ${s.sel.length} selected`
      : `${shownFrom}\u2013${s.page * s.size + this.runs.length} of ${this.total} runs \u00b7 ${s.sel.length} selected`);
    this.renderBulk();
    const cols = this.columns();
    if (!this.runs.length && !Object.values(this.columnFilters).some(Boolean)) {
      const filtered = buildFilter(s) !== "";
      replaceChildren(this.tableHost, el("div", { class: "empty", id: "empty-state" },
        this.trash
          ? [el("h2", {}, "The trash is empty"), el("p", {}, "Runs you move to the trash appear here until you restore them or delete them for good.")]
          : [el("h2", {}, filtered ? "No run matches these filters" : `No runs in ${this.allProjects ? "any project" : s.project} yet`),
            filtered
              ? el("p", {}, "Clear the status, tag, name or filter fields above to see every run of the project.")
              : [el("p", {}, "Start training with the callback and the run appears here live:"), callbackSnippet(s.project)]]));
      replaceChildren(this.pagerHost);
      return;
    }
    const desc = s.sort.startsWith("-");
    const sortId = s.sort.replace(/^-/, "");
    const selected = new Set(s.sel);
    const allBox = el("input", { type: "checkbox", title: "select every run on this page", id: "select-page",
      checked: this.runs.length > 0 && this.runs.every((r) => selected.has(r.id)),
      onchange: (e) => this.selectAll(e.target.checked) });
    // Grouped: a column for each group's run count, after the selection boxes.
    const lead = (content) => (this.groups ? [content] : []);
    const head = el("tr", {}, el("th", {}, allBox), lead(el("th", { class: "num", title: "runs in the group" }, "n")), cols.map((c) => el("th", {
      class: [c.sortable ? "sortable" : "", c.kind === "number" ? "num" : "", c.id === sortId ? (desc ? "sorted-desc" : "sorted-asc") : ""].join(" "),
      title: c.title || (c.sortable ? `sort by ${c.label}` : c.label), dataset: { col: c.id },
      onclick: c.sortable ? () => this.sortBy(c.id) : undefined,
    }, c.label)));
    const filters = el("tr", { class: "filters" }, el("th", {}), lead(el("th", {})), cols.map((c) => el("th", {},
      el("input", { type: "text", class: "col-filter", dataset: { col: c.id }, value: this.filterDrafts[c.id] ?? this.columnFilters[c.id] ?? "",
        oninput: (e) => { this.filterDrafts[c.id] = e.target.value; },
        placeholder: c.kind === "number" || c.kind === "config" ? "< 0.1" : c.kind === "time" ? ">= 2026-01-31" : "contains",
        title: "filter: a value, or an operator and a value (< 0.01, >= 3, != adam, ~ text)",
        onkeydown: (e) => { if (e.key === "Enter") this.setColumnFilter(c.id, e.target.value); },
        onchange: (e) => this.setColumnFilter(c.id, e.target.value) }))));
    const runRow = (r, member = false) => el("tr", { class: [selected.has(r.id) ? "selected" : "", member ? "member" : ""].join(" "), dataset: { run: r.id } },
      el("td", {}, el("input", { type: "checkbox", class: "select", checked: selected.has(r.id), onchange: (e) => this.select(r.id, e.target.checked) })),
      lead(el("td", {})),
      cols.map((c) => el("td", { class: [c.kind === "number" ? "num" : "", c.id === "name" ? "name" : "", c.kind === "tags" ? "wrap" : ""].join(" ") }, this.cell(c, r))));
    const body = this.groups ? this.groupRows(cols, runRow) : this.runs.map((r) => runRow(r));
    // Rows redraw while someone may be typing in a filter box: keep the focus and the caret there.
    const active = document.activeElement;
    const focused = active && active.classList && active.classList.contains("col-filter")
      ? { col: active.dataset.col, at: active.selectionStart } : null;
    replaceChildren(this.tableHost, el("div", { class: "table-wrap runs-scroll" },
      el("table", { class: "data runs" }, el("thead", {}, head, filters), el("tbody", {},
        body.length ? body : el("tr", {}, el("td", { colspan: String(cols.length + 1 + lead(0).length), class: "subtle" }, "No run matches the column filters."))))));
    if (focused) {
      const input = [...this.tableHost.querySelectorAll("input.col-filter")].find((x) => x.dataset.col === focused.col);
      if (input) { input.focus(); input.setSelectionRange(focused.at, focused.at); }
    }
    if (this.groups) replaceChildren(this.pagerHost); else this.renderPager();
  }

  /** One row per group (n, and each column's figures across its runs), then its runs if open. */
  groupRows(cols, runRow) {
    const byId = new Map(this.runs.map((r) => [r.id, r]));
    const rows = [];
    for (const g of this.groups) {
      const members = g.run_ids.map((id) => byId.get(id)).filter(Boolean);
      const open = this.expanded.has(g.label);
      const toggle = () => { if (open) this.expanded.delete(g.label); else this.expanded.add(g.label); this.renderTable(); };
      rows.push(el("tr", { class: "group-row", dataset: { group: g.label } },
        el("td", {}, el("button", { class: "btn small ghost group-toggle", "aria-expanded": String(open),
          title: open ? "hide this group's runs" : "show this group's runs", onclick: toggle }, open ? "\u25be" : "\u25b8")),
        el("td", { class: "num group-n" }, String(members.length)),
        cols.map((c) => this.groupCell(c, g, members))));
      if (open) for (const r of members) rows.push(runRow(r, true));
    }
    return rows;
  }

  /** A group's cell: mean ± std of a numeric column (min–max and n in the tooltip), the one
   * value its runs share for other columns, else how many values they have. */
  groupCell(col, group, members) {
    if (col.id === "name") return el("td", { class: "name group-label" }, group.label);
    const numeric = col.kind === "number" || col.kind === "config";
    const stats = numeric ? columnStats(col, members) : null;
    if (stats) {
      const fmt = col.id === "duration" ? formatDuration : (v) => formatValue(v, 4);
      return el("td", { class: "num group-stats", dataset: { col: col.id, n: String(stats.n), mean: String(stats.mean), std: String(stats.std), min: String(stats.min), max: String(stats.max) },
        title: `min\u2013max ${fmt(stats.min)} \u2013 ${fmt(stats.max)} \u00b7 over ${stats.n} of ${members.length} runs (std: population)` },
      `${fmt(stats.mean)} \u00b1 ${fmt(stats.std)}`);
    }
    const distinct = new Set(members.map((r) => JSON.stringify(col.value(r).value ?? null)));
    if (distinct.size === 1 && members.length) return el("td", { class: numeric ? "num" : "" }, this.cell(col, members[0]));
    return el("td", { class: "subtle" }, members.length ? `${distinct.size} values` : "\u2013");
  }

  renderPager() {
    const s = this.state;
    const pages = Math.max(1, Math.ceil(this.total / s.size));
    replaceChildren(this.pagerHost,
      el("button", { class: "btn small", id: "page-prev", disabled: s.page <= 0, onclick: () => this.setFilter({ page: s.page - 1 }) }, "\u2190 Previous"),
      el("span", { id: "page-label" }, `page ${s.page + 1} of ${pages}`),
      el("button", { class: "btn small", id: "page-next", disabled: s.page >= pages - 1, onclick: () => this.setFilter({ page: s.page + 1 }) }, "Next \u2192"),
      el("label", { class: "field" }, "rows per page", el("select", { id: "page-size", onchange: (e) => this.setFilter({ size: Number(e.target.value) }) },
        PAGE_SIZES.map((n) => el("option", { value: String(n), selected: n === s.size }, String(n))))));
  }

  setColumnFilter(id, typed) {
    this.filterDrafts[id] = typed;
    if ((this.columnFilters[id] || "") === typed) return;
    this.columnFilters[id] = typed;
    this.state.page = 0;
    this.pushState();
    this.loadRuns();
  }

  sortBy(id) {
    const current = this.state.sort.replace(/^-/, "");
    const desc = this.state.sort.startsWith("-");
    const numericFirst = ["start", "duration", "epochs", "deleted"].includes(id);
    this.setFilter({ sort: current === id ? (desc ? id : `-${id}`) : (numericFirst ? `-${id}` : id) });
  }

  select(id, on) {
    const sel = new Set(this.state.sel);
    if (on) sel.add(id); else sel.delete(id);
    this.state.sel = [...sel];
    this.pushState();
    this.renderTable();
  }

  selectAll(on) {
    const sel = new Set(this.state.sel);
    for (const r of this.runs) if (on) sel.add(r.id); else sel.delete(r.id);
    this.state.sel = [...sel];
    this.pushState();
    this.renderTable();
  }

  renderBulk() {
    if (!this.bulkHost) return;
    const n = this.state.sel.length;
    const runsWord = `${n} run${n === 1 ? "" : "s"}`;
    if (this.trash) {
      replaceChildren(this.bulkHost,
        el("span", { class: "count" }, n ? `${runsWord} selected` : "Select runs to restore or delete them."),
        el("button", { class: "btn", id: "restore-selected", disabled: !n, dataset: { requires: "admin" }, onclick: () => this.restoreSelected() }, `Restore ${n ? runsWord : ""}`),
        el("button", { class: "btn danger", id: "purge-selected", disabled: !n, dataset: { requires: "admin" }, onclick: () => this.purgeSelected() }, `Delete ${n ? runsWord : ""} for good`),
        el("span", { class: "grow" }),
        el("button", { class: "btn danger", id: "empty-trash", disabled: !this.total, dataset: { requires: "admin" }, onclick: () => this.emptyTrash() }, "Empty trash"));
      return;
    }
    replaceChildren(this.bulkHost,
      el("button", { class: "btn primary", id: "compare", disabled: n < 1, onclick: () => this.openCompare() },
        n ? `Compare ${runsWord}` : "Compare (select runs)"),
      el("button", { class: "btn", id: "tag-selected", disabled: !n, dataset: { requires: "write" }, onclick: () => this.tagSelected() }, "Add tag\u2026"),
      el("button", { class: "btn", id: "move-selected", disabled: !n, dataset: { requires: "write" }, onclick: () => this.moveSelected() }, "Move to project\u2026"),
      el("button", { class: "btn danger", id: "trash-selected", disabled: !n, dataset: { requires: "admin" }, onclick: () => this.trashSelected() }, "Move to trash"));
  }

  async act(what, work) {
    setText(this.actionError, "");
    try {
      await work();
    } catch (error) {
      setText(this.actionError, `${what} failed: ${error.detail || error.message}`);
    }
    this.refetchSoon();
  }

  trashSelected() {
    const ids = [...this.state.sel];
    if (!window.confirm(`Move ${ids.length} run${ids.length === 1 ? "" : "s"} to the trash? You can restore them from the trash.`)) return;
    return this.act("Moving to the trash", async () => {
      await api.trashRuns(ids);
      this.state.sel = [];
      this.pushState();
    });
  }

  restoreSelected() {
    const ids = [...this.state.sel];
    return this.act("Restoring", async () => {
      await api.restoreRuns(ids);
      this.state.sel = [];
      this.pushState();
    });
  }

  purgeSelected() {
    const ids = [...this.state.sel];
    if (!window.confirm(`Delete ${ids.length} run${ids.length === 1 ? "" : "s"} for good, with every series and point? This cannot be undone.`)) return;
    return this.act("Deleting", async () => {
      await api.purgeTrash({ runs: ids });
      this.state.sel = [];
      this.pushState();
    });
  }

  emptyTrash() {
    const where = this.allProjects ? "of every project" : `of ${this.state.project}`;
    if (!window.confirm(`Delete every run in the trash ${where} for good? This cannot be undone.`)) return;
    return this.act("Emptying the trash", async () => {
      await api.purgeTrash({ project: this.allProjects ? undefined : this.state.project });
      this.state.sel = [];
      this.pushState();
    });
  }

  tagSelected() {
    const tag = (window.prompt("Tag to add to the selected runs:") || "").trim();
    if (!tag) return;
    const ids = [...this.state.sel];
    return this.act("Tagging", async () => {
      for (const id of ids) {
        const run = this.runs.find((r) => r.id === id) || await api.getRun(id);
        if (!run.tags.includes(tag)) await api.patchRun(id, { tags: [...run.tags, tag] });
      }
    });
  }

  moveSelected() {
    const project = (window.prompt("Move the selected runs to project:") || "").trim();
    if (!project) return;
    const ids = [...this.state.sel];
    return this.act("Moving", async () => {
      for (const id of ids) await api.patchRun(id, { project });
      this.state.sel = [];
      this.pushState();
    });
  }

  deleteProject() {
    const name = this.state.project;
    const info = this.projectInfo();
    const count = info ? info.run_count + (info.trashed_count || 0) : 0;
    const typed = window.prompt(`Delete project ${name} and its ${count} run${count === 1 ? "" : "s"} (trash included) for good? `
      + "This cannot be undone. Type the project's name to confirm:");
    if (typed === null) return;
    if (typed.trim() !== name) {
      setText(this.actionError, `The project was not deleted: the name typed (${JSON.stringify(typed)}) is not ${JSON.stringify(name)}.`);
      return;
    }
    return this.act("Deleting the project", async () => {
      await api.deleteProject(name);
      location.assign("./");
    });
  }

  openCompare() {
    const query = new URLSearchParams({ runs: this.state.sel.join(",") });
    if (!this.allProjects) query.set("project", this.state.project);
    location.href = `compare.html?${query.toString().replace(/%2C/g, ",")}`;
  }

  tickDurations() {
    for (const node of this.main.querySelectorAll(".duration")) {
      const run = this.runs.find((r) => r.id === node.dataset.run);
      if (run && run.status === "running") setText(node, formatDuration(runDurationMs(run)));
    }
  }
}
