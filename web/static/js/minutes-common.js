// giaoban minutes pages: small shared helpers (fetch with CSRF, DOM building, times).

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

/** JSON request; resolves {status, body} (body {} when not JSON); rejects on network loss. */
export async function api(method, url, payload) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    init.headers["X-CSRFToken"] = csrf();
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload ?? {});
  }
  const resp = await fetch(url, init);
  let body = {};
  try { body = await resp.json(); } catch (_) { body = {}; }
  return { status: resp.status, body };
}

/** An element; string children become text nodes (never parsed as HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

export const text = (s) => String(s ?? "");

export function hhmm(date) {
  return date.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });
}

export function ddmmyyyy(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit", year: "numeric" });
}
