// The hall screen: for the hall's projector and each commune's TV. No controls: it follows
// the meeting by itself (the /room "watch" event: no presence, nobody sees it in the
// gallery) and receives the hall and speaker slots without publishing anything.
//   speaker large with the hall inset; no speaker: the hall large; a presented document:
//   the page large with the speaker and the hall inset; the current item and the speaker's
//   name as captions. Both connections come back by themselves after a drop.
// Sound: the chair's own account does not play the hall (it is in that hall); the account
// holding the floor does not play the speaker slot; ?sound=off plays nothing.

import { RoomClient } from "/static/js/room-client.js";
import { $, clear, clock, el, since } from "/static/js/room-dom.js";
import { GalleryMedia } from "/static/js/room-gallery.js";
import { RoomMedia } from "/static/js/room-media.js";
import { PresentedDocument } from "/static/js/room-present.js";

const config = JSON.parse($("room-config").textContent);
const t = config.strings;
const CLOCK_OFFSET_MS = config.serverNow ? Date.parse(config.serverNow) - Date.now() : 0;
const soundOff = new URLSearchParams(window.location.search).get("sound") === "off";

const client = new RoomClient({ messages: { disconnected: t.not_connected, timeout: t.no_answer,
  invalid: t.no_answer } });
const media = new RoomMedia({ meetingId: config.meetingId });
const presented = new PresentedDocument({ strings: t });
const gallery = new GalleryMedia({ roomMedia: media });
const screen = { state: null, mediaStarted: false, ended: false, frames: { hall: null, speaker: null }, tiles: "" };
window.__hall = { client, media, presented, screen, config, gallery };

// The page is never driven from a keyboard: keys must not take the viewer off the presenter.
window.addEventListener("keydown", (ev) => ev.stopImmediatePropagation(), true);

function status(text) { $("conn-status").textContent = text; }

function message(text) {
  $("hs-message").textContent = text || "";
  $("hs-message").hidden = !text;
}

function layout(state) {
  const presenting = Boolean(state && state.presenting);
  const floor = Boolean(state && state.floor);
  const speaker = $("hs-speaker");
  const hall = $("hs-hall");
  speaker.hidden = !floor;
  let big = presenting ? null : (floor ? speaker : hall);
  for (const fig of [speaker, hall]) {
    fig.classList.toggle("hs-big", fig === big);
    fig.classList.toggle("hs-inset", fig !== big);
    fig.classList.remove("second");
  }
  if (presenting && floor) hall.classList.add("second");
  big = big ? big.id : "document";
  $("hall-screen").dataset.layout = big === "hs-speaker" ? "speaker" : big === "hs-hall" ? "hall" : "document";
  $("hall-screen").dataset.presenting = presenting ? "1" : "0";
}

function render(state) {
  screen.state = state;
  const item = state.current_item;
  $("item-title").textContent = item ? `${t.item} ${item.position}: ${item.title}` : t.no_item;
  $("item-title").dataset.itemId = item ? String(item.id) : "";
  const f = state.floor;
  $("floor-name").textContent = f ? `${f.name}${f.unit ? ` – ${f.unit}` : ""}` : t.no_speaker;
  $("floor-name").dataset.userId = f ? String(f.user_id) : "";
  $("speaker-caption").textContent = f ? `${t.speaker}: ${f.name}` : t.speaker;
  $("rec-badge").hidden = !state.recording;
  layout(state);
  renderGallery(state);
  presented.render(state.presenting);
  if (state.presenting) $("page-input-label").textContent = String(state.presenting.page || 1);
  $("video-hall").muted = soundOff || config.isChair;
  $("video-speaker").muted = soundOff || Boolean(f && f.user_id === config.userId);
  const status = state.meeting.status;
  if (status === "ended") {
    message(t.meeting_ended);
    if (!screen.ended) { screen.ended = true; media.stop(); }
  } else if (status !== "live") {
    message(t.not_live);
  } else {
    message("");
    startMedia();
  }
  tick();
}

function tick() {
  const s = screen.state;
  if (!s) return;
  const item = s.current_item;
  const itemTimer = $("item-timer");
  if (item && item.started_at) {
    const spent = since(item.started_at, CLOCK_OFFSET_MS);
    const planned = (item.duration_minutes || 0) * 60;
    itemTimer.textContent = `${clock(spent)} / ${clock(planned)}`;
    itemTimer.classList.toggle("over", planned > 0 && spent > planned);
  } else itemTimer.textContent = "";
  const floorTimer = $("floor-timer");
  if (s.floor) {
    const spent = since(s.floor.started_at, CLOCK_OFFSET_MS);
    const limit = s.floor.limit_seconds || 0;
    floorTimer.textContent = limit ? `${clock(spent)} / ${clock(limit)}` : clock(spent);
    floorTimer.classList.toggle("over", limit > 0 && spent > limit);
  } else floorTimer.textContent = "";
}

/** The gallery page the chair put on the screens: tiles with live video (small layer). */
function renderGallery(state) {
  const box = $("hs-gallery");
  const shown = state.screen && state.meeting.status === "live" ? state.screen.user_ids : [];
  box.hidden = !shown.length;
  $("hall-screen").dataset.gallery = shown.length ? "1" : "0";
  const people = new Map((state.participants || []).map((p) => [p.user_id, p]));
  const floorId = state.floor ? state.floor.user_id : null;
  const key = JSON.stringify(shown);
  if (key !== screen.tiles) {
    screen.tiles = key;
    clear(box);
    box.style.setProperty("--cols", String(Math.max(1, Math.ceil(Math.sqrt(shown.length)))));
    shown.forEach((id, i) => {
      const video = el("video");
      video.autoplay = true;
      video.muted = true;
      video.playsInline = true;
      video.srcObject = gallery.streamFor(i);
      box.append(el("figure", { class: "hs-tile", data: { userId: id, index: i } }, [video, el("figcaption")]));
    });
    if (screen.mediaStarted) gallery.show(shown).catch(() => {});
  }
  for (const tile of box.children) {
    const p = people.get(Number(tile.dataset.userId));
    tile.querySelector("figcaption").textContent = p ? (p.endpoint || p.name) : "";
    tile.classList.toggle("on-floor", Number(tile.dataset.userId) === floorId);
  }
}

async function startMedia() {
  if (screen.mediaStarted || screen.ended) return;
  screen.mediaStarted = true;
  $("video-hall").srcObject = media.hall;
  $("video-speaker").srcObject = media.speaker;
  try {
    await media.start(null, { audioOnly: false }); // receive only: nothing is published
    if (screen.state && screen.state.screen) gallery.show(screen.state.screen.user_ids).catch(() => {});
  } catch (err) {
    status(`${t.no_media} (${err.code || err.message || err})`);
    screen.mediaStarted = false;
    setTimeout(startMedia, 5000);
  }
}

function play() {
  for (const id of ["video-hall", "video-speaker"]) {
    const v = $(id);
    v.play().catch(() => {
      // no sound without a click on this browser: play muted and offer the click
      v.muted = true;
      v.play().catch(() => {});
      $("hs-start").hidden = false;
    });
  }
}

$("hs-start").addEventListener("click", () => {
  $("hs-start").hidden = true;
  if (screen.state) render(screen.state); // the echo rules decide the sound again
  play();
  document.documentElement.requestFullscreen?.().catch(() => {});
});

media.addEventListener("streams", play);
gallery.addEventListener("changed", () => {
  $("hs-gallery").dataset.video = "1";
  for (const v of $("hs-gallery").querySelectorAll("video")) v.play().catch(() => {});
});
// Refused (the chair's page had not reached the media node yet, or the node is gone): the
// tiles keep the names; the next page the chair shows is asked for again.
gallery.addEventListener("error", () => { $("hs-gallery").dataset.video = "0"; });
media.addEventListener("media-state", (e) => {
  if (e.detail.status === "reconnecting") status(`${t.reconnecting} (${e.detail.attempt})`);
  else if (e.detail.status === "connected") status("");
});

/** "Mất hình — tên" when a slot with a source sends no frames for 3 s. */
media.addEventListener("frames", (e) => {
  const s = screen.state;
  for (const slot of ["hall", "speaker"]) {
    const frames = e.detail[slot];
    const prev = screen.frames[slot];
    const source = s ? (slot === "hall" ? (s.participants || []).find((p) => p.user_id === s.meeting.chair_id)
      : s.floor) : null;
    const name = source ? (source.endpoint || source.name) : "";
    if (frames === null || !source) { screen.frames[slot] = null; $(`${slot}-lost`).hidden = true; continue; }
    if (!prev || prev.source !== name || frames > prev.frames) screen.frames[slot] = { source: name, frames, at: e.detail.at };
    const still = e.detail.at - screen.frames[slot].at;
    $(`${slot}-lost`).textContent = t.video_lost.replace("{name}", name);
    $(`${slot}-lost`).hidden = still < 3000;
  }
});

client.addEventListener("state", (e) => render(e.detail));
client.addEventListener("connection", (e) => {
  if (e.detail.status === "reconnecting") status(`${t.reconnecting} (${e.detail.attempt})`);
  else if (e.detail.status === "connected") status("");
});
client.addEventListener("rejoined", () => status(""));

async function begin() {
  status(t.connecting);
  try {
    await client.connect();
  } catch (err) {
    status(`${t.not_connected} (${err.message || err})`);
    setTimeout(begin, 5000);
    return;
  }
  const ack = await client.watch({ meeting_id: config.meetingId });
  if (!ack.ok) { message(ack.message || ack.error); return; }
  status("");
}

setInterval(tick, 1000);
begin();
