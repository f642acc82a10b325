// giaoban: the minutes documents page (Biên bản, Thông báo kết luận).
//
//   import { mountDocuments } from "/static/js/minutes-documents.js";
//   mountDocuments(config);   // {meetingId, organiser, documents}
//
// "Lập" starts a Celery job; its progress arrives as "minutes_progress" on the /minutes
// Socket.IO namespace, and is also polled from the job endpoint (so a page without a
// live socket still sees the end). Issuing is a job too (PDF + digital signature).

import { io } from "/static/vendor/socket.io-client/socket.io.esm.min.js";
import { api, ddmmyyyy, el } from "/static/js/minutes-common.js";

const POLL_MS = 1500;

const S = {
  submit: "Trình duyệt",
  approve: "Phê duyệt",
  giveBack: "Trả lại",
  issue: "Ban hành",
  reason: "Lý do trả lại",
  returned: "Lý do trả lại:",
  check: "Kiểm tra chữ ký số",
  signatureOk: "Chữ ký số hợp lệ",
  signatureBad: "Chữ ký số KHÔNG hợp lệ",
  none: "Chưa có văn bản nào.",
  failed: "Không thực hiện được",
  files: { docx: "DOCX", pdf: "PDF", signed: "PDF ký số" },
};

class DocumentsPage {
  constructor(config) {
    this.config = config;
    this.meetingId = config.meetingId;
    this.documents = config.documents || [];
    this.jobs = new Map(); // job id -> {box, timer}
  }

  mount() {
    // the signer form is read by "generate"; it never submits itself
    for (const form of document.querySelectorAll("form.mn-signer")) {
      form.addEventListener("submit", (event) => event.preventDefault());
    }
    for (const button of document.querySelectorAll("button.generate")) {
      button.addEventListener("click", () => this.generate(button));
    }
    this.render();
    if (this.config.organiser) this.connect();
  }

  connect() {
    const socket = io("/minutes", { transports: ["websocket", "polling"], withCredentials: true });
    socket.on("connect", () => socket.emit("subscribe", { meeting_id: this.meetingId }, () => {}));
    socket.on("minutes_progress", (p) => this.progress(p));
    socket.on("minutes_documents", () => this.reload());
  }

  async reload() {
    const resp = await api("GET", `/api/v1/meetings/${this.meetingId}/minutes`).catch(() => null);
    if (!resp || resp.status !== 200) return;
    this.documents = resp.body.documents;
    this.render();
    for (const button of document.querySelectorAll("button.generate")) {
      button.disabled = !resp.body.can_generate[button.dataset.kind];
    }
  }

  // --- jobs ---------------------------------------------------------------------------

  watch(job, box) {
    const bar = box.querySelector(".mn-progress");
    if (bar) bar.hidden = false;
    const entry = { box, timer: null };
    this.jobs.set(job, entry);
    const poll = async () => {
      const resp = await api("GET", `/api/v1/meetings/${this.meetingId}/minutes/jobs/${job}`).catch(() => null);
      if (resp && resp.status === 200) this.progress(resp.body.job);
      if (this.jobs.has(job)) entry.timer = setTimeout(poll, POLL_MS);
    };
    entry.timer = setTimeout(poll, POLL_MS);
  }

  progress(p) {
    const entry = this.jobs.get(p.job);
    if (!entry) return;
    const fill = entry.box.querySelector(".mn-progress > span");
    if (fill) fill.style.width = `${Math.max(0, Math.min(100, p.percent))}%`;
    const status = entry.box.querySelector(".mn-status");
    if (status) {
      status.textContent = `${p.percent}% · ${p.message}`;
      status.className = `mn-status ${p.state === "failed" ? "error" : ""}`;
    }
    if (p.state === "done" || p.state === "failed") {
      clearTimeout(entry.timer);
      this.jobs.delete(p.job);
      const button = entry.box.querySelector("button");
      if (button) button.disabled = false;
      this.reload();
    }
  }

  async generate(button) {
    const box = button.closest(".mn-job");
    button.disabled = true;
    const status = box.querySelector(".mn-status");
    let resp;
    try {
      const payload = { kind: button.dataset.kind };
      const form = box.querySelector("form.mn-signer");
      if (form && form.elements.signer_id.value) {
        // who signs the notice and with what authority (checked by the server, then by the chair)
        for (const name of ["signer_id", "authority", "principal", "title"]) payload[name] = form.elements[name].value;
        payload.signer_id = Number(payload.signer_id);
      }
      resp = await api("POST", `/api/v1/meetings/${this.meetingId}/minutes`, payload);
    } catch (_) {
      status.textContent = S.failed;
      button.disabled = false;
      return;
    }
    if (resp.status !== 202) {
      status.textContent = resp.body.message || S.failed;
      status.className = "mn-status error";
      button.disabled = false;
      return;
    }
    this.watch(resp.body.job, box);
    if (resp.body.status) this.progress(resp.body.status);
  }

  // --- the table ----------------------------------------------------------------------

  async act(doc, action, cell, payload) {
    const resp = await api("POST", `/api/v1/minutes/${doc.id}/${action}`, payload).catch(() => null);
    const message = cell.querySelector(".mn-status") || cell.appendChild(el("div", { class: "mn-status" }));
    if (!resp) { message.textContent = S.failed; return; }
    if (resp.status === 202 && resp.body.job) {
      const box = el("div", { class: "mn-job" }, el("div", { class: "mn-progress" }, el("span")), el("div", { class: "mn-status" }));
      cell.replaceChildren(box);
      this.watch(resp.body.job, box);
      if (resp.body.status) this.progress(resp.body.status);
      return;
    }
    if (resp.status >= 400) {
      message.textContent = resp.body.message || S.failed;
      message.className = "mn-status error";
      return;
    }
    this.reload();
  }

  actions(doc) {
    const cell = el("td", { class: "nowrap" });
    const button = (label, action, cls = "") => {
      const b = el("button", { type: "button", class: `small ${cls}`, "data-action": action }, label);
      b.addEventListener("click", () => this.act(doc, action, cell));
      return b;
    };
    if (doc.can.submit) cell.append(button(S.submit, "submit"));
    if (doc.can.approve) cell.append(button(S.approve, "approve"), " ");
    if (doc.can.return) {
      const form = el("form", { class: "mn-inline" });
      const input = el("input", { name: "comment", required: "required", maxlength: "5000", placeholder: S.reason });
      form.append(input, el("button", { type: "submit", class: "small secondary" }, S.giveBack));
      form.addEventListener("submit", (e) => { e.preventDefault(); this.act(doc, "return", cell, { comment: input.value }); });
      cell.append(form);
    }
    if (doc.can.issue) cell.append(button(S.issue, "issue"));
    if (doc.files.signed) {
      const b = el("button", { type: "button", class: "small secondary" }, S.check);
      b.addEventListener("click", async () => {
        const resp = await api("GET", `/api/v1/minutes/${doc.id}/signature`).catch(() => null);
        const sig = resp && resp.status === 200 ? resp.body.signature : null;
        const line = el("div", { class: sig && sig.ok ? "ok" : "error" },
          sig && sig.ok ? `${S.signatureOk}: ${sig.signer || ""}` : S.signatureBad);
        cell.append(line);
      });
      cell.append(b);
    }
    return cell;
  }

  render() {
    const body = document.getElementById("document-rows");
    if (!body) return;
    body.replaceChildren();
    if (!this.documents.length) {
      body.append(el("tr", {}, el("td", { colspan: "7", class: "muted" }, S.none)));
      return;
    }
    for (const doc of this.documents) {
      const tr = el("tr", { id: `doc-${doc.id}`, "data-status": doc.status });
      const status = el("td", {}, el("span", { class: `status s-${doc.status}` }, doc.status_label));
      if (doc.status === "returned" && doc.comment) status.append(el("div", { class: "muted" }, `${S.returned} ${doc.comment}`));
      const files = el("td", {});
      for (const [which, url] of Object.entries(doc.files)) files.append(el("a", { href: url }, S.files[which] || which), " ");
      const kind = el("td", {}, doc.kind_label);
      if (doc.signatory?.length) kind.append(el("div", { class: "muted mn-signatory" }, doc.signatory.join(" / ")));
      tr.append(kind, el("td", {}, String(doc.version)), status,
        el("td", {}, doc.number_text || ""), el("td", {}, ddmmyyyy(doc.created_at)), files, this.actions(doc));
      body.append(tr);
    }
    try { if (location.hash) document.querySelector(location.hash)?.classList.add("highlight"); } catch (_) { /* not an id */ }
  }
}

export function mountDocuments(config) {
  const page = new DocumentsPage(config);
  page.mount();
  return page;
}
