// The runs table's columns, as data (no DOM): what each column shows, the server field it
// sorts and filters on, the columns a set of runs offers, and the choice remembered per
// project. A column id is a string, so a choice fits in localStorage and the URL:
//   status, name, project, start, duration, epochs, tags, notes, deleted
//   config:["optimizer","learning_rate"]     a config value (a JSON path)
//   metric:min:epoch:val_loss                a metric's last/min/max (with the step of it)

import { summaryOf, epochsDone, parseTime, runDurationMs } from "./metrics.js";

export const AGGREGATES = ["last", "min", "max"];
const STORAGE_PREFIX = "fitwatch.runs.columns.";
// Config sections that are records of the run, not hyperparameters people compare.
const SKIPPED_CONFIG = new Set(["environment", "model", "metric_names", "learning_rate_per_epoch", "fits"]);
const MAX_CONFIG_DEPTH = 5;

const ATTRIBUTES = {
  status: { label: "Status", field: "status", kind: "text" },
  name: { label: "Name", field: "name", kind: "text" },
  project: { label: "Project", field: "project", kind: "text" },
  start: { label: "Started", field: "created_at", kind: "time" },
  duration: { label: "Duration", field: "duration", kind: "number", title: "seconds from start to end (to now while running)" },
  epochs: { label: "Epochs", field: 'count("loss", epoch)', kind: "number", title: "epochs logged (points of the epoch loss)" },
  tags: { label: "Tags", field: "tags", kind: "tags", sortable: false },
  notes: { label: "Notes", field: "notes", kind: "text" },
  deleted: { label: "In trash since", field: "deleted_at", kind: "time" },
};

/** Quote a name for the filter language ("a key" -> "\"a key\""). */
function quote(text) {
  return JSON.stringify(String(text));
}

export function configId(path) {
  return `config:${JSON.stringify(path)}`;
}

export function metricId(aggregate, scope, key) {
  return `metric:${aggregate}:${scope}:${key}`;
}

/** The column for an id, or null for an id this version does not know. */
export function column(id) {
  if (ATTRIBUTES[id]) {
    const a = ATTRIBUTES[id];
    return { id, sortable: a.sortable !== false, ...a, value: (run) => attributeValue(id, run) };
  }
  if (id.startsWith("config:")) {
    let path;
    try { path = JSON.parse(id.slice(7)); } catch { return null; }
    if (!Array.isArray(path) || !path.length) return null;
    return {
      id, label: path.join("."), kind: "config", sortable: true, title: `config.${path.join(".")}`,
      field: `config.${path.map(quote).join(".")}`,
      value: (run) => ({ value: dig(run.config, path) }),
    };
  }
  const m = /^metric:(last|min|max):([a-z_]+):(.+)$/.exec(id);
  if (m) {
    const [, aggregate, scope, key] = m;
    const label = aggregate === "last" ? key : `${aggregate} ${key}`;
    return {
      id, label: scope === "epoch" ? label : `${label} (${scope})`, kind: "number", sortable: true, metric: true,
      title: `${aggregate} of ${key} (${scope})${aggregate === "last" ? "" : " @ the step where it was reached"}`,
      field: `${aggregate}(${quote(key)}, ${scope})`,
      value: (run) => metricValue(run, aggregate, scope, key),
    };
  }
  return null;
}

function dig(value, path) {
  let current = value;
  for (const segment of path) {
    if (!current || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = current[segment];
  }
  return current;
}

function attributeValue(id, run) {
  switch (id) {
    case "start": return { value: parseTime(run.created_at) };
    case "deleted": return { value: parseTime(run.deleted_at) };
    case "duration": return { value: runDurationMs(run) };
    case "epochs": return { value: epochsDone(run) };
    case "tags": return { value: run.tags };
    default: return { value: run[id] };
  }
}

function metricValue(run, aggregate, scope, key) {
  const s = summaryOf(run, key, scope);
  if (!s) return { value: undefined };
  if (aggregate === "last") return { value: s.last_value, step: s.last_step };
  if (aggregate === "min") return { value: s.min_value, step: s.min_step };
  return { value: s.max_value, step: s.max_step };
}

/** Every column the runs offer: attributes, config leaves, metrics (key and scope). */
export function availableColumns(runs) {
  const config = new Map();
  const walk = (value, path) => {
    if (path.length > MAX_CONFIG_DEPTH) return;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (!path.length && SKIPPED_CONFIG.has(k)) continue;
        walk(v, [...path, k]);
      }
    } else if (path.length && !Array.isArray(value)) {
      config.set(configId(path), path);
    }
  };
  const metrics = new Map();
  for (const run of runs) {
    walk(run.config || {}, []);
    for (const s of run.series || []) metrics.set(`${s.scope}\u0000${s.key}`, { key: s.key, scope: s.scope });
  }
  const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.scope < b.scope ? -1 : 1);
  return {
    attributes: Object.keys(ATTRIBUTES),
    config: [...config.values()].sort((a, b) => a.join(".").localeCompare(b.join("."))),
    metrics: [...metrics.values()].sort(byKey),
  };
}

/** The columns shown before anyone chooses: the metrics most runs log, like Keras's History. */
export function defaultColumns(runs, { allProjects = false, trash = false } = {}) {
  const counts = new Map();
  for (const run of runs) {
    for (const s of run.series || []) {
      if (s.scope === "epoch" && !s.key.startsWith("val_") && s.key !== "loss") counts.set(s.key, (counts.get(s.key) || 0) + 1);
    }
  }
  const metric = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  return [
    "status", "name", ...(allProjects ? ["project"] : []), trash ? "deleted" : "start", "duration", "epochs",
    metricId("last", "epoch", "loss"), metricId("last", "epoch", "val_loss"),
    ...(metric ? [metricId("last", "epoch", metric)] : []),
    metricId("min", "epoch", "loss"), metricId("min", "epoch", "val_loss"), "tags",
  ];
}

/** The server filter clause for what a user typed in a column's filter box, or "". */
export function filterClause(col, typed) {
  const text = String(typed || "").trim();
  if (!text || !col) return "";
  const m = /^(<=|>=|!=|!~|==|=|<|>|~)?\s*(.*)$/.exec(text);
  let op = m[1] || "";
  const raw = m[2].trim();
  if (!raw) return "";
  const numeric = raw !== "" && !Number.isNaN(Number(raw)) && /^[-+.\d]/.test(raw);
  if (col.kind === "tags") return `tags ${op === "!=" || op === "!~" ? "!~" : "~"} ${quote(raw)}`;
  if (col.kind === "time") return `${col.field} ${op && op !== "~" ? op : ">="} ${quote(raw)}`;
  if (!op) op = numeric ? "=" : "~";
  if (col.id === "duration" && numeric) return `duration ${op} ${Number(raw)}`;
  const literal = numeric && !["~", "!~"].includes(op) ? String(Number(raw)) : quote(raw);
  return `${col.field} ${op} ${literal}`;
}

/** The server sort for a URL sort ("-start", "metric:min:epoch:loss"). */
export function serverSort(sort) {
  const desc = sort.startsWith("-");
  const col = column(sort.replace(/^-/, ""));
  if (!col || !col.sortable) return "-created_at";
  return `${desc ? "-" : ""}${col.field}`;
}

export function storageKey(project) {
  return STORAGE_PREFIX + (project || "*");
}

/** The remembered choice for a project, or null. */
export function loadChoice(storage, project) {
  try {
    const ids = JSON.parse(storage.getItem(storageKey(project)) || "null");
    return Array.isArray(ids) ? ids.filter((id) => column(id)) : null;
  } catch {
    return null;
  }
}

export function saveChoice(storage, project, ids) {
  try { storage.setItem(storageKey(project), JSON.stringify(ids)); } catch { /* private mode: not remembered */ }
}
