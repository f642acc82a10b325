// giaoban media client: signaling on Socket.IO namespace /signal, WebRTC to a media node.
// No DOM or UI code here; pages attach the returned MediaStreams to their own elements.
// Protocol: docs/protocol.md.
//
//   import { GiaobanMedia } from "/static/js/giaoban-media.js";
//   const media = new GiaobanMedia({ meetingId: 12 });
//   await media.connect();
//   const cam = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
//   const pub = await media.publish(cam);                 // { peerId, pc, layers, senders }
//   const sub = await media.subscribe();                  // { peerId, pc, slots, streams }
//   videoHall.srcObject = sub.streams[0];                 // slot 0: hall (chair)
//   videoSpeaker.srcObject = sub.streams[1];              // slot 1: speaker
//   media.addEventListener("stats", (e) => console.log(e.detail));   // chair only
// Events: "stats" (chair), "layers" {peer_id, level, slots} (what the node sends a subscribe
// peer), "peer-closed" {peer_id, reason}, "peer-failed" {peerId, kind},
// "renegotiate" {peer_id, track}, "moved" {node, peer_ids, reason} (their node was lost:
// open them again), "error" (unsolicited), "disconnect" {reason}.
//
// Publishing sends two video layers (docs/protocol.md, "Video layers"): the first video
// m-line is the main layer (640x480, up to 1 Mbps), the second a clone of the camera track
// scaled down by 2 (about 320x240, <= 150 kbps, <= 15 fps). A node that takes one video
// m-line only (older nodes) gets one: publish() retries with the main layer alone.

import { io } from "/static/vendor/socket.io-client/socket.io.esm.min.js";

const DEFAULT_TIMEOUT_MS = 15000;
const GATHER_TIMEOUT_MS = 5000;

/** sendEncodings of the two video layers (node contract). */
export const MAIN_ENCODING = Object.freeze({ maxBitrate: 1000000 });
export const SMALL_ENCODING = Object.freeze({ scaleResolutionDownBy: 2, maxBitrate: 150000, maxFramerate: 15 });
export const MAX_SLOTS = 16;

export class MediaRequestError extends Error {
  constructor(code, message, command) {
    super(message || code);
    this.name = "MediaRequestError";
    this.code = code;
    this.command = command;
  }
}

/**
 * Only the video codecs a node forwards (VP8, H.264 packetization-mode 1; only `codec` when
 * given) and their retransmission: keeps an offer with 16 video m-lines under the 32 KiB
 * SDP limit (Chromium offers VP9, AV1 and more, ~5 KB per m-line with them, ~1.3 KB without).
 */
function preferNodeCodecs(transceiver, codec = null) {
  const caps = typeof RTCRtpReceiver.getCapabilities === "function" ? RTCRtpReceiver.getCapabilities("video") : null;
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return;
  const want = codec ? [`video/${codec.toLowerCase()}`] : ["video/vp8", "video/h264"];
  const codecs = caps.codecs.filter((c) => {
    const mime = c.mimeType.toLowerCase();
    if (mime === "video/rtx") return true;
    if (!want.includes(mime)) return false;
    return mime !== "video/h264" || /packetization-mode=1/.test(c.sdpFmtpLine || "");
  });
  if (codecs.some((c) => c.mimeType.toLowerCase() !== "video/rtx")) transceiver.setCodecPreferences(codecs);
}

/** The codec of the first video m-line of an answer ("VP8", "H264") or null. */
function answerVideoCodec(sdp) {
  const video = (sdp || "").split(/\r?\nm=/).find((section) => section.startsWith("video") || section.startsWith("m=video"));
  const match = video && /a=rtpmap:\d+ (VP8|H264)\/90000/i.exec(video);
  return match ? match[1].toUpperCase() : null;
}

function waitForGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        clearTimeout(timer);
        resolve();
      }
    };
    const timer = setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    }, timeoutMs);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

export class GiaobanMedia extends EventTarget {
  /**
   * @param {object} options
   * @param {number} options.meetingId
   * @param {string} [options.url]  origin of the web app ("" = this page's origin)
   * @param {RTCIceServer[]} [options.iceServers]  none on an intranet
   * @param {number} [options.timeoutMs]
   */
  constructor({ meetingId, url = "", iceServers = [], timeoutMs = DEFAULT_TIMEOUT_MS }) {
    super();
    this.meetingId = meetingId;
    this.url = url;
    this.iceServers = iceServers;
    this.timeoutMs = timeoutMs;
    this.socket = null;
    this.peers = new Map(); // peerId -> { pc, kind, slots }
    this._pending = new Map(); // request_id -> { resolve, reject, timer }
    this.videoCodec = null; // the node's video codec, from the first answer with video
    this._seq = 0;
  }

  connect() {
    if (this.socket && this.socket.connected) return Promise.resolve();
    this.socket = io(`${this.url}/signal`, {
      transports: ["websocket", "polling"],
      withCredentials: true,
    });
    for (const name of ["answer", "done"]) {
      this.socket.on(name, (data) => this._settle(data, null));
    }
    this.socket.on("error", (data) => {
      if (data && this._pending.has(data.request_id)) {
        this._settle(data, new MediaRequestError(data.code, data.message, data.command));
      } else {
        this._emit("error", data);
      }
    });
    this.socket.on("peer_closed", (data) => {
      const peer = this.peers.get(data.peer_id);
      if (peer) {
        peer.pc.close();
        this.peers.delete(data.peer_id);
      }
      this._emit("peer-closed", data);
    });
    // The node holding these peers was lost (docs/protocol.md, `moved`): they are closed
    // here; the page opens them again (the web places them on another node).
    this.socket.on("moved", (data) => {
      for (const peerId of (data && data.peer_ids) || []) {
        const peer = this.peers.get(peerId);
        if (peer) {
          peer.pc.close();
          this.peers.delete(peerId);
        }
      }
      this._emit("moved", data);
    });
    this.socket.on("renegotiate", (data) => this._emit("renegotiate", data));
    this.socket.on("layers", (data) => this._emit("layers", data));
    this.socket.on("stats", (data) => this._emit("stats", data));
    this.socket.on("disconnect", (reason) => this._emit("disconnect", { reason }));
    return new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("connect_error", (err) =>
        reject(new MediaRequestError("unauthorized", err && err.message, "connect")),
      );
    });
  }

  disconnect() {
    for (const { pc } of this.peers.values()) pc.close();
    this.peers.clear();
    if (this.socket) this.socket.disconnect();
    for (const [, pending] of this._pending) {
      clearTimeout(pending.timer);
      pending.reject(new MediaRequestError("disconnected", "disconnected"));
    }
    this._pending.clear();
  }

  /**
   * Send a MediaStream's first audio and first video track to the node: the video as a main
   * and (unless `layers` is false) a small layer. Returns {peerId, pc, layers, senders:
   * {main, small, audio}}; `layers` is what the node took (["main", "small"] or ["main"]).
   */
  async publish(stream, { layers = true } = {}) {
    if (layers) {
      try {
        return await this._publish(stream, true);
      } catch (err) {
        // an older node refuses a second video m-line (bad_sdp): one layer then
        if (!(err instanceof MediaRequestError) || err.code !== "bad_sdp") throw err;
      }
    }
    return this._publish(stream, false);
  }

  async _publish(stream, twoLayers) {
    const pc = this._newPeerConnection();
    const video = stream.getVideoTracks()[0];
    const audio = stream.getAudioTracks()[0];
    const senders = { main: null, small: null, audio: null };
    // Video m-lines exist even without a camera (inactive senders): video can be turned on
    // later with replaceTrack, without negotiating again.
    senders.main = pc.addTransceiver(video || "video", {
      direction: "sendonly", streams: [stream], sendEncodings: [{ ...MAIN_ENCODING }],
    }).sender;
    const clone = twoLayers && video ? video.clone() : null;
    if (twoLayers) {
      senders.small = pc.addTransceiver(clone || "video", {
        direction: "sendonly", streams: [stream], sendEncodings: [{ ...SMALL_ENCODING }],
      }).sender;
    }
    if (audio) senders.audio = pc.addTransceiver(audio, { direction: "sendonly", streams: [stream] }).sender;
    let reply;
    try {
      reply = await this._offer(pc, "publish", {});
    } catch (err) {
      if (clone) clone.stop();
      throw err;
    }
    const layers = Array.isArray(reply.layers) ? reply.layers : (twoLayers ? ["main", "small"] : ["main"]);
    this.peers.set(reply.peer_id, { pc, kind: "publish", slots: [] });
    return { peerId: reply.peer_id, pc, layers, senders };
  }

  /**
   * Receive slots: default ["hall", "speaker"]; the chair may ask "participant:<userId>";
   * "none" binds nothing (yet). `layers` (parallel to slots): "auto" | "main" | "small".
   * `video: false` receives audio only (no video m-lines at all), `audio: false` video only.
   * Returns one MediaStream per slot, in order.
   */
  async subscribe({ slots = null, audio = true, video = true, layers = null } = {}) {
    const names = slots || ["hall", "speaker"];
    // many video m-lines need one codec each to stay under the SDP limit: the node's (known
    // from an earlier answer), else VP8 (the default) and H.264 if the node refuses it
    const guess = !this.videoCodec && video && names.length > 8;
    try {
      return await this._subscribe(names, { slots, audio, video, layers,
        codec: this.videoCodec || (guess ? "VP8" : null) });
    } catch (err) {
      if (!guess || !(err instanceof MediaRequestError) || err.code !== "unsupported_codec") throw err;
      return this._subscribe(names, { slots, audio, video, layers, codec: "H264" });
    }
  }

  async _subscribe(names, { slots, audio, video, layers, codec }) {
    const pc = this._newPeerConnection();
    const streams = names.map(() => new MediaStream());
    names.forEach((_, index) => {
      if (video) {
        const v = pc.addTransceiver("video", { direction: "recvonly" });
        preferNodeCodecs(v, codec);
        streams[index].addTrack(v.receiver.track);
      }
      if (audio) {
        const a = pc.addTransceiver("audio", { direction: "recvonly" });
        streams[index].addTrack(a.receiver.track);
      }
    });
    const extra = slots ? { slots } : {};
    if (layers) extra.layers = layers;
    const reply = await this._offer(pc, "subscribe", extra);
    const slotsNow = reply.slots || names;
    this.peers.set(reply.peer_id, { pc, kind: "subscribe", slots: slotsNow });
    // sent/level/seq: what the node sends each slot as of its description number `seq`
    // (a `layers` event with a higher seq is newer; one with a lower seq is stale)
    return { peerId: reply.peer_id, pc, slots: slotsNow, layers: reply.layers || null, streams,
      sent: Array.isArray(reply.sent) ? reply.sent : null, level: reply.level || null,
      seq: Number.isInteger(reply.seq) ? reply.seq : 0 };
  }

  /** Point slot `index` of a subscription at "hall", "speaker", "participant:<id>" or "none". */
  setSlot(peerId, index, slot, layer = null) {
    const data = { peer_id: peerId, index, slot };
    if (layer) data.layer = layer;
    return this._request("set_slot", data);
  }

  /** Several slot changes at once, [{index, slot, layer?}] (at most 16): one reply. */
  setSlots(peerId, changes) {
    return this._request("set_slots", { peer_id: peerId, changes });
  }

  async close(peerId) {
    const peer = this.peers.get(peerId);
    this.peers.delete(peerId);
    try {
      await this._request("close_peer", { peer_id: peerId });
    } finally {
      if (peer) peer.pc.close();
    }
  }

  // -- internals ---------------------------------------------------------------------

  _newPeerConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed") {
        // e.g. the media node went away: the page decides whether to publish/subscribe again
        for (const [peerId, peer] of this.peers) {
          if (peer.pc === pc) this._emit("peer-failed", { peerId, kind: peer.kind });
        }
      }
    });
    return pc;
  }

  async _offer(pc, event, extra) {
    try {
      await pc.setLocalDescription(await pc.createOffer());
      // the node does not take trickled candidates: send the offer once gathering is done
      await waitForGathering(pc, GATHER_TIMEOUT_MS);
      const reply = await this._request(event, {
        type: "offer",
        sdp: pc.localDescription.sdp,
        ...extra,
      });
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      this.videoCodec = answerVideoCodec(reply.sdp) || this.videoCodec;
      return reply;
    } catch (err) {
      pc.close();
      throw err;
    }
  }

  _request(event, data) {
    if (!this.socket) return Promise.reject(new MediaRequestError("disconnected", "not connected"));
    this._seq += 1;
    const requestId = `m${Date.now().toString(36)}-${this._seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(requestId);
        reject(new MediaRequestError("timeout", "no reply", event));
      }, this.timeoutMs);
      this._pending.set(requestId, { resolve, reject, timer });
      this.socket.emit(event, { ...data, meeting_id: this.meetingId, request_id: requestId });
    });
  }

  _settle(data, error) {
    const pending = data && this._pending.get(data.request_id);
    if (!pending) return;
    this._pending.delete(data.request_id);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(data);
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
