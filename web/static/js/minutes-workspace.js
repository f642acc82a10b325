// giaoban: the secretary's workspace (notes, conclusions, assigned tasks per agenda item).
//
//   import { mountWorkspace } from "/static/js/minutes-workspace.js";
//   mountWorkspace(config);   // config from the page (#minutes-config)
//
// Autosave: a few seconds after the last keystroke and when a field loses focus. Each
// save names the version it started from; the server answers 409 with the current text
// when someone else saved in between: both texts are shown and the secretary chooses,
// nothing is overwritten silently. Every keystroke is also kept in localStorage, so a
// lost connection (or a closed tab) loses nothing: the draft is saved when the
// connection is back (or the page is opened again).
// Read-only viewers (the chair, organisers) get every saved note live over Socket.IO.

import { io } from "/static/vendor/socket.io-client/socket.io.esm.min.js";
import { api, hhmm, el, text } from "/static/js/minutes-common.js";

export const AUTOSAVE_MS = 3000;
export const RETRY_MS = 5000;

const S = {
  saving: "Đang lưu…",
  saved: "Đã lưu lúc",
  offline: "Mất kết nối: nội dung được giữ trên máy này và sẽ tự lưu khi có kết nối lại.",
  restored: "Đã khôi phục nội dung chưa lưu từ lần trước.",
  conflict: "Người khác đã lưu mục này (phiên bản {v}) trong lúc bạn sửa. Nội dung hiện có trên máy chủ:",
  keepMine: "Giữ bản của tôi",
  takeTheirs: "Dùng bản trên máy chủ",
  notes: "Ghi chép",
  conclusions: "Kết luận",
  recipients: "Nơi nhận",
  remote: "Có cập nhật mới từ người khác; khi lưu sẽ hiện để so sánh.",
  live: "Đang cập nhật trực tiếp",
  disconnected: "Mất kết nối, đang kết nối lại…",
  cancel: "Hủy",
  edit: "Sửa",
  addTask: "Thêm nhiệm vụ",
  saveTask: "Lưu nhiệm vụ",
  overdue: "Quá hạn",
  noTasks: "Chưa có nhiệm vụ.",
  voteResult: "Biểu quyết",
};

const FIELDS = ["notes_html", "conclusions_html", "recipients"];

/** Value of one field element: HTML of an editor, list of lines of the recipients box. */
export function readField(node) {
  if (node.dataset.field === "recipients") {
    return node.value.split("\n").map((s) => s.trim()).filter(Boolean);
  }
  return node.innerHTML;
}

function writeField(node, value) {
  if (node.dataset.field === "recipients") node.value = (value || []).join("\n");
  else node.innerHTML = value || ""; // server-sanitized HTML (nh3 allow-list)
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

class NoteEditor {
  constructor(ws, section, note) {
    this.ws = ws;
    this.key = section.dataset.key;
    this.itemId = section.dataset.item ? Number(section.dataset.item) : null;
    this.section = section;
    this.version = note ? note.version : 0;
    this.nodes = {};
    for (const node of section.querySelectorAll("[data-field]")) this.nodes[node.dataset.field] = node;
    this.dirty = new Set();
    this.saving = false;
    this.timer = null;
    this.conflict = null;
    this.status = section.querySelector(`[data-status="${this.key}"]`);
    this.slot = section.querySelector(".mn-conflict-slot");
  }

  get draftKey() {
    return `giaoban:notes:${this.ws.meetingId}:${this.key}`;
  }

  get url() {
    const base = `/api/v1/meetings/${this.ws.meetingId}/notes/`;
    return base + (this.itemId === null ? "general" : String(this.itemId));
  }

  values(fields = this.dirty) {
    const out = {};
    for (const f of fields) if (this.nodes[f]) out[f] = readField(this.nodes[f]);
    return out;
  }

  show(message, kind = "") {
    if (!this.status) return;
    this.status.textContent = message;
    this.status.className = `mn-status ${kind}`;
  }

  bind() {
    for (const node of Object.values(this.nodes)) {
      node.addEventListener("input", () => this.changed(node.dataset.field));
      node.addEventListener("blur", () => this.saveSoon(0));
    }
    for (const button of this.section.querySelectorAll(".mn-toolbar button")) {
      button.addEventListener("mousedown", (e) => e.preventDefault()); // keep the selection
      button.addEventListener("click", () => {
        document.execCommand(button.dataset.cmd, false, null);
        const editor = button.closest(".mn-toolbar").nextElementSibling;
        if (editor && editor.dataset.field) this.changed(editor.dataset.field);
      });
    }
  }

  changed(field) {
    this.dirty.add(field);
    this.keepDraft();
    this.saveSoon(AUTOSAVE_MS);
  }

  keepDraft() {
    try {
      localStorage.setItem(this.draftKey, JSON.stringify({ base: this.version, values: this.values(), at: Date.now() }));
    } catch (_) { /* storage full or disabled: the autosave still runs */ }
  }

  dropDraft() {
    try { localStorage.removeItem(this.draftKey); } catch (_) { /* ignore */ }
  }

  /** A draft left by an earlier visit (closed tab, lost connection). */
  restoreDraft() {
    let draft = null;
    try { draft = JSON.parse(localStorage.getItem(this.draftKey) || "null"); } catch (_) { draft = null; }
    if (!draft || !draft.values) return;
    const server = this.values(Object.keys(draft.values));
    if (same(server, draft.values)) { this.dropDraft(); return; }
    const current = { version: this.version, ...server };
    for (const [f, v] of Object.entries(draft.values)) {
      if (this.nodes[f]) { writeField(this.nodes[f], v); this.dirty.add(f); }
    }
    if (draft.base !== this.version) {
      this.showConflict(current); // the server moved since the draft was typed
    } else {
      this.show(S.restored);
      this.saveSoon(500);
    }
  }

  saveSoon(delay) {
    clearTimeout(this.timer);
    if (!this.dirty.size) return;
    this.timer = setTimeout(() => this.save(), delay);
  }

  async save() {
    if (this.saving || this.conflict || !this.dirty.size) return;
    this.saving = true;
    const sent = this.values();
    this.show(S.saving);
    let resp;
    try {
      resp = await api("PUT", this.url, { version: this.version, ...sent });
    } catch (_) {
      this.saving = false;
      this.show(S.offline, "offline");
      this.ws.offline.add(this);
      this.timer = setTimeout(() => this.save(), RETRY_MS);
      return;
    }
    this.saving = false;
    this.ws.offline.delete(this);
    if (resp.status === 200) {
      const { note } = resp.body;
      this.version = note.version;
      for (const [f, v] of Object.entries(sent)) {
        if (same(readField(this.nodes[f]), v)) this.dirty.delete(f);
      }
      if (this.dirty.size) { this.keepDraft(); this.saveSoon(AUTOSAVE_MS); } else this.dropDraft();
      this.show(`${S.saved} ${hhmm(new Date())}`);
    } else if (resp.status === 409) {
      const current = resp.body.current || (await this.ws.fetchNote(this.key));
      if (current) this.showConflict(current);
      else this.show(resp.body.message || "409", "error");
    } else if (resp.status >= 500 || resp.status === 0) {
      this.show(S.offline, "offline");
      this.timer = setTimeout(() => this.save(), RETRY_MS);
    } else {
      this.show(resp.body.message || String(resp.status), "error");
    }
  }

  /** Both texts side by side; the secretary decides. */
  showConflict(current) {
    this.conflict = current;
    this.slot.replaceChildren();
    const box = el("div", { class: "mn-conflict", role: "alert" });
    box.append(el("p", {}, S.conflict.replace("{v}", String(current.version))));
    for (const f of FIELDS) {
      if (!this.nodes[f] || current[f] === undefined) continue;
      if (same(current[f], readField(this.nodes[f]))) continue; // nothing to compare here
      const label = { notes_html: S.notes, conclusions_html: S.conclusions, recipients: S.recipients }[f];
      box.append(el("strong", {}, label));
      const other = el("div", { class: "mn-other", "data-other": f });
      if (f === "recipients") other.textContent = (current[f] || []).join("; ");
      else other.innerHTML = current[f] || ""; // server-sanitized
      box.append(other);
    }
    const mine = el("button", { type: "button", class: "keep-mine" }, S.keepMine);
    const theirs = el("button", { type: "button", class: "secondary take-theirs" }, S.takeTheirs);
    mine.addEventListener("click", () => {
      this.version = current.version;
      for (const f of FIELDS) if (this.nodes[f]) this.dirty.add(f);
      this.resolve();
      this.save();
    });
    theirs.addEventListener("click", () => {
      this.apply(current, true);
      this.resolve();
      this.dropDraft();
    });
    box.append(mine, " ", theirs);
    this.slot.append(box);
    this.show("");
  }

  resolve() {
    this.conflict = null;
    this.slot.replaceChildren();
  }

  /** A note saved elsewhere: taken when we have nothing unsaved (or forced). */
  apply(note, force = false) {
    if (!force && note.version <= this.version) return;
    if (!force && (this.dirty.size || this.saving)) { this.show(S.remote); return; }
    for (const f of FIELDS) if (this.nodes[f] && note[f] !== undefined) writeField(this.nodes[f], note[f]);
    this.version = note.version;
    this.dirty.clear();
    if (!this.ws.config.canEdit) this.show(`${S.live} · ${hhmm(new Date())}`);
  }
}

class Workspace {
  constructor(config) {
    this.config = config;
    this.meetingId = config.meetingId;
    this.editors = new Map();
    this.offline = new Set();
    this.tasks = config.tasks || [];
    this.votes = config.votes || [];
  }

  mount() {
    for (const section of document.querySelectorAll("section.mn-item[data-key]")) {
      const editor = new NoteEditor(this, section, this.config.notes[section.dataset.key]);
      this.editors.set(editor.key, editor);
      if (this.config.canEdit) { editor.bind(); editor.restoreDraft(); }
    }
    window.addEventListener("online", () => this.flush());
    window.addEventListener("beforeunload", () => { for (const e of this.editors.values()) if (e.dirty.size) e.keepDraft(); });
    this.renderTasks();
    this.renderVotes();
    for (const form of document.querySelectorAll(".mn-task-form")) this.bindTaskForm(form);
    this.connect();
  }

  flush() {
    for (const e of this.editors.values()) if (e.dirty.size) e.saveSoon(0);
  }

  async fetchNote(key) {
    const resp = await api("GET", `/api/v1/meetings/${this.meetingId}/notes`);
    if (resp.status !== 200) return null;
    return resp.body.notes.find((n) => n.key === key) || null;
  }

  async catchUp() {
    const resp = await api("GET", `/api/v1/meetings/${this.meetingId}/notes`).catch(() => null);
    if (!resp || resp.status !== 200) return;
    for (const note of resp.body.notes) this.editors.get(note.key)?.apply(note);
  }

  connect() {
    const status = document.getElementById("connection");
    const socket = io("/minutes", { transports: ["websocket", "polling"], withCredentials: true });
    this.socket = socket;
    socket.on("connect", () => {
      if (status) status.textContent = "";
      socket.emit("subscribe", { meeting_id: this.meetingId }, () => {});
      this.catchUp();
      this.flush();
    });
    socket.on("disconnect", () => { if (status) { status.textContent = S.disconnected; status.className = "mn-status offline"; } });
    socket.on("minutes_note", (msg) => this.editors.get(msg.note.key)?.apply(msg.note));
    socket.on("minutes_tasks", () => this.reloadTasks());
    socket.on("vote_result", () => this.reloadVotes());
    socket.on("vote_opened", () => this.reloadVotes());
  }

  // --- tasks --------------------------------------------------------------------------

  async reloadTasks() {
    const resp = await api("GET", `/api/v1/meetings/${this.meetingId}/tasks`).catch(() => null);
    if (resp && resp.status === 200) { this.tasks = resp.body.tasks; this.renderTasks(); }
  }

  renderTasks() {
    for (const table of document.querySelectorAll("table.mn-tasks")) {
      const item = table.dataset.item ? Number(table.dataset.item) : null;
      const rows = this.tasks.filter((t) => (t.agenda_item_id ?? null) === item && t.status !== "cancelled");
      const body = table.tBodies[0];
      body.replaceChildren();
      if (!rows.length) { body.append(el("tr", {}, el("td", { class: "muted" }, S.noTasks))); continue; }
      for (const t of rows) {
        const tr = el("tr", { id: `task-${t.id}`, "data-task": String(t.id) });
        tr.append(el("td", {}, t.unit), el("td", {}, t.content + (t.coordinating ? ` (${t.coordinating})` : "")),
          el("td", {}, t.deadline_text), el("td", {}, t.status_label));
        const flag = el("td", {});
        if (t.overdue) flag.append(el("span", { class: "mn-overdue" }, S.overdue));
        tr.append(flag);
        if (this.config.tasksEditable) {
          const cell = el("td", { class: "nowrap" });
          const edit = el("button", { type: "button", class: "small secondary" }, S.edit);
          edit.addEventListener("click", () => this.editTask(t));
          const cancel = el("button", { type: "button", class: "small secondary" }, S.cancel);
          cancel.addEventListener("click", async () => {
            await api("POST", `/api/v1/tasks/${t.id}/status`, { status: "cancelled" });
            this.reloadTasks();
          });
          cell.append(edit, " ", cancel);
          tr.append(cell);
        }
        body.append(tr);
      }
    }
  }

  editTask(task) {
    const form = document.querySelector(`.mn-task-form[data-item="${task.agenda_item_id ?? ""}"]`);
    if (!form) return;
    form.elements.unit_id.value = String(task.unit_id);
    form.elements.content.value = task.content;
    form.elements.coordinating.value = task.coordinating || "";
    form.elements.deadline.value = task.deadline || "";
    form.elements.task_id.value = String(task.id);
    form.querySelector("button[type=submit]").textContent = S.saveTask;
    form.elements.content.focus();
  }

  bindTaskForm(form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = form.elements;
      const payload = {
        unit_id: Number(f.unit_id.value), content: f.content.value, coordinating: f.coordinating.value,
        deadline: f.deadline.value, agenda_item_id: form.dataset.item ? Number(form.dataset.item) : null,
      };
      const id = f.task_id.value;
      const url = `/api/v1/meetings/${this.meetingId}/tasks` + (id ? `/${id}` : "");
      const errorBox = form.querySelector(".field-error");
      let resp;
      try { resp = await api(id ? "PUT" : "POST", url, payload); } catch (_) { errorBox.textContent = S.offline; return; }
      if (resp.status >= 400) {
        errorBox.textContent = Object.values(resp.body.fields || {}).join(" ") || resp.body.message || "";
        return;
      }
      errorBox.textContent = "";
      form.reset();
      f.task_id.value = "";
      form.querySelector("button[type=submit]").textContent = S.addTask;
      this.reloadTasks();
    });
  }

  // --- votes (read-only summary per agenda item) --------------------------------------

  async reloadVotes() {
    const resp = await api("GET", `/api/v1/meetings/${this.meetingId}/votes`).catch(() => null);
    if (resp && resp.status === 200) { this.votes = resp.body.votes; this.renderVotes(); }
  }

  renderVotes() {
    for (const box of document.querySelectorAll(".mn-votes")) {
      const item = Number(box.dataset.item);
      box.replaceChildren();
      for (const v of this.votes.filter((x) => x.agenda_item_id === item && x.result)) {
        const parts = v.result.options.map((o) => `${o.label}: ${o.count}`).join(", ");
        box.append(el("div", { class: "mn-vote" }, `${S.voteResult}: ${text(v.question)} — ${parts}`));
      }
    }
  }
}

export function mountWorkspace(config) {
  const ws = new Workspace(config);
  ws.mount();
  return ws;
}
