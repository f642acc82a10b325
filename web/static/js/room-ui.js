// The live room page: pre-join device check, then everyone's view (hall, speaker, agenda
// item, floor, recording, quality, hand, mute, audio-only, roll call, chat, presenter
// pane) and, for the chair, the console. Protocol: room-client.js; media: room-media.js.
// Presenting: room-present.js; devices in the room: room-devices.js; shortcuts: room-keys.js.

import { RoomClient } from "/static/js/room-client.js";
import { ChairConsole } from "/static/js/room-console.js";
import { $, clear, clock, el, hhmm, since } from "/static/js/room-dom.js";
import { GalleryMedia } from "/static/js/room-gallery.js";
import { RoomMedia, levelMeter, listDevices, openDevices } from "/static/js/room-media.js";
import { FrameStall } from "/static/js/room-quality.js";

const config = JSON.parse($("room-config").textContent);
const t = config.strings;
const STORE_KEY = `giaoban.room.${config.meetingId}`;
// server clock minus this browser's clock (the page was rendered a moment ago)
const CLOCK_OFFSET_MS = config.serverNow ? Date.parse(config.serverNow) - Date.now() : 0;

const client = new RoomClient({ messages: { disconnected: t.not_connected, timeout: t.no_answer,
  invalid: t.no_answer } });
const media = new RoomMedia({ meetingId: config.meetingId });
const ui = {
  state: null, joined: false, endpointId: null, preview: null, stopMeter: null,
  reportedQuality: null, presented: null, chatIds: new Set(), rollAnswered: null,
  console: null, rejoins: 0, ended: false, qualityRun: null, gallery: null,
  stalls: { hall: new FrameStall(), speaker: new FrameStall() }, sources: { hall: null, speaker: null },
};
window.__room = { client, media, ui, config };

// ---------------------------------------------------------------- notices

let noticeTimer = null;
function notify(text, isError = false, sticky = false) {
  if (ui.ended && text !== t.meeting_ended) return; // late answers after the end say nothing new
  const box = $("notice");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (!sticky) noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

function connStatus(text, cls = "") {
  const s = $("conn-status");
  s.textContent = text;
  s.className = `conn-status ${cls}`;
}

// ---------------------------------------------------------------- pre-join

function saved() {
  try { return JSON.parse(sessionStorage.getItem(STORE_KEY) || "null"); } catch { return null; }
}

function choices() {
  const endpoint = $("endpoint-select").value;
  return {
    cameraId: $("camera-select").value,
    micId: $("mic-select").value,
    audioOnly: $("audio-only-check").checked,
    endpointId: endpoint ? Number(endpoint) : null,
    headCount: Math.max(1, Number($("head-count").value) || 1),
  };
}

async function fillDevices(chosen = {}) {
  const { cameras, mics } = await listDevices();
  for (const [select, list, value] of [[$("camera-select"), cameras, chosen.cameraId],
    [$("mic-select"), mics, chosen.micId]]) {
    clear(select);
    list.forEach((d, i) => {
      const opt = el("option", { text: d.label || `${select.id === "camera-select" ? "Camera" : "Micrô"} ${i + 1}` });
      opt.value = d.deviceId;
      select.append(opt);
    });
    if (value && list.some((d) => d.deviceId === value)) select.value = value;
  }
}

async function startPreview() {
  if (ui.stopMeter) ui.stopMeter();
  if (ui.preview) ui.preview.getTracks().forEach((tr) => tr.stop());
  ui.preview = null;
  const c = choices();
  $("device-error").hidden = true;
  try {
    ui.preview = await openDevices(c);
  } catch (err) {
    $("device-error").textContent = `${t.camera_error}: ${err.name || err}`;
    $("device-error").hidden = false;
    return;
  }
  $("preview").srcObject = ui.preview;
  $("preview").hidden = c.audioOnly;
  ui.stopMeter = levelMeter(ui.preview, (level) => {
    $("mic-level").style.width = `${Math.round(level * 100)}%`;
  });
}

function onEndpointChange() {
  const opt = $("endpoint-select").selectedOptions[0];
  $("head-count-row").hidden = !$("endpoint-select").value;
  if (opt && opt.dataset.capacity && Number($("head-count").value) <= 1) {
    $("head-count").value = String(Math.min(Number(opt.dataset.capacity), 10));
  }
}

async function setupPrejoin() {
  const previous = saved();
  try {
    await navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then((s) => s.getTracks().forEach((tr) => tr.stop()));
  } catch { /* labels stay empty; preview shows the error */ }
  await fillDevices(previous || {});
  onEndpointChange();
  for (const id of ["camera-select", "mic-select", "audio-only-check"]) $(id).addEventListener("change", startPreview);
  $("endpoint-select").addEventListener("change", onEndpointChange);
  $("join-button").addEventListener("click", () => join(choices()));
  if (previous && previous.joined) {
    // a reloaded page goes straight back in with the same choices
    $("endpoint-select").value = previous.endpointId ? String(previous.endpointId) : "";
    $("audio-only-check").checked = Boolean(previous.audioOnly);
    $("head-count").value = String(previous.headCount || 1);
    await join(previous);
    return;
  }
  await startPreview();
}

// ---------------------------------------------------------------- joining

async function join(c) {
  $("join-button").disabled = true;
  $("join-error").hidden = true;
  connStatus(t.connecting);
  try {
    await client.connect();
  } catch (err) {
    $("join-error").textContent = String(err.message || err);
    $("join-error").hidden = false;
    $("join-button").disabled = false;
    return;
  }
  const params = { meeting_id: config.meetingId, audio_only: Boolean(c.audioOnly) };
  if (c.endpointId) {
    params.endpoint_id = c.endpointId;
    const count = Number.parseInt(c.headCount, 10);
    if (Number.isInteger(count) && count > 0) params.head_count = count;
  }
  const ack = await client.join(params);
  if (!ack.ok) {
    $("join-error").textContent = ack.message || ack.error;
    $("join-error").hidden = false;
    $("join-button").disabled = false;
    sessionStorage.removeItem(STORE_KEY);
    return;
  }
  ui.joined = true;
  ui.endpointId = c.endpointId || null;
  sessionStorage.setItem(STORE_KEY, JSON.stringify({ ...c, joined: true }));
  if (ui.stopMeter) { ui.stopMeter(); ui.stopMeter = null; }
  $("prejoin").hidden = true;
  $("room").hidden = false;
  connStatus(t.joined, "ok");
  $("roll-heads").value = String(c.headCount || 1);
  render(client.state); // the join's own state came before `joined` was set
  mountVotePanel(ack.state);
  await startMedia(c);
}

/** The voting panel (room-votes.js, from the minutes area) on the same /room connection. */
async function mountVotePanel(state) {
  try {
    const { mountVotes } = await import("/static/js/room-votes.js");
    ui.votes = mountVotes(client.socket, $("vote-panel"), { ...state, strings: t.votes });
    client.addEventListener("rejoined", () => { if (ui.votes) ui.votes.refresh(); });
  } catch (err) {
    $("vote-panel").hidden = true;
    console.error("vote panel", err);
  }
}

async function startMedia(c) {
  let local = ui.preview;
  if (!local) {
    try { local = await openDevices(c); } catch (err) { notify(`${t.camera_error}: ${err.name || err}`, true); local = null; }
  }
  ui.preview = null;
  $("self-view").srcObject = local;
  $("self-view").hidden = !local || c.audioOnly;
  $("video-hall").srcObject = media.hall;
  $("video-speaker").srcObject = media.speaker;
  syncEchoGuards();
  updateAudioOnlyButton();
  try {
    await media.start(local, { devices: { cameraId: c.cameraId, micId: c.micId }, audioOnly: Boolean(c.audioOnly) });
    applyOwnState(ui.state);
  } catch (err) {
    notify(`${t.no_media} (${err.code || err.message || err})`, true, true);
  }
}

function playAll() {
  for (const id of ["video-hall", "video-speaker"]) {
    $(id).play().catch(() => {
      // autoplay with sound refused (a reload without a click): play muted, unmute on click
      $(id).muted = true;
      $(id).play().catch(() => {});
      document.addEventListener("click", () => { syncEchoGuards(true); }, { once: true });
    });
  }
}

/** No one hears themselves: the chair mutes the hall, the speaker mutes the speaker slot. */
function syncEchoGuards(force = false) {
  const s = ui.state;
  const me = config.userId;
  const hall = $("video-hall");
  const speaker = $("video-speaker");
  hall.muted = config.isChair;
  speaker.muted = Boolean(s && s.floor && s.floor.user_id === me);
  if (force) playAll();
}

// ---------------------------------------------------------------- state

function me(state) {
  return state ? state.participants.find((p) => p.user_id === config.userId) : null;
}

function render(state) {
  ui.state = state;
  if (!ui.joined) return;
  $("rec-badge").hidden = !state.recording;
  renderAgenda(state);
  renderFloor(state);
  renderQueue(state);
  applyOwnState(state);
  renderRollCall(state);
  syncEchoGuards();
  if (state.chat && state.you) { clear($("chat-list")); ui.chatIds.clear(); state.chat.forEach(addChat); }
  if (ui.console) ui.console.render(state);
  if (state.meeting.status === "ended") ended();
  // Named (or no longer) co-chair: the page reloads with or without the console, and the
  // tab rejoins by itself (session storage).
  const runs = state.meeting.chair_id === config.userId || (state.co_chair_ids || []).includes(config.userId);
  if (Array.isArray(state.co_chair_ids) && runs !== config.canRun && !ui.reloading) {
    ui.reloading = true;
    notify(runs ? t.cochair_named : t.cochair_removed);
    setTimeout(() => window.location.reload(), 1500);
  }
}

function renderAgenda(state) {
  const item = state.current_item;
  $("item-title").textContent = item ? `${t.item} ${item.position}: ${item.title}` : t.no_item;
  $("item-title").dataset.itemId = item ? String(item.id) : "";
  tick();
}

function renderFloor(state) {
  const f = state.floor;
  $("floor-name").textContent = f ? `${f.name}${f.unit ? ` – ${f.unit}` : ""}` : t.no_speaker;
  $("floor-name").dataset.userId = f ? String(f.user_id) : "";
  $("speaker-caption").textContent = f ? `${t.speaker}: ${f.name}` : t.speaker;
  tick();
}

function renderQueue(state) {
  const list = $("queue");
  clear(list);
  if (!state.queue.length) list.append(el("li", { class: "muted empty", text: t.queue_empty }));
  for (const q of state.queue) {
    list.append(el("li", { data: { userId: q.user_id } }, [
      el("span", { class: "q-time", text: hhmm(q.raised_at) }),
      el("span", { class: "q-name", text: q.endpoint ? `${q.endpoint} – ${q.name}` : q.name }),
    ]));
  }
  const raised = state.queue.some((q) => q.user_id === config.userId);
  const hand = $("hand-button");
  hand.textContent = raised ? t.lower_hand : t.raise_hand;
  hand.classList.toggle("raised", raised);
  hand.dataset.raised = raised ? "1" : "0";
  hand.disabled = state.meeting.status !== "live" || Boolean(state.floor && state.floor.user_id === config.userId);
}

function applyOwnState(state) {
  const self = me(state);
  if (!self) return;
  media.setMuted(self.muted);
  const mute = $("mute-button");
  mute.textContent = self.muted ? t.unmute : t.mute;
  mute.dataset.muted = self.muted ? "1" : "0";
  mute.disabled = self.muted_by_chair;
  $("muted-note").hidden = !self.muted_by_chair;
}

function renderRollCall(state) {
  const dialog = $("roll-dialog");
  const roll = state.roll_call;
  if (!roll || config.canRun) {
    if (dialog.open) dialog.close();
    return;
  }
  const mine = roll.answers.some((a) => (ui.endpointId ? a.endpoint_id === ui.endpointId
    : a.user_id === config.userId));
  if (mine) {
    ui.rollAnswered = roll.id;
    if (dialog.open) dialog.close();
    return;
  }
  $("roll-heads").disabled = !ui.endpointId;
  if (!ui.endpointId) $("roll-heads").value = "1";
  if (!dialog.open) dialog.showModal();
}

function tick() {
  const s = ui.state;
  if (!s) return;
  const item = s.current_item;
  const itemTimer = $("item-timer");
  if (item && item.started_at) {
    const spent = since(item.started_at, CLOCK_OFFSET_MS);
    const planned = (item.duration_minutes || 0) * 60;
    itemTimer.textContent = `${clock(spent)} / ${clock(planned)} (${t.planned})`;
    itemTimer.classList.toggle("over", planned > 0 && spent > planned);
  } else itemTimer.textContent = "";
  const floorTimer = $("floor-timer");
  if (s.floor) {
    const spent = since(s.floor.started_at, CLOCK_OFFSET_MS);
    const limit = s.floor.limit_seconds || 0;
    floorTimer.textContent = limit ? `${clock(spent)} / ${clock(limit)}` : clock(spent);
    const over = limit > 0 && spent > limit;
    floorTimer.classList.toggle("over", over);
    floorTimer.title = over ? t.over_limit : "";
  } else {
    floorTimer.textContent = "";
    floorTimer.classList.remove("over");
  }
}

function ended() {
  if (ui.ended) return;
  ui.ended = true;
  sessionStorage.removeItem(STORE_KEY);
  notify(t.meeting_ended, false, true);
  for (const id of ["hand-button", "mute-button", "audio-only-button"]) $(id).disabled = true;
  if (ui.console) $("console").querySelectorAll("button").forEach((b) => { b.disabled = true; });
  media.stop();
  setTimeout(() => client.close(), 2000); // let answers already on the way arrive
}

// ---------------------------------------------------------------- chat

function addChat(m) {
  if (ui.chatIds.has(m.id)) return;
  ui.chatIds.add(m.id);
  const list = $("chat-list");
  const head = el("div", { class: "chat-head" }, [
    el("b", { text: m.sender }),
    el("span", { class: "muted", text: ` ${hhmm(m.at)}` }),
    m.audience === "organisers" ? el("span", { class: "chat-private", text: ` (${t.chat_private})` }) : null,
  ]);
  list.append(el("li", { class: m.audience === "organisers" ? "private" : "", data: { id: m.id } },
    [head, el("div", { class: "chat-body", text: m.body })]));
  list.scrollTop = list.scrollHeight;
}

$("chat-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("chat-input");
  const body = input.value.trim();
  if (!body) return;
  const ack = await client.chat(body, $("chat-audience").value);
  if (ack.ok) { input.value = ""; addChat(ack.message); } else notify(ack.message || ack.error, true);
});

// ---------------------------------------------------------------- own controls

async function check(promise) {
  const ack = await promise;
  if (ack && !ack.ok) notify(ack.message || ack.error, true);
  return ack;
}

$("hand-button").addEventListener("click", () => {
  const raised = $("hand-button").dataset.raised === "1";
  return check(raised ? client.lowerHand() : client.raiseHand());
});

$("mute-button").addEventListener("click", () => {
  const muted = $("mute-button").dataset.muted === "1";
  media.setMuted(!muted);
  return check(client.updateSelf({ muted: !muted }));
});

function updateAudioOnlyButton() {
  const b = $("audio-only-button");
  b.textContent = media.audioOnly ? t.video_on : t.audio_only;
  b.dataset.audioOnly = media.audioOnly ? "1" : "0";
}

async function switchAudioOnly(on) {
  try { await media.setAudioOnly(on); } catch (err) { notify(`${t.camera_error}: ${err.name || err}`, true); return; }
  $("self-view").hidden = on;
  $("self-view").srcObject = media.local;
  updateAudioOnlyButton();
  const stored = saved();
  if (stored) sessionStorage.setItem(STORE_KEY, JSON.stringify({ ...stored, audioOnly: on }));
  ui.reportedQuality = on ? "audio_only" : null;
  if (on) showQuality("audio_only");
  renderWeakLink();
  await check(client.updateSelf(on ? { audio_only: true, quality: "audio_only" } : { audio_only: false }));
}

$("audio-only-button").addEventListener("click", () => switchAudioOnly(!media.audioOnly));

$("leave-button").addEventListener("click", async () => {
  sessionStorage.removeItem(STORE_KEY);
  media.stop();
  await client.leave();
  client.close();
  window.location.href = config.meetingUrl;
});

$("roll-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const heads = ui.endpointId ? Math.max(1, Number($("roll-heads").value) || 1) : 1;
  const ack = await check(client.answerRollCall(heads));
  if (ack && ack.ok) { ui.rollAnswered = true; $("roll-dialog").close(); }
});

function confirmEnd() {
  const dialog = $("end-dialog");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
  });
}

// ---------------------------------------------------------------- events

client.addEventListener("state", (e) => render(e.detail));
client.addEventListener("chat", (e) => addChat(e.detail));
client.addEventListener("connection", (e) => {
  const d = e.detail;
  if (d.status === "reconnecting") connStatus(`${t.reconnecting} (${d.attempt})`, "warn");
  else if (d.status === "connected" && ui.joined) connStatus(t.reconnected, "ok");
});
client.addEventListener("rejoined", () => {
  ui.rejoins += 1;
  notify(t.reconnected);
  // a new presence: tell the room again what it cannot know (the chair's mutes carry over)
  ui.reportedQuality = media.audioOnly ? "audio_only" : null;
  client.updateSelf(media.audioOnly ? { audio_only: true, quality: "audio_only" } : { audio_only: false });
});
client.addEventListener("rejoin-failed", (e) => notify(e.detail.ack.message || e.detail.ack.error, true, true));

media.addEventListener("streams", () => { syncEchoGuards(); playAll(); });
media.addEventListener("media-state", (e) => {
  if (e.detail.status === "reconnecting") connStatus(`${t.reconnecting} (${e.detail.attempt})`, "warn");
  else if (e.detail.status === "connected" && ui.joined) connStatus(ui.rejoins ? t.reconnected : t.joined, "ok");
});
function showQuality(q) {
  $("quality-badge").className = `quality q-${q}`;
  $("quality-label").textContent = t[`quality_${q}`] || q;
  $("quality-badge").dataset.quality = q;
}

media.addEventListener("quality", (e) => {
  const q = e.detail.quality;
  showQuality(q);
  // report a change once it has held for 3 samples (3 s): a flapping link must not make
  // every participant's state go out to the whole room every second
  ui.qualityRun = ui.qualityRun && ui.qualityRun.q === q ? { q, n: ui.qualityRun.n + 1 } : { q, n: 1 };
  const steady = ui.qualityRun.n >= 3 || ui.reportedQuality === null || q === "audio_only";
  if (q !== ui.reportedQuality && steady && client.connected && ui.joined) {
    ui.reportedQuality = q;
    client.updateSelf({ quality: q });
  }
});
// ---------------------------------------------------------------- weak link, lost video

/** The weak-link banner says what is true now (what we send, what the node sends us). */
function renderWeakLink() {
  const banner = $("weak-banner");
  const send = media.audioOnly ? "main" : media.sendLevel.level;
  const receive = media.audioOnly ? "main" : media.receiveLevel;
  const parts = [];
  if (receive === "small") parts.push(t.weak_receive_small);
  if (receive === "audio") parts.push(t.weak_receive_audio);
  if (send === "small") parts.push(t.weak_send_small);
  if (send === "none") parts.push(t.weak_send_none);
  banner.dataset.send = send;
  banner.dataset.receive = receive;
  banner.textContent = parts.length ? `${t.weak_link}: ${parts.join("; ")}.` : "";
  banner.hidden = !parts.length;
}

media.addEventListener("send-level", renderWeakLink);
media.addEventListener("receive-level", renderWeakLink);
media.addEventListener("streams", renderWeakLink);

/** Who feeds the hall and the speaker slot now ({user_id, name, audio_only} or null). */
function slotSources(state) {
  if (!state) return { hall: null, speaker: null };
  const find = (id) => state.participants.find((p) => p.user_id === id) || null;
  const hall = find(state.meeting.chair_id);
  const speaker = state.floor ? (find(state.floor.user_id) || { user_id: state.floor.user_id, name: state.floor.name }) : null;
  return { hall, speaker };
}

/** "Mất hình — {tên}" over a slot whose source has sent no frame for 2 s. */
media.addEventListener("frames", (e) => {
  const { at } = e.detail;
  const sources = slotSources(ui.state);
  for (const slot of ["hall", "speaker"]) {
    const source = sources[slot];
    const key = source ? source.user_id : null;
    const stall = ui.stalls[slot];
    if (ui.sources[slot] !== key) { // another source: count from now
      ui.sources[slot] = key;
      stall.reset(at);
    }
    const frames = e.detail[slot];
    const stalled = frames !== null && stall.push({ at, frames });
    const box = $(`${slot}-lost`);
    const showing = Boolean(source) && !media.audioOnly && media.receiveLevel !== "audio" && frames !== null
      && (stalled || source.audio_only);
    const name = source ? (source.endpoint || source.name) : "";
    box.textContent = source && source.audio_only ? t.source_audio_only.replace("{name}", name)
      : t.video_lost.replace("{name}", name);
    box.hidden = !showing;
    $(`video-${slot}`).closest("figure").dataset.lost = showing ? "1" : "0";
  }
});

$("hand-button").hidden = config.canRun; // the chair gives the floor, never asks for it
if (config.canRun) {
  ui.gallery = new GalleryMedia({ roomMedia: media });
  ui.gallery.addEventListener("error", (e) => {
    const err = e.detail.error;
    if (err && err.code !== "forbidden") notify(`${t.no_media} (${err.code || err.message || err})`, true);
  });
  ui.console = new ChairConsole({ client, strings: t, notify, confirmEnd, userId: config.userId,
    gallery: ui.gallery, localStream: () => media.local });
  media.addEventListener("stats", (e) => ui.console.setStats(e.detail && e.detail.participants));
  media.addEventListener("streams", () => { if (ui.state) ui.console.render(ui.state); });
}
setInterval(tick, 1000);
setupPrejoin();
