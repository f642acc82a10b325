// Comments on a draft ("góp ý dự thảo"): list and send, optionally anchored to a page.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const list = document.getElementById("comments");
const form = document.getElementById("comment-form");

function fmt(iso) {
  const d = new Date(iso);
  return d.toLocaleString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit",
    year: "numeric", hour: "2-digit", minute: "2-digit" });
}

function show(comment) {
  const li = document.createElement("li");
  const head = document.createElement("div");
  head.className = "muted";
  const who = comment.user ? `${comment.user.full_name}${comment.user.unit ? " – " + comment.user.unit : ""}` : "";
  head.textContent = `${who} · ${fmt(comment.created_at)}${comment.page ? " · trang " + comment.page : ""}`;
  const body = document.createElement("div");
  body.textContent = comment.text;
  li.append(head, body);
  if (comment.page) {
    li.style.cursor = "pointer";
    li.addEventListener("click", () => window.giaobanViewer?.goToPage(comment.page, "user"));
  }
  list.append(li);
}

async function load() {
  if (!list) return;
  const resp = await fetch(list.dataset.url, { headers: { Accept: "application/json" } });
  if (!resp.ok) return;
  const body = await resp.json();
  list.replaceChildren();
  body.comments.forEach(show);
}

form?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  const page = data.get("page");
  const resp = await fetch(form.dataset.url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
    body: JSON.stringify({ text: data.get("text"), page: page ? Number(page) : null }),
  });
  const body = await resp.json().catch(() => ({}));
  const error = document.getElementById("comment-error");
  if (resp.status === 201) {
    form.reset();
    error.textContent = "";
    show(body.comment);
  } else {
    error.textContent = body.message || `Lỗi ${resp.status}`;
  }
});

// Anchor a new comment to the page being read (the reader may clear or change it).
const pageField = form?.querySelector("input[name=page]");
function follow(viewer) {
  if (!pageField || !viewer) return;
  let touched = false;
  pageField.addEventListener("input", () => { touched = true; });
  pageField.value = String(viewer.page);
  viewer.onPageChange((info) => { if (!touched) pageField.value = String(info.page); });
  form.addEventListener("reset", () => { touched = false; setTimeout(() => { pageField.value = String(viewer.page); }); });
}
if (window.giaobanViewer) follow(window.giaobanViewer);
else document.addEventListener("giaoban:viewer-ready", (e) => follow(e.detail), { once: true });

load();
