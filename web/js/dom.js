// Element builders: text reaches the DOM only through textContent (never innerHTML),
// so a run name like "<img onerror=...>" is shown as text, not executed.

/**
 * el("div", {class: "x", title: "t", onclick: fn, dataset: {k: "v"}}, "text", child, [more])
 * Attribute values go through setAttribute (never parsed as HTML); `on*` keys take functions.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (name === "class") {
      node.className = value;
    } else if (name === "value" || name === "checked" || name === "selected" || name === "disabled") {
      node[name] = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** Append children: strings and numbers become text nodes, arrays are flattened. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Set a node's text (the one way text is written into existing elements). */
export function setText(node, text) {
  node.textContent = text === null || text === undefined ? "" : String(text);
  return node;
}

/** Remove every child. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Replace a node's children. */
export function replaceChildren(node, ...children) {
  clear(node);
  return append(node, children);
}

/** The page's shared frame: header with navigation, offline banner, main area. */
export function pageFrame(active) {
  const nav = el("nav", { class: "nav" },
    el("a", { href: "./", class: active === "runs" ? "active" : "" }, "Runs"),
    el("a", { href: "compare.html", class: active === "compare" ? "active" : "" }, "Compare"),
    el("a", { href: "/docs", class: "muted-link" }, "API"));
  const header = el("header", { class: "topbar" },
    el("a", { href: "./", class: "brand" }, el("span", { class: "brand-mark" }), "fitwatch"),
    nav);
  const banner = el("div", { class: "banner", id: "offline-banner", role: "status", hidden: true });
  const main = el("main", { class: "main" });
  return { header, banner, main };
}

/** The empty-state card: what to do next, with the callback snippet. */
export function callbackSnippet(project) {
  const code = [
    "from fitwatch.keras import FitWatchCallback",
    "",
    "model.fit(x, y, epochs=10, validation_split=0.2,",
    `          callbacks=[FitWatchCallback(project=${JSON.stringify(project || "my-project")}, update_freq="batch")])`,
  ].join("\n");
  return el("pre", { class: "snippet" }, el("code", {}, code));
}
