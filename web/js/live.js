// Websocket client for /api/v1/live: subscribes to runs and/or a project, hands points and
// run changes to the page, reconnects with backoff and resumes from the last step it saw
// per series (so a reconnect never refetches whole histories).

import { setReachable } from "./api.js";

export class LiveClient {
  /**
   * @param {{runs?: string[], project?: string, resume?: boolean, onPoints?: Function,
   *          onSeries?: Function, onRun?: Function, onRunDeleted?: Function,
   *          onResync?: Function, onState?: Function, layouts?: string[], onLayout?: Function}} options
   * layouts: projects whose chart layout to follow; onLayout(layout) gets each one saved.
   * onPoints(message) gets one series' new points: {run_id, key, scope, steps, values,
   * times, epochs, replay}.
   */
  constructor(options) {
    this.options = options;
    this.runs = options.runs || [];
    this.project = options.project || "";
    this.layouts = options.layouts || [];
    this.cursors = new Map(); // "run\u0000key\u0000scope" -> last step seen
    this.socket = null;
    this.closed = false;
    this.delayMs = 500;
    this.timer = null;
    this.state = "connecting";
    this.pingIntervalS = 20;
    this.everOpened = false;
    // With resume, a (re)subscription asks the server for every point after our cursors.
    this.resume = options.resume ?? this.runs.length > 0;
  }

  start() {
    this.closed = false;
    this._connect();
    return this;
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    setReachable("live", true);
  }

  /** Record that the page already holds a series up to `step` (from a REST read). */
  seen(runId, key, scope, step) {
    const id = `${runId}\u0000${key}\u0000${scope}`;
    if ((this.cursors.get(id) ?? -1) < step) this.cursors.set(id, step);
  }

  _url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    // batch=1: when several messages are ready the server sends them as one frame holding a
    // JSON array (fewer frames to compress and send under load; docs/api.md "Live updates").
    return `${proto}//${location.host}/api/v1/live?batch=1`;
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
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.delayMs = 500;
      setReachable("live", true);
      this._setState("open");
      this._subscribe();
      this._touch();
      // Run changes (status, names) missed while away are not replayed: tell the page.
      if (reconnected && this.options.onResync) this.options.onResync("reconnected");
    };
    socket.onmessage = (event) => {
      this._touch();
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (Array.isArray(message)) {
        for (const one of message) this._dispatch(one);
      } else {
        this._dispatch(message);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearTimeout(this.watchdog);
      if (this.closed) return;
      this._setState("closed");
      setReachable("live", false);
      this._retry();
    };
    socket.onerror = () => {};
  }

  /** A browser cannot see websocket-level pings: the server sends a `ping` message after
   * `ping_interval_s` of silence, so no message for twice that long means a dead link. */
  _touch() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (this.socket) this.socket.close();
    }, this.pingIntervalS * 2000 + 2000);
  }

  _retry() {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, 10_000);
  }

  /** Subscribe (again) with resume cursors: the server replays what we have not seen. */
  _subscribe() {
    const resume = {};
    if (this.resume) {
      for (const [id, step] of this.cursors) {
        const [run, key, scope] = id.split("\u0000");
        if (this.runs.includes(run)) (resume[run] ||= []).push({ key, scope, last_step: step });
      }
    }
    const message = { type: "subscribe", runs: this.runs, projects: this.project ? [this.project] : [] };
    if (this.layouts.length) message.layouts = this.layouts;
    if (Object.keys(resume).length) message.resume = resume;
    this._send(message);
  }

  _send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  _dispatch(message) {
    const o = this.options;
    switch (message.type) {
      case "hello":
        this.pingIntervalS = message.ping_interval_s || this.pingIntervalS;
        break;
      case "subscribed":
        this.subscribed = true;
        document.documentElement.dataset.liveSubscribed = "1";
        break;
      case "points":
        if (message.steps && message.steps.length) {
          this.seen(message.run_id, message.key, message.scope, message.steps[message.steps.length - 1]);
        }
        if (o.onPoints) o.onPoints(message);
        break;
      case "series":
        if (o.onSeries) o.onSeries(message.run_id, message.series || []);
        break;
      case "run":
        if (o.onRun) o.onRun(message.run);
        break;
      case "run_deleted":
        if (o.onRunDeleted) o.onRunDeleted(message.run_id);
        break;
      case "layout":
        if (o.onLayout) o.onLayout(message.layout);
        break;
      case "resync":
        // Points were dropped: resubscribing with resume cursors replays exactly those.
        if (this.resume) this._subscribe();
        if (o.onResync) o.onResync(message.reason || "resync");
        break;
      default:
        break;
    }
  }
}
