// The room's media: local camera/microphone, publishing to the media node and receiving
// the hall and speaker slots through giaoban-media.js; mute, audio-only, quality sampling,
// the weak-link fallback and reconnection of the media after a drop. No DOM code.
//
// Events: "streams" ({hall, speaker}: MediaStream), "local" ({stream}), "quality"
// ({quality, loss, rttMs, availableBitrate}), "weak-link" ({}), "media-error" ({error}),
// "media-state" ({status: "connected"|"reconnecting"|"failed", attempt?}).

import { GiaobanMedia } from "/static/js/giaoban-media.js";
import { backoffDelay } from "/static/js/room-client.js";
import { WeakLinkDetector, classify, lossBetween, readStats } from "/static/js/room-quality.js";

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
    this.preview = null;
    this.hall = new MediaStream();
    this.speaker = new MediaStream();
    this._attempt = 0;
    this._sampler = null;
    this._restartTimer = null;
    this._stopped = false;
    this._prev = null;
    this.detector = new WeakLinkDetector();
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
  }

  setMuted(muted) {
    this.muted = Boolean(muted);
    this._applyMute();
  }

  /** Stop sending video (audio-only) or send it again. */
  async setAudioOnly(on) {
    this.audioOnly = Boolean(on);
    if (!this.local) return;
    const sender = this._videoSender();
    if (this.audioOnly) {
      for (const t of this.local.getVideoTracks()) { t.stop(); this.local.removeTrack(t); }
      if (sender) await sender.replaceTrack(null);
      await this._resubscribe(); // and stop receiving video too
    } else {
      let track = this.local.getVideoTracks()[0];
      if (!track) {
        const cam = await openDevices({ cameraId: this.devices.cameraId, audioOnly: false });
        cam.getAudioTracks().forEach((t) => t.stop());
        track = cam.getVideoTracks()[0];
        if (track) this.local.addTrack(track);
      }
      if (sender) await sender.replaceTrack(track || null);
      else await this._republish(); // the first offer had no video: negotiate again
      await this._resubscribe();
      this.detector.reset();
    }
    this._emit("local", { stream: this.local });
  }

  /**
   * Chair only: one participant's camera in a preview (slot "participant:<id>"); the first
   * call opens a one-slot subscription, later calls re-point it. Returns its MediaStream.
   */
  async previewParticipant(userId) {
    const slot = `participant:${userId}`;
    if (!this.preview) {
      this.preview = await this.media.subscribe({ slots: [slot], audio: false });
      this._watch(this.preview);
    } else {
      await this.media.setSlot(this.preview.peerId, 0, slot);
    }
    return this.preview.streams[0];
  }

  get publishPc() { return this.pub ? this.pub.pc : null; }
  get subscribePc() { return this.sub ? this.sub.pc : null; }

  // -- internals -----------------------------------------------------------------------

  _applyMute() {
    if (!this.local) return;
    for (const t of this.local.getAudioTracks()) t.enabled = !this.muted;
  }

  _videoSender() {
    if (!this.pub) return null;
    const tr = this.pub.pc.getTransceivers().find((t) => t.receiver.track && t.receiver.track.kind === "video");
    return tr ? tr.sender : null;
  }

  async _connect() {
    const old = this.media;
    this.media = null; // its own "disconnect" must not schedule another restart
    if (old) old.disconnect();
    const media = new GiaobanMedia({ meetingId: this.meetingId, iceServers: await iceServers() });
    this.media = media;
    media.addEventListener("stats", (e) => this._emit("stats", e.detail)); // chair: node stats
    media.addEventListener("disconnect", () => { if (media === this.media) this._restart("signal"); });
    await media.connect();
    const stream = this.local || new MediaStream();
    this.pub = stream.getTracks().length ? await media.publish(stream) : null;
    if (this.pub && this.audioOnly) {
      const sender = this._videoSender();
      if (sender) await sender.replaceTrack(null);
    }
    this.preview = null; // a chair's preview belonged to the old connection
    this.sub = await this._subscribe(media);
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
  async _subscribe(media) {
    if (!this.audioOnly) return media.subscribe();
    // giaoban-media.js has no audio-only subscribe: build the offer here and send it
    // through its (internal) offer path; the node takes offers without video.
    const pc = media._newPeerConnection();
    const streams = [new MediaStream(), new MediaStream()];
    for (const stream of streams) {
      stream.addTrack(pc.addTransceiver("audio", { direction: "recvonly" }).receiver.track);
    }
    const reply = await media._offer(pc, "subscribe", {});
    media.peers.set(reply.peer_id, { pc, kind: "subscribe", slots: reply.slots });
    return { peerId: reply.peer_id, pc, slots: reply.slots, streams };
  }

  /** Replace the hall + speaker subscription (after an audio-only switch). */
  async _resubscribe() {
    const media = this.media;
    if (!media || !this.sub) return;
    const old = this.sub;
    this.sub = await this._subscribe(media);
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
    const s = await readStats({ publish: this.publishPc, subscribe: this.subscribePc });
    const loss = lossBetween(this._prev, s.counters);
    this._prev = s.counters;
    const quality = this.audioOnly ? "audio_only" : classify({ loss, rttMs: s.rttMs });
    const detail = { quality, loss, rttMs: s.rttMs, availableBitrate: s.availableBitrate };
    this._emit("quality", detail);
    if (!this.audioOnly && this.detector.push({ at: Date.now(), loss, availableBitrate: s.availableBitrate })) {
      await this.setAudioOnly(true);
      this._emit("weak-link", detail);
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
