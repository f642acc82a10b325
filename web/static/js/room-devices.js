// Devices inside the room: camera, microphone and speaker output can be changed without
// leaving (RoomMedia.switchDevice replaces the tracks on the senders; the speaker output is
// the page's videos' setSinkId). A device unplugged mid-meeting (its track ends, or it is
// gone from the list) falls back to another of its kind, with a notice.

import { $, clear, el } from "/static/js/room-dom.js";
import { listDevices } from "/static/js/room-media.js";

const room = window.__room;
const OUTPUT_VIDEOS = ["video-hall", "video-speaker"];

function notice(text, isError = false) {
  const box = $("notice");
  if (!box) return;
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

/** The device in use for a kind ("videoinput"/"audioinput"): from the live track. */
function inUse(media, kind) {
  const local = media.local;
  const track = local && (kind === "videoinput" ? local.getVideoTracks()[0] : local.getAudioTracks()[0]);
  const id = track && track.getSettings ? track.getSettings().deviceId : "";
  return { track: track || null, id: id || "", label: track ? track.label : "" };
}

if (room && $("devices-panel")) {
  const { media, config } = room;
  const t = config.strings;
  const panel = $("devices-panel");
  const button = $("devices-button");
  const selects = { videoinput: $("room-camera"), audioinput: $("room-mic"), audiooutput: $("room-speaker-out") };
  const sinkSupported = typeof HTMLMediaElement.prototype.setSinkId === "function";
  $("room-speaker-row").hidden = !sinkSupported;
  let busy = false;
  let outputId = "";
  const watched = new WeakSet();

  async function fill() {
    const all = await navigator.mediaDevices.enumerateDevices();
    const { cameras, mics } = await listDevices();
    const lists = { videoinput: cameras, audioinput: mics, audiooutput: all.filter((d) => d.kind === "audiooutput") };
    for (const [kind, select] of Object.entries(selects)) {
      clear(select);
      const current = kind === "audiooutput" ? outputId : inUse(media, kind).id;
      lists[kind].forEach((d, i) => {
        const fallback = kind === "videoinput" ? t.camera : kind === "audioinput" ? t.microphone : t.speaker_out;
        const opt = el("option", { text: d.label || `${fallback} ${i + 1}` });
        opt.value = d.deviceId;
        select.append(opt);
      });
      if (!lists[kind].length) {
        const none = el("option", { text: "—" });
        none.value = "";
        select.append(none);
      }
      if (lists[kind].some((d) => d.deviceId === current)) select.value = current;
      select.disabled = !lists[kind].length || (kind === "videoinput" && media.audioOnly);
    }
    watchTracks();
    return lists;
  }

  function remember() {
    const key = `giaoban.room.${config.meetingId}`;
    try {
      const stored = JSON.parse(sessionStorage.getItem(key) || "null");
      if (stored) sessionStorage.setItem(key, JSON.stringify({ ...stored, ...media.devices }));
    } catch { /* private mode: nothing to keep */ }
  }

  async function switchTo(change, quiet = false) {
    busy = true;
    $("devices-status").textContent = "";
    try {
      await media.switchDevice(change);
      if (change.cameraId !== undefined && $("self-view")) $("self-view").srcObject = media.local;
      remember();
      if (!quiet) $("devices-status").textContent = t.device_switched;
      return true;
    } catch (err) {
      const text = `${t.device_switch_failed}: ${err.name || err.message || err}`;
      $("devices-status").textContent = text;
      notice(text, true);
      return false;
    } finally {
      busy = false;
      await fill();
    }
  }

  async function setOutput(deviceId) {
    outputId = deviceId;
    for (const id of OUTPUT_VIDEOS) {
      const v = $(id);
      if (v && v.setSinkId) await v.setSinkId(deviceId).catch((err) => notice(`${t.device_switch_failed}: ${err.name}`, true));
    }
    $("devices-status").textContent = t.device_switched;
  }

  /** A device of this kind went away: take another one, say so. */
  async function fallBack(kind, label) {
    if (busy) return;
    const { cameras, mics } = await listDevices();
    const list = kind === "videoinput" ? cameras : mics;
    const what = label || (kind === "videoinput" ? t.camera : t.microphone);
    const other = list.find((d) => d.label !== label) || list[0]; // not the one that just went
    if (!other) { notice(t.device_lost_none.replace("{device}", what), true); await fill(); return; }
    const ok = await switchTo(kind === "videoinput" ? { cameraId: other.deviceId } : { micId: other.deviceId }, true);
    if (ok) notice(t.device_lost.replace("{device}", what).replace("{other}", other.label || other.deviceId));
  }

  function watchTracks() {
    if (!media.local) return;
    for (const track of media.local.getTracks()) {
      if (watched.has(track)) continue;
      watched.add(track);
      track.addEventListener("ended", () => {
        // ended by the browser (unplugged, revoked), not by us replacing it
        if (media.local && media.local.getTracks().includes(track)) {
          fallBack(track.kind === "video" ? "videoinput" : "audioinput", track.label);
        }
      });
    }
  }

  navigator.mediaDevices.addEventListener("devicechange", async () => {
    if (busy) return;
    const lists = await fill();
    for (const kind of ["videoinput", "audioinput"]) {
      const used = inUse(media, kind);
      if (used.track && used.track.readyState === "live" && used.id
          && !lists[kind].some((d) => d.deviceId === used.id)) {
        fallBack(kind, used.label);
      }
    }
  });

  button.addEventListener("click", async () => {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
    if (!panel.hidden) await fill();
  });
  selects.videoinput.addEventListener("change", () => switchTo({ cameraId: selects.videoinput.value }));
  selects.audioinput.addEventListener("change", () => switchTo({ micId: selects.audioinput.value }));
  selects.audiooutput.addEventListener("change", () => setOutput(selects.audiooutput.value));
  media.addEventListener("local", () => watchTracks());
  media.addEventListener("streams", () => watchTracks());
  window.__roomDevices = { fill, switchTo, fallBack };
}
