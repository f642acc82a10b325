// PDF viewer on PDF.js (served locally from /static/vendor/pdfjs-dist).
//
// openViewer(options) -> viewer with a small API that the live room can drive:
//   viewer.goToPage(n)            show page n (1-based)
//   viewer.setZoom(z)             z = 1 fits the page width; 0.25 … 4
//   viewer.onPageChange(cb)       cb({page, zoom, pageCount, source}) after every render;
//                                 source is "user", "api" or "presenter"
//   viewer.presenter({page, zoom})  the presenter's position: applied while following
//   viewer.follow(on)             follow the presenter (true) or browse freely (false)
//   viewer.destroy()              stop listening and free the document (before opening another)
//   viewer.page, viewer.zoom, viewer.pageCount, viewer.following
// The canvas gets data-rendered-page="<n>" and data-rendered-zoom="<z>" after each draw.
//
// openViewer rejects (ViewerError: code "not_found" | "forbidden" | "timeout" | "failed",
// `status` the HTTP status when there was one) when the document cannot be opened within
// `timeoutMs`; the loading text is cleared then too, and the caller shows its own error.

const MIN_ZOOM = 0.25;
const MAX_ZOOM = 4;
const LOAD_TIMEOUT_MS = 20000;

export class ViewerError extends Error {
  constructor(code, message, status = null) {
    super(message || code);
    this.name = "ViewerError";
    this.code = code;
    this.status = status;
  }
}

function loadError(err) {
  if (err instanceof ViewerError) return err;
  const status = err && typeof err.status === "number" ? err.status : null;
  const name = err && err.name;
  if (status === 404 || name === "MissingPDFException") return new ViewerError("not_found", err.message, status || 404);
  if (status === 403 || status === 401) return new ViewerError("forbidden", err.message, status);
  return new ViewerError("failed", (err && err.message) || String(err), status);
}

export async function openViewer(options) {
  const {
    url, canvas, page = 1, zoom = 1,
    pdfjs = "/static/vendor/pdfjs-dist/build/pdf.min.mjs",
    texts = {}, timeoutMs = LOAD_TIMEOUT_MS,
  } = options;
  const words = { loading: "Đang tải tài liệu…", renderFailed: "Lỗi hiển thị trang.", page: "Trang", ...texts };
  const status = options.status || document.getElementById("viewer-status");
  const say = (text) => { if (status) status.textContent = text; };
  say(words.loading);
  const base = pdfjs.slice(0, pdfjs.lastIndexOf("/build/") + 1);
  let lib;
  try {
    lib = await import(pdfjs);
  } catch (err) {
    say("");
    throw loadError(err);
  }
  lib.GlobalWorkerOptions.workerSrc = base + "build/pdf.worker.min.mjs";
  const task = lib.getDocument({
    url,
    withCredentials: true,
    cMapUrl: base + "cmaps/",
    cMapPacked: true,
    standardFontDataUrl: base + "standard_fonts/",
    wasmUrl: base + "wasm/",
    iccUrl: base + "iccs/",
    rangeChunkSize: 1024 * 1024,  // fewer round trips; see docs/performance.md
    disableAutoFetch: true,
    isEvalSupported: false,
  });
  let timer = null;
  let pdf;
  try {
    pdf = await Promise.race([task.promise, new Promise((_, reject) => {
      timer = setTimeout(() => reject(new ViewerError("timeout", "timeout")), timeoutMs);
    })]);
  } catch (err) {
    say("");
    task.destroy().catch(() => {});
    throw loadError(err);
  } finally {
    clearTimeout(timer);
  }
  const stage = canvas.parentElement;
  const listeners = [];
  const controls = new AbortController(); // every listener below goes with destroy()
  const on = { signal: controls.signal };
  const state = { page: 1, zoom: 1, following: true, presenterState: null, renderTask: null, queued: null,
    busy: false, destroyed: false };

  const pageInput = document.getElementById("page-input");
  const countLabel = document.getElementById("page-count");
  const zoomLabel = document.getElementById("zoom-label");
  const followButton = document.getElementById("follow-presenter");
  if (countLabel) countLabel.textContent = String(pdf.numPages);
  if (pageInput) pageInput.max = String(pdf.numPages);

  function clampPage(n) {
    const v = Math.round(Number(n));
    if (!Number.isFinite(v)) return state.page;
    return Math.min(Math.max(1, v), pdf.numPages);
  }

  async function render(source) {
    if (state.destroyed) return;
    if (state.busy) {
      // one drawing at a time on the canvas: the newest request is drawn after the current
      state.queued = source;
      if (state.renderTask) state.renderTask.cancel();
      return;
    }
    state.busy = true;
    try {
      await draw(source);
    } finally {
      state.busy = false;
    }
    if (state.queued !== null && !state.destroyed) {
      const next = state.queued;
      state.queued = null;
      await render(next);
    }
  }

  async function draw(source) {
    const number = state.page;
    const pdfPage = await pdf.getPage(number);
    if (state.queued !== null || state.destroyed) return; // overtaken while the page loaded
    const natural = pdfPage.getViewport({ scale: 1 });
    const width = Math.max(200, (stage ? stage.clientWidth : 800) - 24);
    const scale = (width / natural.width) * state.zoom;
    const viewport = pdfPage.getViewport({ scale });
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.style.width = `${Math.floor(viewport.width)}px`;
    canvas.style.height = `${Math.floor(viewport.height)}px`;
    const transform = ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null;
    state.renderTask = pdfPage.render({ canvas, viewport, transform });
    try {
      await state.renderTask.promise;
    } catch (err) {
      if (err && err.name === "RenderingCancelledException") return;
      say(words.renderFailed);
      throw err;
    } finally {
      state.renderTask = null;
    }
    if (state.queued !== null) return;
    canvas.dataset.renderedPage = String(number);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${words.page} ${number} / ${pdf.numPages}`);
    canvas.dataset.renderedZoom = String(state.zoom);
    if (pageInput) pageInput.value = String(number);
    if (zoomLabel) zoomLabel.textContent = `${Math.round(state.zoom * 100)}%`;
    say("");
    const info = { page: number, zoom: state.zoom, pageCount: pdf.numPages, source };
    for (const cb of listeners) { try { cb(info); } catch (e) { console.error(e); } }
  }

  function userMoved() {
    if (state.presenterState && state.following) {
      state.following = false;
      if (followButton) followButton.hidden = false;
    }
  }

  const viewer = {
    get page() { return state.page; },
    get zoom() { return state.zoom; },
    get pageCount() { return pdf.numPages; },
    get following() { return state.following; },
    goToPage(n, source = "api") {
      state.page = clampPage(n);
      return render(source);
    },
    setZoom(z, source = "api") {
      const v = Number(z);
      if (!Number.isFinite(v)) return Promise.resolve();
      state.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v));
      return render(source);
    },
    onPageChange(cb) { listeners.push(cb); return () => listeners.splice(listeners.indexOf(cb), 1); },
    presenter(position) {
      state.presenterState = { ...(state.presenterState || {}), ...position };
      if (!state.following) { if (followButton) followButton.hidden = false; return Promise.resolve(); }
      if (position.page !== undefined) state.page = clampPage(position.page);
      if (position.zoom !== undefined) state.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, Number(position.zoom) || 1));
      return render("presenter");
    },
    destroy() {
      state.destroyed = true;
      controls.abort();
      listeners.length = 0;
      if (state.renderTask) state.renderTask.cancel();
      return task.destroy();
    },
    follow(on = true) {
      state.following = Boolean(on);
      if (followButton) followButton.hidden = state.following || !state.presenterState;
      if (state.following && state.presenterState) return viewer.presenter(state.presenterState);
      return Promise.resolve();
    },
  };

  // Controls on the page.
  const byId = (id) => document.getElementById(id);
  byId("prev-page")?.addEventListener("click", () => { userMoved(); viewer.goToPage(state.page - 1, "user"); }, on);
  byId("next-page")?.addEventListener("click", () => { userMoved(); viewer.goToPage(state.page + 1, "user"); }, on);
  byId("zoom-in")?.addEventListener("click", () => { userMoved(); viewer.setZoom(state.zoom * 1.25, "user"); }, on);
  byId("zoom-out")?.addEventListener("click", () => { userMoved(); viewer.setZoom(state.zoom / 1.25, "user"); }, on);
  pageInput?.addEventListener("change", () => { userMoved(); viewer.goToPage(pageInput.value, "user"); }, on);
  followButton?.addEventListener("click", () => viewer.follow(true), on);
  function onKey(ev) {
    if (!canvas.isConnected) return;
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement) return;
    if (ev.key === "ArrowRight" || ev.key === "PageDown") { userMoved(); viewer.goToPage(state.page + 1, "user"); }
    if (ev.key === "ArrowLeft" || ev.key === "PageUp") { userMoved(); viewer.goToPage(state.page - 1, "user"); }
  }
  document.addEventListener("keydown", onKey, on);
  // Tablets: a horizontal swipe on the page turns it.
  let touchX = null;
  stage?.addEventListener("touchstart", (ev) => { touchX = ev.touches.length === 1 ? ev.touches[0].clientX : null; },
    { passive: true, signal: controls.signal });
  stage?.addEventListener("touchend", (ev) => {
    if (touchX === null || state.zoom > 1.05) return;
    const dx = ev.changedTouches[0].clientX - touchX;
    touchX = null;
    if (Math.abs(dx) < 60) return;
    userMoved();
    viewer.goToPage(state.page + (dx < 0 ? 1 : -1), "user");
  }, { passive: true, signal: controls.signal });
  let resizeTimer = null;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => render("resize"), 150);
  }
  window.addEventListener("resize", onResize, on);

  state.page = clampPage(page);
  state.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, Number(zoom) || 1));
  await render("api");
  return viewer;
}
