// The chair's live gallery: one video-only subscribe peer with 16 slots, one per tile of the
// current gallery page. Tiles get the small layer; a hovered or previewed tile the main one.
// Paging moves every slot with one `set_slots` request. No DOM code: room-console.js
// attaches streamFor(index) to its tiles and reads frames(index) / layerOf(index).
//
// Events: "changed" ({slots, layers}) after the node applied a change, "frames"
// ({at, frames: [framesDecoded per slot]}) once a second, "error" ({error}).

import { MAX_SLOTS } from "/static/js/giaoban-media.js";
import { framesByTrack } from "/static/js/room-quality.js";

export const GALLERY_SLOTS = MAX_SLOTS;
const SAMPLE_MS = 1000;

const slotOf = (userId) => (userId === null || userId === undefined ? "none" : `participant:${userId}`);

export class GalleryMedia extends EventTarget {
  /** @param {{roomMedia: import("./room-media.js").RoomMedia, size?: number}} options */
  constructor({ roomMedia, size = GALLERY_SLOTS }) {
    super();
    this.roomMedia = roomMedia;
    this.size = size;
    this.peer = null; // {peerId, pc, streams} of the gallery subscription
    this.media = null; // the GiaobanMedia the peer belongs to
    this.streams = Array.from({ length: size }, () => new MediaStream());
    this.applied = Array(size).fill("none"); // slot names the node has
    this.appliedLayers = Array(size).fill("small"); // layers asked for
    this.sent = Array(size).fill(null); // layer the node says it sends (its `layers` event)
    this.wanted = Array(size).fill("none");
    this.wantedLayers = Array(size).fill("small");
    this.level = null;
    this.seq = 0; // number of the node's latest description applied (reply or `layers`)
    this.frames = Array(size).fill(0);
    this._syncing = null;
    this._again = false;
    this._opening = null;
    this._sampler = null;
    this.failed = null; // why the gallery has no video (e.g. "forbidden" for a co-chair)
    roomMedia.addEventListener("streams", () => this._reopenIfNeeded());
  }

  /** The MediaStream behind tile `index` (the same object for the page's lifetime). */
  streamFor(index) { return this.streams[index]; }

  /**
   * What the tiles of the current page show: userIds[i] for tile i (null: nothing); `main`
   * is the set of user ids whose tile shows the main layer (hover, preview).
   */
  show(userIds, main = new Set()) {
    const before = this.wanted.join(",");
    for (let i = 0; i < this.size; i += 1) {
      const id = i < userIds.length ? userIds[i] : null;
      this.wanted[i] = slotOf(id);
      this.wantedLayers[i] = id !== null && id !== undefined && main.has(id) ? "main" : "small";
    }
    // refused for other people (e.g. a hall screen a moment before the chair's page
    // reached the node): these people may be granted
    if (this.failed === "forbidden" && this.wanted.join(",") !== before) this.failed = null;
    return this._sync();
  }

  stop() {
    clearInterval(this._sampler);
    this._sampler = null;
    if (this.peer && this.media) this.media.close(this.peer.peerId).catch(() => {});
    this.peer = null;
  }

  // -- internals -----------------------------------------------------------------------

  async _open() {
    const media = this.roomMedia.media;
    if (!media) throw new Error("no media connection");
    this.media = media;
    media.addEventListener("layers", (e) => this._onLayers(e.detail));
    const slots = [...this.wanted];
    const layers = [...this.wantedLayers];
    const peer = await media.subscribe({ slots, layers, audio: false });
    if (media !== this.roomMedia.media) { // reconnected meanwhile
      media.close(peer.peerId).catch(() => {});
      return;
    }
    this.peer = peer;
    peer.pc.addEventListener("connectionstatechange", () => {
      // the node dropped the gallery peer (e.g. consent expired): open a new one
      if (this.peer === peer && ["failed", "closed"].includes(peer.pc.connectionState)) this._reopen();
    });
    this.applied = [...slots];
    this.appliedLayers = [...layers];
    this.seq = 0;
    this._applySent(peer, slots.map((s, i) => (s === "none" ? null : layers[i])));
    peer.streams.forEach((stream, i) => {
      const target = this.streams[i];
      for (const t of target.getTracks()) target.removeTrack(t);
      for (const t of stream.getTracks()) target.addTrack(t);
    });
    this.frames = Array(this.size).fill(0);
    this._startSampler();
    // new receivers: every bound tile counts its frames from zero again
    const moved = slots.map((slot, i) => (slot === "none" ? -1 : i)).filter((i) => i >= 0);
    this._emit("changed", { slots: this.applied, layers: this.appliedLayers, moved });
  }

  _reopenIfNeeded() {
    // RoomMedia reconnected: the old gallery peer went with the old connection
    if (this.peer && this.media !== this.roomMedia.media) this._reopen();
  }

  _reopen() {
    const old = this.peer;
    this.peer = null;
    this.applied = Array(this.size).fill("none");
    if (old && this.media) this.media.close(old.peerId).catch(() => {});
    this.reopened = (this.reopened || 0) + 1;
    setTimeout(() => this._sync(), 1000); // not in a tight loop when the node refuses
  }

  _sync() {
    if (this._syncing) {
      this._again = true;
      return this._syncing;
    }
    this._syncing = (async () => {
      try {
        do {
          this._again = false;
          await this._syncOnce();
        } while (this._again);
      } catch (error) {
        this.failed = error.code || error.message || String(error);
        this._emit("error", { error });
      } finally {
        this._syncing = null;
      }
    })();
    return this._syncing;
  }

  async _syncOnce() {
    if (!this.peer) {
      // a co-chair runs the console but may not subscribe to participants: no retries
      if (this.failed === "forbidden" || this.wanted.every((s) => s === "none")) return;
      await this._open();
      return;
    }
    const changes = [];
    for (let i = 0; i < this.size; i += 1) {
      if (this.wanted[i] !== this.applied[i]
          || (this.wanted[i] !== "none" && this.wantedLayers[i] !== this.appliedLayers[i])) {
        changes.push({ index: i, slot: this.wanted[i], layer: this.wantedLayers[i] });
      }
    }
    if (!changes.length) return;
    const slots = [...this.wanted];
    const layers = [...this.wantedLayers];
    const moved = changes.filter((c) => c.slot !== this.applied[c.index]).map((c) => c.index);
    const reply = await this.media.setSlots(this.peer.peerId, changes);
    this.applied = Array.isArray(reply.slots) ? reply.slots : slots;
    this.appliedLayers = layers;
    const asked = [...this.sent];
    for (const c of changes) asked[c.index] = c.slot === "none" ? null : c.layer;
    this._applySent(reply, asked);
    // moved: tiles with another source now (their picture is stale until frames come)
    this._emit("changed", { slots: this.applied, layers: this.appliedLayers, moved });
  }

  /** A reply's description of what the node sends, unless a newer `layers` event came
   * first (the web relays replies and events on separate threads: either may overtake);
   * `fallback` when the node gave none. */
  _applySent(reply, fallback) {
    if (Number.isInteger(reply.seq) && Array.isArray(reply.sent)) {
      if (reply.seq <= this.seq) return;
      this.seq = reply.seq;
      this.sent = reply.sent.slice(0, this.size).map((l) => l ?? null);
      this.level = reply.level || this.level;
      return;
    }
    this.sent = fallback;
  }

  _onLayers(data) {
    if (!data || !this.peer || data.peer_id !== this.peer.peerId) return;
    if (Number.isInteger(data.seq)) {
      if (data.seq <= this.seq) return; // overtaken by a newer reply or event
      this.seq = data.seq;
    }
    this.level = data.level || null;
    for (const s of data.slots || []) {
      if (!Number.isInteger(s.index) || s.index < 0 || s.index >= this.size) continue;
      this.sent[s.index] = s.layer ?? null;
      // the node cut a slot (its person left the hall screens): the next show() asks
      // again for whatever is wanted then
      if (typeof s.slot === "string") this.applied[s.index] = s.slot;
    }
    this._emit("changed", { slots: this.applied, layers: this.appliedLayers });
  }

  _startSampler() {
    clearInterval(this._sampler);
    this._sampler = setInterval(() => this._sample().catch(() => {}), SAMPLE_MS);
  }

  async _sample() {
    if (!this.peer) return;
    const byTrack = await framesByTrack(this.peer.pc);
    this.frames = this.streams.map((s) => {
      const v = s.getVideoTracks()[0];
      return v ? byTrack[v.id] ?? 0 : 0;
    });
    this._emit("frames", { at: Date.now(), frames: this.frames });
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
