// Websocket client for /api/v1/live: subscribes to runs and/or a project, hands points and
// run changes to the page, reconnects with backoff and resumes from the last step it saw
// per series (so a reconnect never refetches whole histories).

import { setReachable } from "./api.js";

export class LiveClient {
  /**
   * @param {{runs?: string[], project?: string, onPoints?: Function, onRun?: Function,
   *          onRunDeleted?: Function, onResync?: Function, onState?: Function}} options
   */
  constructor(options) {
    this.options = options;
    this.runs = options.runs || [];
    this.project = options.project || "";
    this.cursors = new Map(); // "run\u0000key\u0000scope" -> last step seen
    this.socket = null;
    this.closed = false;
    this.delayMs = 500;
    this.timer = null;
    this.state = "connecting";
    this.everOpened = false;
  }

  start() {
    this.closed = false;
    this._connect();
    return this;
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
    setReachable("live", true);
  }

  /** Record that the page already holds a series up to `step` (from a REST read). */
  seen(runId, key, scope, step) {
    const id = `${runId}\u0000${key}\u0000${scope}`;
    if ((this.cursors.get(id) ?? -1) < step) this.cursors.set(id, step);
  }

  _url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams();
    for (const run of this.runs) query.append("run", run);
    if (this.project) query.set("project", this.project);
    return `${proto}//${location.host}/api/v1/live?${query}`;
  }

  _setState(state) {
    this.state = state;
    document.documentElement.dataset.live = state;
    if (this.options.onState) this.options.onState(state);
  }

  _connect() {
    let socket;
    try {
      socket = new WebSocket(this._url());
    } catch {
      this._retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const reconnect = this.everOpened;
      this.everOpened = true;
      this.delayMs = 500;
      setReachable("live", true);
      this._setState("open");
      this._subscribe();
      if (reconnect && this.options.onResync) this.options.onResync("reconnected");
    };
    socket.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      this._dispatch(message);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.closed) return;
      this._setState("closed");
      if (this.everOpened) setReachable("live", false);
      this._retry();
    };
    socket.onerror = () => {};
  }

  _retry() {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, 10_000);
  }

  _subscribe() {
    const cursors = {};
    for (const [id, step] of this.cursors) {
      const [run, key, scope] = id.split("\u0000");
      ((cursors[run] ||= {})[scope] ||= {})[key] = step;
    }
    this._send({ type: "subscribe", runs: this.runs, project: this.project || null, after: cursors });
  }

  _send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  _dispatch(message) {
    switch (message.type) {
      case "points": {
        const runId = message.run_id;
        for (const s of message.series || []) {
          if (s.steps && s.steps.length) this.seen(runId, s.key, s.scope, s.steps[s.steps.length - 1]);
        }
        if (this.options.onPoints) this.options.onPoints(runId, message.series || []);
        break;
      }
      case "run":
        if (this.options.onRun) this.options.onRun(message.run);
        break;
      case "run_deleted":
        if (this.options.onRunDeleted) this.options.onRunDeleted(message.run_id);
        break;
      case "resync":
        if (this.options.onResync) this.options.onResync("resync");
        break;
      default:
        break;
    }
  }
}
