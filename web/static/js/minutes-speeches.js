// giaoban: the secretary's workspace follows the live floor (issue 13).
//
//   import { mountSpeeches } from "/static/js/minutes-speeches.js";
//   mountSpeeches(config, labels);  // config from #minutes-config, labels from #speeches
//
// Every floor turn is listed under its agenda item with its speaker (the person of the
// endpoint's roster the operator or chair picked, else the unit's leader present); the
// turn holding the floor is pinned at the top with its speaker pre-filled, and the
// secretary types the gist of what was said under it. A gist saves a moment after the
// last keystroke and when the box loses focus (PUT …/turns/<id>/gist). The list is
// refreshed every few seconds while the meeting is live (GET …/turns), so a new turn
// appears without reloading; a box being typed in is never overwritten.

import { api, el } from "/static/js/minutes-common.js";

export const POLL_MS = 4000;
export const SAVE_MS = 1500;

export function mountSpeeches(config, labels) {
  const root = document.getElementById("speeches");
  if (!root) return null;
  const current = root.querySelector("#speech-current");
  const boxes = new Map(); // turn id -> textarea
  const timers = new Map();
  const base = `/api/v1/meetings/${config.meetingId}`;

  async function save(turnId, area) {
    timers.delete(turnId);
    const status = area.parentElement.querySelector(".mn-status");
    status.textContent = labels.saving;
    const { status: code, body } = await api("PUT", `${base}/turns/${turnId}/gist`, { gist: area.value });
    if (code === 200) {
      area.dataset.saved = body.turn.gist;
      status.textContent = labels.saved;
      status.classList.remove("error");
    } else {
      status.textContent = body.message || labels.error;
      status.classList.add("error");
    }
  }

  function gistBox(turn) {
    const area = el("textarea", { rows: "2", "data-turn": turn.id, maxlength: "5000",
                                  "aria-label": `${labels.gist}: ${turn.speaker}`,
                                  placeholder: labels.gist });
    area.value = turn.gist;
    area.dataset.saved = turn.gist;
    if (!config.canEdit) area.readOnly = true;
    area.addEventListener("input", () => {
      clearTimeout(timers.get(turn.id));
      timers.set(turn.id, setTimeout(() => save(turn.id, area), SAVE_MS));
    });
    area.addEventListener("blur", () => {
      if (area.value !== area.dataset.saved) { clearTimeout(timers.get(turn.id)); save(turn.id, area); }
    });
    return area;
  }

  function who(turn) {
    const parts = [turn.speaker];
    if (turn.position) parts.push(turn.position);
    let line = parts.join(", ");
    if (turn.endpoint) line += ` (${turn.endpoint})`;
    return line;
  }

  function row(turn, live) {
    const existing = boxes.get(turn.id);
    const area = existing && document.activeElement === existing ? existing : gistBox(turn);
    boxes.set(turn.id, area);
    return el("div", { class: "mn-speech" + (live ? " live" : ""), "data-turn": turn.id },
              el("div", { class: "mn-speaker" }, who(turn)), area, el("div", { class: "mn-status" }));
  }

  function render(data) {
    const byItem = new Map();
    for (const t of data.turns) {
      const key = String(t.agenda_item_id ?? "");
      if (!byItem.has(key)) byItem.set(key, []);
      byItem.get(key).push(t);
    }
    const focused = document.activeElement?.dataset?.turn;
    for (const slot of document.querySelectorAll(".mn-speeches")) {
      const turns = byItem.get(slot.dataset.item) || [];
      if (focused && slot.contains(document.activeElement)) continue; // typing here
      slot.replaceChildren(...(turns.length ? [el("div", { class: "mn-label" }, labels.title),
                                               ...turns.map((t) => row(t, t.id === data.current_turn_id))] : []));
    }
    const live = data.turns.find((t) => t.id === data.current_turn_id);
    if (!(focused && current.contains(document.activeElement))) {
      current.replaceChildren(live ? el("div", {}, el("strong", {}, labels.now + ": "), who(live))
                                   : el("span", { class: "muted" }, labels.nobody));
      if (live && config.canEdit) {
        const area = gistBox(live);
        area.rows = 3;
        current.append(area, el("div", { class: "mn-status" }));
      }
    }
    root.hidden = false;
  }

  async function refresh() {
    const { status, body } = await api("GET", `${base}/turns`);
    if (status === 200) render(body);
  }

  refresh();
  const timer = config.live ? setInterval(refresh, POLL_MS) : null;
  return { refresh, stop: () => timer && clearInterval(timer) };
}
