// Editing one run from its page: rename, tags, notes (Markdown, rendered safely), move to
// another project, the trash. Controls carry data-requires="write" or "admin" (css/app.css
// hides them from sessions whose scope cannot use them; the server refuses them anyway).
// Every change goes through PATCH /runs/{id} or /trash; other open pages learn of it over
// the websocket, and this page redraws from what the server answered.

import { el, replaceChildren, setText } from "./dom.js";
import * as api from "./api.js";
import { renderMarkdown } from "./markdown.js";

export class RunEditor {
  /** `onTrashed(run)` runs after this page moved the run to the trash. */
  constructor(run, { onTrashed } = {}) {
    this.run = run;
    this.onTrashed = onTrashed;
    this.nameHost = el("div", { class: "field name-edit" });
    this.tagsHost = el("span", { class: "tags-edit", id: "run-tags" });
    this.notesHost = el("div", { class: "notes", id: "notes" });
    this.trashHost = el("div", { id: "trash-banner" });
    this.error = el("div", { class: "error-text", id: "edit-error", role: "alert" });
    this.projectLink = el("a", { id: "run-project" });
    this.editingName = false;
    this.editingNotes = false;
    this.moving = false;
    this.render();
  }

  /** A newer version of the run (from the server, or another page over the websocket). */
  update(run) {
    this.run = { ...this.run, ...run };
    this.render();
  }

  async save(changes) {
    setText(this.error, "");
    try {
      const saved = await api.patchRun(this.run.id, changes);
      this.update(saved);
      return true;
    } catch (error) {
      setText(this.error, `Not saved: ${error.detail}`);
      return false;
    }
  }

  render() {
    // An open name or notes editor keeps what the user is typing: a live update of the run
    // (another page, the training process) redraws everything else around it.
    if (!this.editingName) this.renderName();
    this.renderTags();
    if (!this.editingNotes) this.renderNotes();
    this.renderTrash();
    const r = this.run;
    this.projectLink.setAttribute("href", `./?project=${encodeURIComponent(r.project)}`);
    setText(this.projectLink, r.project);
  }

  renderName() {
    const r = this.run;
    if (this.editingName) {
      const input = el("input", { type: "text", id: "rename-input", value: r.name, size: 40,
        onkeydown: (e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") { this.editingName = false; this.renderName(); }
        } });
      const commit = async () => {
        const name = input.value.trim();
        if (!name || name === r.name) { this.editingName = false; this.renderName(); return; }
        if (await this.save({ name })) { this.editingName = false; this.renderName(); }
      };
      replaceChildren(this.nameHost, input,
        el("button", { class: "btn small primary", id: "rename-save", onclick: commit }, "Save"),
        el("button", { class: "btn small", onclick: () => { this.editingName = false; this.renderName(); } }, "Cancel"));
      input.focus();
      input.select();
      return;
    }
    replaceChildren(this.nameHost, el("h1", { id: "run-name" }, r.name),
      el("button", { class: "btn small ghost", id: "rename-run", title: "rename the run", dataset: { requires: "write" },
        onclick: () => { this.editingName = true; this.renderName(); } }, "Rename"));
  }

  renderTags() {
    // The input outlives re-renders (typing the next tag while the last one saves), and
    // every change starts from the tags as they are now, never from a stale copy.
    if (!this.tagInput) {
      this.tagInput = el("input", { type: "text", id: "add-tag", class: "tag-input", placeholder: "+ tag", size: 8,
        dataset: { requires: "write" },
        onkeydown: (e) => {
          if (e.key !== "Enter") return;
          const tag = e.target.value.trim();
          e.target.value = "";
          if (tag) this.changeTags((tags) => (tags.includes(tag) ? tags : [...tags, tag]));
        } });
      this.tagChips = el("span", { class: "tags-edit" });
      replaceChildren(this.tagsHost, this.tagChips, this.tagInput);
    }
    replaceChildren(this.tagChips, this.run.tags.map((t) => el("span", { class: "tag", dataset: { tag: t } }, t,
      el("button", { class: "tag-remove", title: `remove tag ${t}`, "aria-label": `remove tag ${t}`,
        dataset: { requires: "write" }, onclick: () => this.changeTags((tags) => tags.filter((x) => x !== t)) }, "\u00d7"))));
  }

  /** Tag edits one after another: each waits for the previous answer. */
  changeTags(edit) {
    this.tagQueue = (this.tagQueue || Promise.resolve()).then(() => {
      const next = edit(this.run.tags);
      return next.length === this.run.tags.length && next.every((t, i) => t === this.run.tags[i]) ? true : this.save({ tags: next });
    });
    return this.tagQueue;
  }

  renderNotes() {
    const r = this.run;
    if (this.editingNotes) {
      const area = el("textarea", { id: "notes-input", rows: 8, spellcheck: "true" });
      area.value = r.notes || "";
      const preview = el("div", { class: "notes-preview", id: "notes-preview" }, renderMarkdown(area.value));
      area.addEventListener("input", () => replaceChildren(preview, renderMarkdown(area.value)));
      replaceChildren(this.notesHost,
        el("div", { class: "notes-edit" },
          el("label", { class: "subtle" }, "Notes (Markdown)", area),
          el("div", {}, el("div", { class: "subtle" }, "Preview"), preview)),
        el("div", { class: "field" },
          el("button", { class: "btn small primary", id: "save-notes", onclick: async () => {
            if (await this.save({ notes: area.value })) { this.editingNotes = false; this.renderNotes(); }
          } }, "Save notes"),
          el("button", { class: "btn small", onclick: () => { this.editingNotes = false; this.renderNotes(); } }, "Cancel")));
      area.focus();
      return;
    }
    const edit = el("button", { class: "btn small ghost", id: "edit-notes", dataset: { requires: "write" },
      onclick: () => { this.editingNotes = true; this.renderNotes(); } }, r.notes ? "Edit notes" : "Add notes");
    replaceChildren(this.notesHost, r.notes ? el("div", { id: "run-notes" }, renderMarkdown(r.notes)) : null, edit);
  }

  renderTrash() {
    const r = this.run;
    if (!r.deleted_at) { replaceChildren(this.trashHost); return; }
    replaceChildren(this.trashHost, el("div", { class: "banner trash", role: "status" },
      "This run is in the trash: it is hidden from the runs table until it is restored or deleted for good. ",
      el("button", { class: "btn small", id: "restore-run", dataset: { requires: "admin" }, onclick: async () => {
        try {
          await api.restoreRuns([r.id]);
          this.update({ deleted_at: null });
        } catch (error) { setText(this.error, `Not restored: ${error.detail}`); }
      } }, "Restore")));
  }

  /** The buttons beside the page title: move and trash. */
  actions(projects) {
    const r = () => this.run;
    const list = el("datalist", { id: "project-names" }, (projects || []).map((p) => el("option", { value: p.name })));
    const moveInput = el("input", { type: "text", id: "move-project", list: "project-names", placeholder: "project", size: 14 });
    const moveForm = el("span", { class: "field", id: "move-form", hidden: true }, moveInput,
      el("button", { class: "btn small primary", id: "move-submit", onclick: async () => {
        const project = moveInput.value.trim();
        if (!project || project === r().project) return;
        if (await this.save({ project })) moveForm.hidden = true;
      } }, "Move"), list);
    return [
      el("button", { class: "btn", id: "move-run", dataset: { requires: "write" },
        onclick: () => { moveForm.hidden = !moveForm.hidden; if (!moveForm.hidden) moveInput.focus(); } }, "Move\u2026"),
      moveForm,
      el("button", { class: "btn danger", id: "trash-run", dataset: { requires: "admin" }, onclick: async () => {
        if (!window.confirm(`Move run ${r().name} to the trash? It can be restored from the trash on the runs page.`)) return;
        try {
          await api.trashRuns([r().id]);
        } catch (error) { setText(this.error, `Not moved to the trash: ${error.detail}`); return; }
        this.update({ deleted_at: new Date().toISOString() });
        if (this.onTrashed) this.onTrashed(this.run);
      } }, "Move to trash"),
    ];
  }
}
