// The room's media: local camera/microphone, publishing a main and a small video layer to
// the media node and receiving the hall and speaker slots through giaoban-media.js; mute,
// audio-only (the user's choice), the send-side layer rule (room-quality.js SendLevel),
// quality sampling, frame counters per slot and reconnection of the media after a drop.
// What this browser RECEIVES on a weak link is the node's choice (its `layers` event).
// No DOM code.
//
// Events: "streams" ({hall, speaker}: MediaStream), "local" ({stream}), "quality"
// ({quality, loss, rttMs, availableBitrate, sendLevel}), "send-level" ({level, previous}),
// "receive-level" ({level, slots}), "frames" ({at, hall, speaker}: framesDecoded),
// "stats" (chair: the node's per-participant stats, docs/protocol.md),
// "media-error" ({error}), "media-state" ({status: "connected"|"reconnecting"|"failed",
// attempt?}). The underlying GiaobanMedia (this.media) also emits "layers" and "stats".

import { GiaobanMedia } from "/static/js/giaoban-media.js";
import { backoffDelay } from "/static/js/room-client.js";
import { SendLevel, classify, lossBetween, readStats } from "/static/js/room-quality.js";

const SAMPLE_MS = 1000;

/** Camera and microphone lists for the device pickers. */
export async function listDevices() {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === "videoinput"),
    mics: all.filter((d) => d.kind === "audioinput"),
  };
}

/** getUserMedia for the chosen devices; video left out when audioOnly. */
export function openDevices({ cameraId = "", micId = "", audioOnly = false } = {}) {
  const audio = micId ? { deviceId: { exact: micId } } : true;
  let video = false;
  if (!audioOnly) {
    video = cameraId ? { deviceId: { exact: cameraId } } : true;
    if (video === true) video = { width: { ideal: 640 }, height: { ideal: 480 } };
    else Object.assign(video, { width: { ideal: 640 }, height: { ideal: 480 } });
  }
  return navigator.mediaDevices.getUserMedia({ audio, video });
}

/** A level meter on a stream's audio: calls onLevel(0..1) about 20 times a second. */
export function levelMeter(stream, onLevel) {
  const track = stream.getAudioTracks()[0];
  if (!track) return () => {};
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += ((v - 128) / 128) ** 2;
    onLevel(Math.min(1, Math.sqrt(sum / data.length) * 4));
  }, 50);
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  return () => { clearInterval(timer); ctx.close().catch(() => {}); };
}

export class RoomMedia extends EventTarget {
  constructor({ meetingId }) {
    super();
    this.meetingId = meetingId;
    this.media = null;
    this.local = null; // MediaStream
    this.devices = { cameraId: "", micId: "" };
    this.audioOnly = false;
    this.muted = false;
    this.pub = null;
    this.sub = null;
    this.hall = new MediaStream();
    this.speaker = new MediaStream();
    this._attempt = 0;
    this._sampler = null;
    this._restartTimer = null;
    this._stopped = false;
    this._prev = null;
    this.sendLevel = new SendLevel();
    this.receiveLevel = "main"; // the node's choice for the hall + speaker subscription
    this.lastQuality = null;
  }

  /** Connect to the node, publish the local stream, receive hall + speaker. */
  async start(local, { devices = {}, audioOnly = false } = {}) {
    this.local = local;
    this.devices = { ...this.devices, ...devices };
    this.audioOnly = audioOnly;
    this._stopped = false;
    this._applyMute();
    await this._connect();
    this._startSampler();
  }

  stop() {
    this._stopped = true;
    clearTimeout(this._restartTimer);
    clearInterval(this._sampler);
    if (this.media) this.media.disconnect();
    if (this.local) this.local.getTracks().forEach((t) => t.stop());
    const small = this.pub && this.pub.senders && this.pub.senders.small;
    if (small && small.track) small.track.stop();
  }

  setMuted(muted) {
    this.muted = Boolean(muted);
    this._applyMute();
  }

  /** Stop sending and receiving video (audio-only) or do both again: the user's choice. */
  async setAudioOnly(on) {
    this.audioOnly = Boolean(on);
    if (!this.local) return;
    if (this.audioOnly) {
      for (const t of this.local.getVideoTracks()) { t.stop(); this.local.removeTrack(t); }
      await this._setVideoTracks(null);
      await this._resubscribe(); // and stop receiving video too
    } else {
      let track = this.local.getVideoTracks()[0];
      if (!track) {
        const cam = await openDevices({ cameraId: this.devices.cameraId, audioOnly: false });
        cam.getAudioTracks().forEach((t) => t.stop());
        track = cam.getVideoTracks()[0];
        if (track) this.local.addTrack(track);
      }
      if (this.pub && this.pub.senders && this.pub.senders.main) await this._setVideoTracks(track || null);
      else await this._republish(); // the first offer had no video: negotiate again
      this.sendLevel.reset();
      await this._applySendLevel("main");
      await this._resubscribe();
    }
    this._emit("local", { stream: this.local });
  }

  /**
   * Another camera and/or microphone while in the room ({cameraId?, micId?}; "" = the
   * browser's default), without negotiating again: the new camera track replaces the old
   * one on BOTH video layers (main, and a clone on the small one), the new microphone on
   * the audio sender. The old tracks stop only once the new ones are in place, so a device
   * that cannot be opened leaves the current ones working (the error is thrown). A camera
   * while audio-only is only remembered. Emits "local" with the stream.
   */
  async switchDevice({ cameraId, micId } = {}) {
    const video = cameraId !== undefined && !this.audioOnly;
    const audio = micId !== undefined;
    if (cameraId !== undefined) this.devices.cameraId = cameraId;
    if (!video && !audio) return { ...this.devices };
    const fresh = await navigator.mediaDevices.getUserMedia({
      video: video ? { ...(cameraId ? { deviceId: { exact: cameraId } } : {}), width: { ideal: 640 }, height: { ideal: 480 } } : false,
      audio: audio ? (micId ? { deviceId: { exact: micId } } : true) : false,
    });
    if (!this.local) this.local = new MediaStream();
    const senders = this.pub && this.pub.senders;
    const swap = (kind, track) => {
      const old = kind === "video" ? this.local.getVideoTracks() : this.local.getAudioTracks();
      this.local.addTrack(track);
      for (const t of old) { this.local.removeTrack(t); t.stop(); }
    };
    const camera = video ? fresh.getVideoTracks()[0] : null;
    const mic = audio ? fresh.getAudioTracks()[0] : null;
    if (camera) swap("video", camera);
    if (mic) { swap("audio", mic); this.devices.micId = micId; }
    this._applyMute();
    if (senders && senders.main && (!mic || senders.audio)) {
      if (camera) await this._setVideoTracks(camera);
      if (mic) await senders.audio.replaceTrack(mic);
    } else if (this.media) {
      await this._republish(); // no sender for it yet (joined without that device): publish again
    }
    this._emit("local", { stream: this.local });
    return { ...this.devices };
  }

  get publishPc() { return this.pub ? this.pub.pc : null; }
  get subscribePc() { return this.sub ? this.sub.pc : null; }

  // -- internals -----------------------------------------------------------------------

  _applyMute() {
    if (!this.local) return;
    for (const t of this.local.getAudioTracks()) t.enabled = !this.muted;
  }

  /** The camera track on the main sender and a clone of it on the small one (or none). */
  async _setVideoTracks(track) {
    const senders = this.pub && this.pub.senders;
    if (!senders) return;
    if (senders.small && senders.small.track) senders.small.track.stop();
    if (senders.main) await senders.main.replaceTrack(track);
    if (senders.small) await senders.small.replaceTrack(track ? track.clone() : null);
  }

  /** Main layer on or off, small layer on or off ("main" | "small" | "none"). */
  async _applySendLevel(level) {
    const senders = this.pub && this.pub.senders;
    if (!senders || !senders.main) return;
    // one-layer publisher (older node): its only layer stays on until "none"
    const want = senders.small ? { main: level === "main", small: level !== "none" }
      : { main: level !== "none", small: false };
    for (const [name, active] of Object.entries(want)) {
      const sender = senders[name];
      if (!sender) continue;
      const params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) continue;
      if (params.encodings[0].active === active) continue;
      params.encodings[0].active = active;
      await sender.setParameters(params);
    }
  }

  async _connect() {
    const old = this.media;
    this.media = null; // its own "disconnect" must not schedule another restart
    if (old) old.disconnect();
    const oldSmall = this.pub && this.pub.senders && this.pub.senders.small;
    if (oldSmall && oldSmall.track) oldSmall.track.stop();
    const media = new GiaobanMedia({ meetingId: this.meetingId, iceServers: await iceServers() });
    this.media = media;
    media.addEventListener("disconnect", () => { if (media === this.media) this._restart("signal"); });
    // our node was lost: publish and subscribe again at once (the web picks another node)
    media.addEventListener("moved", () => { if (media === this.media) this._restart("moved"); });
    await media.connect();
    const stream = this.local || new MediaStream();
    media.addEventListener("layers", (e) => this._onLayers(e.detail));
    media.addEventListener("stats", (e) => { if (media === this.media) this._emit("stats", e.detail); });
    this.pub = stream.getTracks().length ? await media.publish(stream) : null;
    if (this.pub && this.audioOnly) await this._setVideoTracks(null);
    this.sendLevel.reset();
    this.sub = await this._subscribe(media);
    this.receiveLevel = this.sub.level || "main";
    this._watch(this.pub);
    this._watch(this.sub);
    this._swapTracks(this.hall, this.sub.streams[0]);
    this._swapTracks(this.speaker, this.sub.streams[1]);
    this._attempt = 0;
    this._prev = null;
    this._emit("streams", { hall: this.hall, speaker: this.speaker });
    this._emit("media-state", { status: "connected" });
  }

  /** Hall + speaker; audio only (no video m-lines at all) while this.audioOnly. */
  _subscribe(media) {
    return media.subscribe({ video: !this.audioOnly });
  }

  /** The node changed what our hall + speaker subscription receives. */
  _onLayers(data) {
    if (!data || !this.sub || data.peer_id !== this.sub.peerId) return;
    if (!["main", "small", "audio"].includes(data.level)) return;
    if (Number.isInteger(data.seq)) { // events may overtake each other on the web
      if (data.seq <= (this.sub.seq || 0)) return;
      this.sub.seq = data.seq;
    }
    this.receiveLevel = data.level;
    this.receiveLevelAt = typeof data.at === "number" ? data.at : Date.now();
    this._emit("receive-level", { level: data.level, slots: data.slots || [] });
  }

  /** Replace the hall + speaker subscription (after an audio-only switch). */
  async _resubscribe() {
    const media = this.media;
    if (!media || !this.sub) return;
    const old = this.sub;
    this.sub = await this._subscribe(media);
    this.receiveLevel = this.sub.level || "main";
    this._watch(this.sub);
    this._swapTracks(this.hall, this.sub.streams[0]);
    this._swapTracks(this.speaker, this.sub.streams[1]);
    this._prev = null;
    await media.close(old.peerId).catch(() => {});
    this._emit("streams", { hall: this.hall, speaker: this.speaker });
  }

  async _republish() {
    if (!this.media) return;
    if (this.pub) await this.media.close(this.pub.peerId).catch(() => {});
    this.pub = await this.media.publish(this.local);
    this._watch(this.pub);
  }

  _watch(peer) {
    if (!peer) return;
    const media = this.media;
    peer.pc.addEventListener("connectionstatechange", () => {
      if (media !== this.media) return;
      if (peer.pc.connectionState === "failed") this._restart("ice");
    });
  }

  _swapTracks(target, source) {
    // Keep the same MediaStream objects in the page; only their tracks change.
    for (const t of target.getTracks()) target.removeTrack(t);
    for (const t of source.getTracks()) target.addTrack(t);
  }

  _restart(reason) {
    if (this._stopped || this._restartTimer) return;
    this._attempt += 1;
    const delayMs = backoffDelay(this._attempt);
    this._emit("media-state", { status: "reconnecting", attempt: this._attempt, reason });
    this._restartTimer = setTimeout(async () => {
      this._restartTimer = null;
      if (this._stopped) return;
      try {
        await this._connect();
      } catch (error) {
        this._emit("media-error", { error });
        this._restart("retry");
      }
    }, delayMs);
  }

  _startSampler() {
    clearInterval(this._sampler);
    this._sampler = setInterval(() => this._sample().catch(() => {}), SAMPLE_MS);
  }

  async _sample() {
    if (!this.pub && !this.sub) return;
    const at = Date.now();
    const s = await readStats({ publish: this.publishPc, subscribe: this.subscribePc });
    const loss = lossBetween(this._prev, s.counters);
    this._prev = s.counters;
    let level = this.sendLevel.level;
    if (!this.audioOnly && this.pub) {
      const previous = this.sendLevel.level;
      level = this.sendLevel.push({ at, availableBitrate: s.availableBitrate, sendLoss: s.sendLoss });
      if (level !== previous) {
        await this._applySendLevel(level);
        this._emit("send-level", { level, previous, availableBitrate: s.availableBitrate });
      }
    }
    let quality = classify({ loss, rttMs: s.rttMs });
    if (this.audioOnly) quality = "audio_only";
    else if (level === "none" || this.receiveLevel === "audio") quality = "poor";
    const detail = { quality, loss, rttMs: s.rttMs, availableBitrate: s.availableBitrate, sendLevel: level };
    this._emit("quality", detail);
    if (this.sub) {
      const ids = [0, 1].map((i) => {
        const v = this.sub.streams[i] && this.sub.streams[i].getVideoTracks()[0];
        return v ? v.id : null;
      });
      this._emit("frames", { at, hall: ids[0] ? s.frames[ids[0]] ?? 0 : null,
        speaker: ids[1] ? s.frames[ids[1]] ?? 0 : null });
    }
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

/** The configured ICE servers (TURN with fresh short-lived credentials; none by default). */
async function iceServers() {
  try {
    const resp = await fetch("/api/v1/ice-servers", { credentials: "same-origin", cache: "no-store" });
    return resp.ok ? (await resp.json()).ice_servers || [] : [];
  } catch (err) {
    return [];
  }
}
