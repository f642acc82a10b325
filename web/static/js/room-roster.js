// giaoban room: who sits at the endpoint, and who speaks for it (issue 13).
//
// Loaded by the room page beside room-ui.js; it only reads the page (#room-config,
// #endpoint-select) and talks to /api/v1, so the media client and the console are
// untouched.
//   - Pre-join and roll call: the roster of the endpoint chosen in "Tham dự với tư cách"
//     (the invited people of its unit; the hall's chair, co-chairs and secretary): tick
//     who is present, add someone sitting there (name, position), mark the leader.
//   - When the floor goes to an endpoint, its operator (or the chair) picks who speaks
//     from its roster; the default is the unit's leader present.

const $ = (id) => document.getElementById(id);
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
export const FLOOR_POLL_MS = 3000;

async function call(method, url, payload) {
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

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

export function mountRoster() {
  const panel = $("roster-panel");
  const select = $("endpoint-select");
  const config = JSON.parse($("room-config").textContent);
  if (!panel || !select) return null;
  const t = panel.dataset;
  const base = `/api/v1/meetings/${config.meetingId}`;
  const list = panel.querySelector(".roster-list");
  const form = panel.querySelector("form.roster-add");
  const status = panel.querySelector(".roster-status");
  const pick = $("speaker-pick");
  let rosters = new Map(); // endpoint id -> entries

  function say(message, error = false) {
    status.textContent = message || "";
    status.classList.toggle("error", error);
  }

  async function load(endpointId) {
    const { status: code, body } = await call("GET", `${base}/roster?endpoint_id=${endpointId}`);
    if (code !== 200) { say(body.message || t.error, true); return []; }
    rosters.set(endpointId, body.entries);
    return body.entries;
  }

  function row(entry) {
    const box = el("input", { type: "checkbox", checked: entry.present ? "checked" : null });
    box.addEventListener("change", async () => {
      const { status: code, body } = await call("PATCH", `${base}/roster/${entry.id}`, { present: box.checked });
      if (code !== 200) { box.checked = !box.checked; say(body.message || t.error, true); } else say("");
    });
    const label = el("label", { class: "check" }, box, " ", entry.name + (entry.position ? `, ${entry.position}` : ""));
    if (entry.is_leader) label.append(el("span", { class: "muted" }, ` (${t.leader})`));
    return el("li", { "data-entry": entry.id }, label);
  }

  async function show() {
    const endpointId = select.value;
    panel.hidden = !endpointId;
    if (!endpointId) return;
    const entries = await load(endpointId);
    list.replaceChildren(...(entries.length ? entries.map(row) : [el("li", { class: "muted" }, t.empty)]));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const endpointId = select.value;
    const payload = { name: form.elements.name.value, position: form.elements.position.value };
    const { status: code, body } = await call("POST", `${base}/endpoints/${endpointId}/roster`, payload);
    if (code === 201) { form.reset(); say(t.added); show(); } else say(body.message || t.error, true);
  });
  select.addEventListener("change", show);

  // after joining, the panel goes with the participant into the room (roll call)
  const room = $("room");
  new MutationObserver(() => {
    if (!room.hidden && panel.parentElement !== room) room.append(panel);
  }).observe(room, { attributes: true, attributeFilter: ["hidden"] });

  // picking who speaks when the floor is at this endpoint (or for the chair, any endpoint)
  let lastTurn = null;
  async function floor() {
    if (room.hidden) return;
    const { status: code, body } = await call("GET", `${base}/floor`);
    const turn = code === 200 ? body.turn : null;
    const mine = turn && turn.endpoint_id && (config.canRun || String(turn.endpoint_id) === select.value);
    pick.hidden = !mine;
    if (!mine) { lastTurn = null; return; }
    if (lastTurn && lastTurn.id === turn.id && lastTurn.speaker_id === turn.speaker_id) return;
    lastTurn = turn;
    const entries = rosters.get(String(turn.endpoint_id)) || await load(String(turn.endpoint_id));
    const choose = el("select", { "aria-label": t.speaker });
    for (const e of entries) {
      choose.append(el("option", { value: e.id, selected: e.id === turn.speaker_id ? "selected" : null },
                       e.name + (e.position ? `, ${e.position}` : "")));
    }
    choose.addEventListener("change", async () => {
      const { status: c, body: b } = await call("POST", `${base}/turns/${turn.id}/speaker`, { entry_id: Number(choose.value) });
      if (c === 200) { lastTurn = b.turn; say(`${t.speaking}: ${b.turn.speaker}`); } else say(b.message || t.error, true);
    });
    pick.replaceChildren(el("label", {}, `${t.speaker}: `, choose));
  }
  setInterval(floor, FLOOR_POLL_MS);
  show();
  return { show, floor };
}

mountRoster();
