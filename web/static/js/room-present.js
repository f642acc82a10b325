// Presenting in the live room: the presenter's list of documents (reloaded whenever the
// meeting's documents change: the room's "documents" event), and the presented page on
// everyone's screen (viewer.js) following the presenter.
//
// The viewer always ends in a page count or in a clear error with a retry button: an
// opening that fails (the document was withdrawn, the link dropped, the server was slow)
// is retried by itself (2, 4, 8 … 30 s) while the same document is presented, and the
// "Thử lại" button retries at once. A newer presentation always wins over an older opening
// still under way (the older one is closed when it arrives).

import { $, clear, el } from "/static/js/room-dom.js";

/** Show state.presenting on one page's elements: used by the room and the hall screen. */
export class PresentedDocument {
  constructor({ strings, ids = {}, mayPresent = false, onUserPage = null }) {
    this.t = strings;
    this.ids = { pane: "presenter", title: "presenting-title", canvas: "present-canvas", status: "viewer-status",
      error: "viewer-error", errorText: "viewer-error-text", retry: "viewer-retry", count: "page-count", ...ids };
    this.mayPresent = mayPresent;
    this.onUserPage = onUserPage;
    this.viewer = null;
    this.key = null;
    this.generation = 0;
    this.position = null;
    this.attempt = 0;
    this.retryTimer = null;
    const retry = $(this.ids.retry);
    if (retry) retry.addEventListener("click", () => this._open(true));
  }

  render(presenting) {
    const p = presenting || null;
    const pane = $(this.ids.pane);
    if (pane) pane.hidden = !p;
    if (!p) { this.close(); return; }
    const title = $(this.ids.title);
    if (title) title.textContent = p.title || "";
    const key = `${p.document_id}:${p.version}`;
    this.position = { page: p.page || 1, zoom: (p.zoom || 100) / 100 };
    if (this.key !== key) {
      this.close();
      this.key = key;
      this.presenting = p;
      this.attempt = 0;
      this._open(false);
      return;
    }
    this._follow();
  }

  close() {
    this.generation += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.viewer) this.viewer.destroy();
    this.viewer = null;
    this.key = null;
    this.shown = null;
    this._error(null);
    const canvas = $(this.ids.canvas);
    if (canvas) { delete canvas.dataset.renderedPage; canvas.dataset.state = "closed"; }
  }

  _follow() {
    if (!this.viewer || !this.position) return;
    const pos = this.position;
    // only a real move re-draws: the room's state changes for many other reasons
    if (this.shown && this.shown.page === pos.page && this.shown.zoom === pos.zoom) return;
    this.shown = { ...pos };
    this.viewer.presenter(pos).catch(() => {});
  }

  async _open(manual) {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.presenting || this.key === null) return;
    const generation = ++this.generation;
    const p = this.presenting;
    const canvas = $(this.ids.canvas);
    const count = $(this.ids.count);
    if (count) count.textContent = "…";
    if (canvas) canvas.dataset.state = "loading";
    this._error(null);
    if (this.viewer) { this.viewer.destroy(); this.viewer = null; }
    if (manual) this.attempt = 0;
    let viewer;
    try {
      const { openViewer } = await import("/static/js/viewer.js");
      viewer = await openViewer({
        url: `/documents/${p.document_id}/v/${p.version}/file.pdf`,
        canvas, page: this.position.page, zoom: this.position.zoom,
        status: $(this.ids.status),
        texts: { loading: this.t.doc_loading, renderFailed: this.t.doc_render_failed, page: this.t.page },
      });
    } catch (err) {
      if (generation !== this.generation) return;
      if (canvas) canvas.dataset.state = "error";
      if (count) count.textContent = "–";
      const why = err && err.code === "timeout" ? this.t.doc_timeout : this.t.doc_failed;
      this._error(`${why}${err && err.status ? ` (${err.status})` : ""}.`);
      this.attempt += 1;
      const delay = Math.min(30000, 1000 * 2 ** this.attempt);
      this.retryTimer = setTimeout(() => this._open(false), delay);
      return;
    }
    if (generation !== this.generation) { viewer.destroy(); return; } // overtaken meanwhile
    this.viewer = viewer;
    this.attempt = 0;
    if (canvas) canvas.dataset.state = "shown";
    this.shown = { page: viewer.page, zoom: viewer.zoom };
    if (this.mayPresent && this.onUserPage) {
      viewer.onPageChange((e) => { if (e.source === "user") this.onUserPage(viewer, e); });
    }
    this._follow();
  }

  _error(text) {
    const box = $(this.ids.error);
    if (!box) return;
    box.hidden = !text;
    const label = $(this.ids.errorText);
    if (label) label.textContent = text || "";
  }
}

// ------------------------------------------------------------------ the room page

const room = window.__room;
if (room && document.getElementById("presenter")) {
  const { client, config, ui } = room;
  const t = config.strings;
  const presented = new PresentedDocument({
    strings: t,
    mayPresent: config.mayPresent,
    onUserPage: (viewer, e) => {
      // a presenter's own page turns go to everyone; the presenter keeps following
      const s = client.state;
      if (!s || !s.presenting) return;
      client.present(s.presenting.document_id, e.page, Math.round(e.zoom * 100))
        .then(() => { if (presented.viewer === viewer) viewer.follow(true); });
    },
  });
  ui.presented = presented;
  client.addEventListener("state", (e) => { if (client.joinParams) presented.render(e.detail.presenting); });

  if (config.mayPresent) setupPresenterList(client, config, t);
}

function setupPresenterList(client, config, t) {
  const select = $("present-doc");
  const buttons = document.querySelector("#present-tools .present-buttons");
  const empty = $("present-empty");
  if (!select) return;

  function fill(documents) {
    const chosen = select.value;
    clear(select);
    for (const d of documents) {
      const opt = el("option", { text: d.ready ? d.title : `${d.title} (${d.note})`, title: d.reason || "",
        data: { why: d.why || "", version: d.version ?? "" } });
      opt.value = String(d.id);
      opt.disabled = !d.ready;
      select.append(opt);
    }
    const ready = documents.filter((d) => d.ready);
    if (ready.some((d) => String(d.id) === chosen)) select.value = chosen;
    else if (ready.length) select.value = String(ready[0].id);
    select.hidden = !documents.length;
    buttons.hidden = !documents.length;
    empty.hidden = documents.length > 0;
    $("present-start").disabled = !ready.length;
    select.dataset.count = String(documents.length);
  }

  let pending = null;
  async function reload() {
    const resp = await fetch(config.documentsUrl, { headers: { Accept: "application/json" } }).catch(() => null);
    if (!resp || !resp.ok) return;
    const body = await resp.json().catch(() => null);
    if (body && Array.isArray(body.documents)) fill(body.documents);
  }
  function soon() { // several changes at once (upload, conversion, publication): one reload
    clearTimeout(pending);
    pending = setTimeout(reload, 300);
  }

  fill(config.documents || []);
  client.addEventListener("documents", soon);
  client.addEventListener("rejoined", soon);

  const notify = (text) => {
    const box = $("notice");
    box.textContent = text;
    box.classList.add("error");
    box.hidden = false;
  };
  $("present-start").addEventListener("click", async () => {
    const id = Number(select.value);
    if (!id) return;
    const ack = await client.present(id, 1, 100);
    if (ack && !ack.ok) { notify(ack.message || ack.error); soon(); }
  });
  $("present-stop").addEventListener("click", async () => {
    const ack = await client.stopPresenting();
    if (ack && !ack.ok) notify(ack.message || ack.error);
  });
}
