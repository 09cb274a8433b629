// A project's chart layout, saved on the server (GET/PUT /api/v1/projects/{p}/layout?page=):
// the order people put a page's charts in and the charts they hid, shared by every page of
// that kind (run or compare) of the project. Each chart card gets move up/down and hide
// buttons (data-requires="write": a read-only session sees the layout but no buttons), the
// page a "Hidden charts" list to bring them back. Other open pages follow over the websocket
// (`layout` messages, live.js), so a change made in one tab shows in the others.

import * as api from "./api.js";
import { el, replaceChildren } from "./dom.js";

const EMPTY = { order: [], hidden: [] };

/** The page's chart ids in the saved order: first those the layout orders (in its order),
 * then the others in the page's own order. */
export function arrangedIds(pageIds, doc) {
  const present = new Set(pageIds);
  const ordered = (doc.order || []).filter((id) => present.has(id));
  const placed = new Set(ordered);
  return [...ordered, ...pageIds.filter((id) => !placed.has(id))];
}

/** The layout after moving `id` by `delta` places among the page's shown charts. Ids the
 * layout names that this page lacks keep their place at the end (another run has them). */
export function moved(pageIds, doc, id, delta) {
  const hidden = new Set(doc.hidden || []);
  const all = arrangedIds(pageIds, doc);
  const shown = all.filter((x) => !hidden.has(x));
  const from = shown.indexOf(id);
  const to = from + delta;
  if (from < 0 || to < 0 || to >= shown.length) return doc;
  [shown[from], shown[to]] = [shown[to], shown[from]];
  // Hidden charts keep their slots; the shown ones fill the others in their new order.
  let next = 0;
  const order = all.map((x) => (hidden.has(x) ? x : shown[next++]));
  const present = new Set(pageIds);
  return { ...doc, order: [...order, ...(doc.order || []).filter((x) => !present.has(x))] };
}

export class ChartLayout {
  /** @param {{project: string, page: "run"|"compare", host: HTMLElement, hiddenHost: HTMLElement}} options */
  constructor({ project, page, host, hiddenHost }) {
    this.project = project;
    this.page = page;
    this.host = host;
    this.hiddenHost = hiddenHost;
    this.doc = { ...EMPTY };
    this.cards = []; // [{id, card}] in the page's own order
  }

  async load() {
    try {
      const saved = await api.request(`/projects/${encodeURIComponent(this.project)}/layout`, { params: { page: this.page } });
      this.doc = { order: saved.order, hidden: saved.hidden };
    } catch {
      this.doc = { ...EMPTY }; // offline or no such project: the page's own order
    }
    return this.doc;
  }

  /** Take over the chart cards the page just built (in its own order) and arrange them. */
  attach(cards) {
    this.cards = cards;
    for (const { id, card } of cards) {
      card.dataset.chart = id;
      card.prepend(el("div", { class: "chart-tools", dataset: { requires: "write" } },
        el("button", { class: "btn small ghost", title: "move this chart up", dataset: { act: "up" }, onclick: () => this.change(moved(this.ids(), this.doc, id, -1)) }, "\u2191"),
        el("button", { class: "btn small ghost", title: "move this chart down", dataset: { act: "down" }, onclick: () => this.change(moved(this.ids(), this.doc, id, 1)) }, "\u2193"),
        el("button", { class: "btn small ghost", title: "hide this chart (for every page of this project)", dataset: { act: "hide" },
          onclick: () => this.change({ ...this.doc, hidden: [...this.doc.hidden.filter((x) => x !== id), id] }) }, "hide")));
    }
    this.arrange();
  }

  ids() {
    return this.cards.map((c) => c.id);
  }

  /** A layout saved elsewhere (a `layout` message): show it. */
  apply(layout) {
    if (layout.project !== this.project || layout.page !== this.page) return;
    this.doc = { order: layout.order, hidden: layout.hidden };
    this.arrange();
  }

  async change(doc) {
    this.doc = doc;
    this.arrange();
    const root = document.documentElement;
    try {
      await api.request(`/projects/${encodeURIComponent(this.project)}/layout`, {
        method: "PUT", params: { page: this.page }, body: { order: doc.order, hidden: doc.hidden } });
      root.dataset.layoutSaved = String(Number(root.dataset.layoutSaved || 0) + 1);
    } catch (error) {
      replaceChildren(this.hiddenHost, el("span", { class: "error-text", id: "layout-error" }, `The layout was not saved: ${error.detail || error.message}`));
    }
  }

  arrange() {
    const byId = new Map(this.cards.map((c) => [c.id, c.card]));
    const hidden = new Set(this.doc.hidden);
    let restored = false;
    for (const id of arrangedIds(this.ids(), this.doc)) {
      const card = byId.get(id);
      const hide = hidden.has(id);
      if (card.hidden && !hide) restored = true;
      card.hidden = hide;
      this.host.append(card); // moves it to the end: the cards end up in the arranged order
    }
    // A chart drawn while hidden has no width: Plotly (responsive) redraws it on resize.
    if (restored) window.dispatchEvent(new Event("resize"));
    const gone = this.ids().filter((id) => hidden.has(id));
    replaceChildren(this.hiddenHost, gone.length
      ? [el("span", { class: "subtle" }, `Hidden charts (${gone.length}):`),
        gone.map((id) => el("span", { class: "hidden-chart", dataset: { chart: id } }, id,
          el("button", { class: "btn small ghost", title: "show this chart again", dataset: { requires: "write", act: "show" },
            onclick: () => this.change({ ...this.doc, hidden: this.doc.hidden.filter((x) => x !== id) }) }, "show")))]
      : []);
    this.hiddenHost.hidden = !gone.length;
    const root = document.documentElement;
    root.dataset.layout = String(Number(root.dataset.layout || 0) + 1);
  }
}
