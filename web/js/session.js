// The dashboard's session: who is signed in (GET /api/v1/auth/whoami), what they may do,
// and signing out. Pages mark edit controls with data-requires="write" or "admin";
// css/app.css hides them until the session's scope allows them, so a read-only token
// sees none (the server refuses those requests anyway: this is for the eye, not the lock).

import * as api from "./api.js";
import { el } from "./dom.js";

let current = null;

/** The signed-in caller ({auth, name, scope, project, via}), or null before it is known. */
export function session() {
  return current;
}

export async function startSession() {
  let me;
  try {
    me = await api.whoami(); // a 401 sends the page to signin.html (api.js)
  } catch {
    return null;
  }
  current = me;
  const root = document.documentElement;
  root.dataset.scope = me.scope;
  root.dataset.auth = me.auth ? "on" : "off";
  if (me.auth) showBadge(me);
  return me;
}

function showBadge(me) {
  const bar = document.querySelector(".topbar");
  if (!bar || document.getElementById("session")) return;
  const where = me.project ? ` \u00b7 ${me.project}` : "";
  bar.append(el("div", { class: "session", id: "session" },
    el("span", { class: "session-name", title: `signed in with token ${me.name} (${me.scope})` },
      me.name, el("span", { class: "session-scope", id: "session-scope" }, `${me.scope}${where}`)),
    el("button", { class: "btn small", id: "sign-out", onclick: () => signOut() }, "Sign out")));
}

async function signOut() {
  try {
    await api.signOut();
  } finally {
    location.assign("signin.html");
  }
}
