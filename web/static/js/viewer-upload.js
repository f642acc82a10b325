// Drag-and-drop upload of many files to a meeting, one request per file, each with its
// own progress bar; then publication buttons. Fields go before the file in the form so
// that the server reads them before it streams the file to disk.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const zone = document.getElementById("dropzone");
const list = document.getElementById("uploads");
const picker = document.getElementById("up-files");
const access = document.getElementById("up-access");
const readersBox = document.getElementById("up-readers-box");

access?.addEventListener("change", () => { readersBox.hidden = access.value !== "restricted"; });

function formFor(file, title = "") {
  const form = new FormData();
  if (title) form.append("title", title); // fields before the file: the server reads them first
  form.append("kind", document.getElementById("up-kind").value);
  form.append("confidentiality", access.value);
  const item = document.getElementById("up-item").value;
  if (item) form.append("agenda_item_id", item);
  form.append("allow_download", document.getElementById("up-download").checked ? "1" : "0");
  if (access.value === "restricted") {
    const ids = [...document.getElementById("up-readers").selectedOptions].map((o) => o.value);
    form.append("reader_ids", ids.join(","));
  }
  const versionOf = document.getElementById("up-version-of")?.value;
  if (versionOf) form.append("document_id", versionOf);
  form.append("file", file, file.name);
  return form;
}

function row(file) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = `${file.name} (${(file.size / 1048576).toFixed(1).replace(".", ",")} MB)`;
  const bar = document.createElement("progress");
  bar.max = 100; bar.value = 0;
  const note = document.createElement("span");
  note.className = "muted"; note.textContent = "Đang chờ…";
  li.append(name, bar, note);
  list.append(li);
  return { bar, note, li };
}

function upload(file, title = "") {
  const ui = row(file);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", zone.dataset.url);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) {
        ui.bar.value = Math.round((ev.loaded / ev.total) * 100);
        ui.note.textContent = `${ui.bar.value}%`;
      }
    };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 201) {
        ui.bar.value = 100;
        ui.note.className = "ok";
        ui.note.textContent = "Đã tải lên, đang chuyển đổi";
        ui.li.dataset.documentId = body.document?.id;
      } else {
        ui.note.className = "error";
        ui.note.textContent = body.message || `Lỗi ${xhr.status}`;
      }
      resolve(xhr.status);
    };
    xhr.onerror = () => { ui.note.className = "error"; ui.note.textContent = "Mất kết nối"; resolve(0); };
    xhr.send(formFor(file, title));
  });
}

async function uploadAll(files) {
  const results = [];
  // the title field names a single file; several files at once keep their file names
  const titleInput = document.getElementById("up-title");
  const title = files.length === 1 && titleInput ? titleInput.value.trim() : "";
  for (const file of files) results.push(await upload(file, title));  // one at a time: fair to the link
  if (titleInput && results.some((s) => s === 201)) titleInput.value = "";
  if (results.some((s) => s === 201)) setTimeout(() => window.location.reload(), 1500);
}

zone?.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
zone?.addEventListener("dragleave", () => zone.classList.remove("over"));
zone?.addEventListener("drop", (ev) => {
  ev.preventDefault();
  zone.classList.remove("over");
  uploadAll([...ev.dataTransfer.files]);
});
picker?.addEventListener("change", () => uploadAll([...picker.files]));

async function publish(button, payload) {
  button.disabled = true;
  const resp = await fetch(button.dataset.publish || button.dataset.publishChosen, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(payload),
  });
  return resp;
}

for (const button of document.querySelectorAll("button[data-publish-chosen]")) {
  button.addEventListener("click", async () => {
    const select = document.querySelector(`select[data-choose-for="${button.dataset.doc}"]`);
    const ids = [...select.selectedOptions].map((o) => Number(o.value));
    if (!ids.length) return;
    const resp = await publish(button, { user_ids: ids });
    const body = await resp.json().catch(() => ({}));
    button.replaceWith(Object.assign(document.createElement("span"), {
      className: resp.ok ? "ok" : "error",
      textContent: resp.ok ? `Đã phát hành (${body.notified} người nhận thông báo)` : (body.message || "Lỗi"),
    }));
  });
}

// Conversion state: poll documents still queued or converting.
const STATE_LABELS = { queued: "Đang chờ chuyển đổi", converting: "Đang chuyển đổi", ready: "Sẵn sàng",
  failed: "Chuyển đổi lỗi" };
async function poll() {
  const cells = [...document.querySelectorAll("td[data-poll]")]
    .filter((td) => td.dataset.state === "queued" || td.dataset.state === "converting");
  for (const td of cells) {
    const resp = await fetch(td.dataset.poll, { headers: { Accept: "application/json" } });
    if (!resp.ok) continue;
    const latest = (await resp.json()).document.latest;
    if (!latest || latest.state === td.dataset.state) continue;
    td.dataset.state = latest.state;
    td.className = `state-${latest.state}`;
    td.textContent = STATE_LABELS[latest.state] + (latest.failure_reason ? `: ${latest.failure_reason}` : "");
  }
  if (cells.length) setTimeout(poll, 3000);
}
poll();

for (const button of document.querySelectorAll("button[data-publish]")) {
  button.addEventListener("click", async () => {
    const resp = await publish(button, { to_all: true });
    const body = await resp.json().catch(() => ({}));
    button.replaceWith(Object.assign(document.createElement("span"), {
      className: resp.ok ? "ok" : "error",
      textContent: resp.ok ? `Đã phát hành (${body.notified} người nhận thông báo)` : (body.message || "Lỗi"),
    }));
  });
}

for (const button of document.querySelectorAll("button[data-unpublish]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const resp = await fetch(button.dataset.unpublish, { method: "POST", headers: { "X-CSRFToken": csrf } });
    if (resp.ok) window.location.reload();
    else button.disabled = false;
  });
}

for (const button of document.querySelectorAll("button[data-delete]")) {
  button.addEventListener("click", async () => {
    if (!window.confirm(`Xoá tài liệu “${button.dataset.title}” và mọi phiên bản của nó?`)) return;
    const resp = await fetch(button.dataset.delete, { method: "DELETE", headers: { "X-CSRFToken": csrf } });
    if (resp.ok) button.closest("tr").remove();
  });
}

// Renaming a document (its title; the file name is only the default).
for (const form of document.querySelectorAll("form[data-rename]")) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = form.querySelector(".error");
    error.textContent = "";
    const resp = await fetch(form.dataset.rename, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ title: form.elements.title.value.trim() }),
    }).catch(() => null);
    const body = resp ? await resp.json().catch(() => ({})) : {};
    if (resp && resp.ok) window.location.reload();
    else error.textContent = (body.fields && body.fields.title) || body.message || "Mất kết nối";
  });
}
