// Small DOM helpers for the room pages (text only: never innerHTML with data).

export const $ = (id) => document.getElementById(id);

/** el("li", {class: "x", text: "…", data: {id: 1}, title: "…"}, [children]) */
export function el(tag, opts = {}, children = []) {
  const node = document.createElement(tag);
  if (opts.class) node.className = opts.class;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  if (opts.title) node.title = opts.title;
  if (opts.type) node.type = opts.type;
  for (const [k, v] of Object.entries(opts.data || {})) node.dataset[k] = String(v);
  if (opts.onClick) node.addEventListener("click", opts.onClick);
  for (const child of children) if (child) node.append(child);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** "mm:ss" (or "h:mm:ss") of a number of seconds. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** Seconds since an ISO time (server clock offset applied). */
export function since(iso, offsetMs = 0) {
  if (!iso) return 0;
  return (Date.now() + offsetMs - Date.parse(iso)) / 1000;
}

/** "HH:MM" in Asia/Ho_Chi_Minh of an ISO time. */
export function hhmm(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("vi-VN", {
    hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh",
  });
}
