// Sign-in page: takes a token once and exchanges it for a session cookie (HttpOnly,
// SameSite=Strict), then goes back to the page that sent the user here.

import { el, append, setText, replaceChildren, pageFrame } from "../dom.js";
import * as api from "../api.js";

/** Where to go after signing in: a path on this server only (never another site). */
export function nextPath(search) {
  const next = new URLSearchParams(search).get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") && !next.includes("\\") ? next : "./";
}

export function mount(root) {
  const frame = pageFrame("signin");
  append(root, [frame.header, frame.banner, frame.main]);
  const input = el("input", { type: "password", id: "token", name: "token", autocomplete: "off",
    spellcheck: "false", placeholder: "fw_\u2026", required: true });
  const error = el("p", { class: "error-text", id: "signin-error", role: "alert" });
  const form = el("form", { class: "panel signin", id: "signin-form", onsubmit: (event) => submit(event, input, error) },
    el("h1", {}, "Sign in to fitwatch"),
    el("p", { class: "subtle" }, "Paste a token (", el("code", {}, "fitwatch token create --name NAME --scope read"),
      "). It is sent once and exchanged for a session cookie; the page does not keep it."),
    el("label", { class: "field", for: "token" }, "Token"),
    input,
    el("button", { class: "btn primary", type: "submit", id: "signin-submit" }, "Sign in"),
    error);
  replaceChildren(frame.main, form);
  checkAuthOff(frame.main);
  input.focus();
  document.documentElement.dataset.ready = "1";
}

async function submit(event, input, error) {
  event.preventDefault();
  setText(error, "");
  const token = input.value.trim();
  if (!token) {
    setText(error, "Paste a token first.");
    return;
  }
  try {
    await api.signIn(token);
  } catch (failure) {
    setText(error, failure.status ? failure.detail : "The server is unreachable; try again.");
    return;
  } finally {
    input.value = "";
  }
  location.assign(nextPath(location.search));
}

async function checkAuthOff(main) {
  try {
    const me = await api.whoami();
    if (!me.auth) {
      replaceChildren(main, el("div", { class: "empty", id: "auth-off" },
        el("h2", {}, "No sign-in needed"),
        el("p", {}, "This server runs with FITWATCH_AUTH=off: everyone who can reach it may do everything."),
        el("a", { class: "btn", href: "./" }, "Go to the runs page")));
    }
  } catch { /* signed out: the form stays */ }
}
