// REST client: one fetch wrapper. A network failure shows the offline banner and starts
// probing the server with backoff; when it answers again, "online" listeners run (pages
// reload their state once; nothing polls while the server is up).

export const API = "/api/v1";

const listeners = { online: new Set(), offline: new Set() };
let offline = false;
let probeTimer = null;
let probeDelayMs = 500;
const reasons = new Set();

export class ApiError extends Error {
  constructor(status, detail, url, position = null) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
    this.url = url;
    this.position = position; // where in a filter expression the server found the error
  }
}

export function on(event, fn) {
  listeners[event].add(fn);
  return () => listeners[event].delete(fn);
}

export function isOffline() {
  return offline;
}

function banner() {
  return document.getElementById("offline-banner");
}

function renderBanner() {
  const node = banner();
  if (!node) return;
  if (reasons.size === 0) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  node.hidden = false;
  node.textContent = "The fitwatch server is unreachable. Reconnecting automatically\u2026 "
    + "(data shown may be out of date)";
}

/** Mark a part of the page (REST, websocket) as disconnected or connected again. Drawn every
 * time, not only on a change: a read can fail before the page has built its banner (the
 * compare page's first reads), and the next failure must then show it. */
export function setReachable(part, reachable) {
  if (reachable) reasons.delete(part); else reasons.add(part);
  renderBanner();
}

function goOffline() {
  setReachable("rest", false);
  if (offline) return;
  offline = true;
  probeDelayMs = 500;
  for (const fn of listeners.offline) fn();
  scheduleProbe();
}

function scheduleProbe() {
  clearTimeout(probeTimer);
  probeTimer = setTimeout(probe, probeDelayMs);
  probeDelayMs = Math.min(probeDelayMs * 2, 10_000);
}

async function probe() {
  try {
    const response = await fetch(`${API}/projects`, { cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
  } catch {
    scheduleProbe();
    return;
  }
  offline = false;
  setReachable("rest", true);
  for (const fn of listeners.online) fn();
}

/** Build `/api/v1/path?k=v` skipping empty parameters. */
export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    query.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const qs = query.toString();
  return `${API}${path}${qs ? `?${qs}` : ""}`;
}

// A 429 (the server's per-token rate limit) is waited out this many times, per request.
const RATE_LIMIT_RETRIES = 3;

/** The sign-in page, coming back to this page afterwards. */
export function signInUrl() {
  return `signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function isSignInPage() {
  return location.pathname.endsWith("/signin.html");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET/POST JSON. Throws ApiError for 4xx/5xx; network errors flip the page offline;
 * a 401 (signed out, or the session ended) goes to the sign-in page. */
export async function request(path, { params, method = "GET", body, signal, headers = {} } = {}) {
  const target = url(path, params);
  let response;
  for (let attempt = 0; ; attempt += 1) {
    try {
      response = await fetch(target, {
        method,
        signal,
        headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      goOffline();
      throw new ApiError(0, "the server is unreachable", target);
    }
    if (response.status !== 429 || attempt >= RATE_LIMIT_RETRIES) break;
    await sleep(1000 * (Number(response.headers.get("Retry-After")) || 1));
  }
  if (response.status === 401 && !isSignInPage()) location.assign(signInUrl());
  if (!response.ok) {
    let detail = response.statusText;
    let position = null;
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      if (Number.isInteger(data.position)) position = data.position;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, detail, target, position);
  }
  return response.status === 204 ? null : response.json();
}

export const getProjects = () => request("/projects");
export const getRun = (id) => request(`/runs/${encodeURIComponent(id)}`);
export const listRuns = (params) => request("/runs", { params });
export const readMany = (params, signal) => request("/series", { params, signal });
/** Figures per group of runs and step bucket (bands): count, mean, std, min, max. */
export const readGroups = (params, signal) => request("/series/groups", { params, signal });
export const readSeries = (runId, key, params, signal) =>
  request(`/runs/${encodeURIComponent(runId)}/series/${key.split("/").map(encodeURIComponent).join("/")}`, { params, signal });
export const deleteRun = (id) => request(`/runs/${encodeURIComponent(id)}`, { method: "DELETE" });
export const patchRun = (id, changes) => request(`/runs/${encodeURIComponent(id)}`, { method: "PATCH", body: changes });
export const listTrash = (params) => request("/trash", { params });
export const trashRuns = (ids) => request("/trash", { method: "POST", body: { runs: ids } });
export const restoreRuns = (ids) => request("/trash/restore", { method: "POST", body: { runs: ids } });
/** Delete runs in the trash for good: the ones listed, or every one (of `project` if given). */
export const purgeTrash = ({ runs, project } = {}) => request("/trash", { method: "DELETE", params: { runs, project } });
export const deleteProject = (name) => request(`/projects/${encodeURIComponent(name)}`, { method: "DELETE" });
export const whoami = () => request("/auth/whoami");
/** Exchange a token for the session cookie (HttpOnly: this page never sees it again). */
export const signIn = (token) => request("/auth/session", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
export const signOut = () => request("/auth/session", { method: "DELETE" });
export const exportUrl = (runId, format = "csv") =>
  url(`/runs/${encodeURIComponent(runId)}/export`, { format });
