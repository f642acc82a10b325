// The chair's console: paged gallery of who is in the room (live video per tile through
// room-gallery.js, what each endpoint sends and receives from the chair's `stats` event),
// the floor queue, floor / mute / agenda / recording / roll call / end-meeting controls.

import { $, clear, el, hhmm } from "/static/js/room-dom.js";
import { FrameStall, endpointMedia } from "/static/js/room-quality.js";

export const PAGE_SIZE = 16;
const HOVER_MS = 300; // a tile under the pointer this long gets the main layer

export class ChairConsole {
  /**
   * gallery: a GalleryMedia (live tiles) or null; localStream(): the chair's own camera for
   * its own tile.
   */
  constructor({ client, strings, notify, confirmEnd, userId, gallery = null, localStream = () => null }) {
    this.client = client;
    this.gallery = gallery;
    this.localStream = localStream;
    this.userId = userId;
    this.pageIds = []; // user id per tile position of the current page
    this.hovered = null;
    this.previewId = null;
    this.stats = {};
    this._hoverTimer = null;
    this.tileMedia = Array.from({ length: PAGE_SIZE }, (_, i) => this._tileMedia(i));
    if (gallery) {
      gallery.addEventListener("frames", (e) => this._onFrames(e.detail));
      gallery.addEventListener("changed", (e) => this._onChanged(e.detail));
    }
    this.t = strings;
    this.notify = notify;
    this.confirmEnd = confirmEnd;
    this.page = 0;
    this.state = null;
    this._reportFor = null;
    this._bind();
  }

  _bind() {
    const act = (id, fn) => $(id).addEventListener("click", async () => {
      const ack = await fn();
      if (ack && !ack.ok) this.notify(ack.message || ack.error, true);
      return ack;
    });
    act("c-prev-item", () => this.client.moveAgenda({ step: -1 }));
    act("c-next-item", () => this.client.moveAgenda({ step: 1 }));
    act("c-next-speaker", () => this.client.nextSpeaker());
    act("c-take-floor", () => this.client.takeFloor());
    act("c-mute-all", () => this.client.muteAll());
    act("c-recording", () => this.client.setRecording(!(this.state && this.state.recording)));
    act("c-roll-call", async () => {
      if (this.state && this.state.roll_call) {
        const ack = await this.client.closeRollCall();
        if (ack.ok) this._showReport(ack.report, true);
        return ack;
      }
      return this.client.startRollCall();
    });
    act("c-end", async () => {
      if (!(await this.confirmEnd())) return null;
      return this.client.endMeeting();
    });
    $("g-prev").addEventListener("click", () => { this.page -= 1; this.render(this.state); });
    $("g-next").addEventListener("click", () => { this.page += 1; this.render(this.state); });
  }

  /** The chair's `stats` event: {user_id: summary}. */
  setStats(participants) {
    this.stats = participants && typeof participants === "object" ? participants : {};
    this.relayed = new Set(Object.entries(this.stats)
      .filter(([, summary]) => summary && summary.relayed).map(([id]) => id));
    this.pageIds.forEach((id, i) => this._renderInfo(i, id));
  }

  render(state) {
    if (!state) return;
    this.state = state;
    const t = this.t;
    $("c-recording").textContent = state.recording ? t.stop_recording : t.start_recording;
    $("c-recording").classList.toggle("danger", state.recording);
    $("c-roll-call").textContent = state.roll_call ? t.close_roll_call : t.start_roll_call;
    $("c-take-floor").disabled = !state.floor;
    $("c-next-speaker").disabled = !state.queue.length;
    this._gallery(state);
    this._queue(state);
    if (state.roll_call) this._refreshReport(state);
  }

  _gallery(state) {
    const people = state.participants;
    const pages = Math.max(1, Math.ceil(people.length / PAGE_SIZE));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    $("c-count").textContent = String(people.length);
    $("g-page").textContent = `${this.page + 1}/${pages}`;
    $("g-prev").disabled = this.page === 0;
    $("g-next").disabled = this.page >= pages - 1;
    const gallery = $("gallery");
    clear(gallery);
    const floorId = state.floor ? state.floor.user_id : null;
    const onPage = people.slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE);
    const before = this.pageIds;
    this.pageIds = onPage.map((p) => p.user_id);
    if (!this.pageIds.includes(this.previewId)) this.previewId = null;
    if (!this.pageIds.includes(this.hovered)) this.hovered = null;
    onPage.forEach((p, i) => {
      if (before[i] !== p.user_id) this._resetTile(i);
      gallery.append(this._tile(p, floorId, i));
    });
    this._showMedia();
  }

  /** Point the gallery subscription at the current page (own tile: the local camera). */
  _showMedia() {
    this.pageIds.forEach((id, i) => {
      const m = this.tileMedia[i];
      const src = id === this.userId ? this.localStream() : (this.gallery ? this.gallery.streamFor(i) : null);
      if (m.video.srcObject !== src) m.video.srcObject = src;
      if (src && m.video.paused) m.video.play().catch(() => {});
    });
    if (!this.gallery) return;
    const main = new Set([this.hovered, this.previewId].filter((id) => id !== null));
    this.gallery.show(this.pageIds.map((id) => (id === this.userId ? null : id)), main);
  }

  _tileMedia(index) {
    const video = el("video", { class: "tile-cam" });
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    const overlay = el("div", { class: "tile-overlay", data: { index } });
    overlay.hidden = true;
    const info = el("div", { class: "tile-media-info" });
    const box = el("div", { class: "tile-media switching", data: { index } }, [video, overlay]);
    return { box, video, overlay, info, stall: new FrameStall(), baseline: null };
  }

  _resetTile(index) {
    const m = this.tileMedia[index];
    m.stall.reset(Date.now());
    m.baseline = this.gallery ? this.gallery.frames[index] : null;
    m.box.classList.add("switching");
    m.overlay.hidden = true;
    m.box.dataset.live = "0";
  }

  _onChanged(detail) {
    for (const i of detail.moved || []) {
      const m = this.tileMedia[i];
      if (!m) continue;
      // another source behind the tile: the picture is stale until its frames move
      m.stall.reset(Date.now());
      m.baseline = this.gallery.frames[i];
      m.box.classList.add("switching");
    }
    this.pageIds.forEach((id, i) => this._renderInfo(i, id));
  }

  _onFrames({ at, frames }) {
    const people = this.state ? this.state.participants : [];
    this.pageIds.forEach((id, i) => {
      const m = this.tileMedia[i];
      if (id === this.userId) { m.box.classList.remove("switching"); m.overlay.hidden = true; return; }
      const p = people.find((x) => x.user_id === id);
      const stalled = m.stall.push({ at, frames: frames[i] });
      if (m.baseline === null || frames[i] > m.baseline + 1) {
        m.baseline = null;
        m.box.classList.remove("switching");
      }
      const live = !stalled && m.baseline === null && frames[i] > 0;
      m.box.dataset.live = live ? "1" : "0";
      m.box.dataset.frames = String(frames[i]);
      if (p && p.audio_only) {
        m.overlay.textContent = this.t.audio_only;
        m.overlay.hidden = false;
      } else if (stalled && p) {
        m.overlay.textContent = this.t.video_lost.replace("{name}", p.endpoint || p.name);
        m.overlay.hidden = false;
      } else m.overlay.hidden = true;
    });
  }

  _renderInfo(index, userId) {
    const m = this.tileMedia[index];
    if (!m) return;
    const t = this.t;
    const media = endpointMedia(this.stats[String(userId)]);
    const tile = m.box.parentElement;
    const parts = [];
    if (media) {
      const sends = media.sendsAudioOnly || !media.sends.length ? t.layer_audio
        : media.sends.map((l) => t[`layer_${l}`] || l).join(" + ");
      parts.push(`${t.sends}: ${sends}${media.sendKbps ? ` ${media.sendKbps} kbps` : ""}`);
      if (media.receives) parts.push(`${t.receives}: ${t[`layer_${media.receives}`] || media.receives}`);
    }
    m.info.textContent = parts.join(" · ");
    m.info.dataset.sends = media ? (media.sends.length ? media.sends.join("+") : "audio") : "";
    m.info.dataset.receives = media && media.receives ? media.receives : "";
    // through a TURN relay (the endpoint's network passes only TCP 443, say)
    const flags = tile && tile.querySelector(".tile-flags");
    const relayed = Boolean(this.stats[String(userId)] && this.stats[String(userId)].relayed);
    const flag = flags && flags.querySelector(".relay-flag");
    if (flags && relayed && !flag) {
      flags.append(el("span", { class: "flag relay-flag", text: t.relayed, title: t.relayed_title }));
    } else if (flag && !relayed) flag.remove();
    const layer = this.gallery && userId !== this.userId ? this.gallery.sent[index] : null;
    m.box.dataset.layer = layer || "";
    if (tile) tile.dataset.layer = layer || "";
  }

  /** The pointer on a tile (userId) or off it: after HOVER_MS that tile (or none) is hovered. */
  _hover(userId, on) {
    clearTimeout(this._hoverTimer);
    const next = on ? userId : null; // leaving one tile for another: the enter wins
    this._hoverTimer = setTimeout(() => {
      if (this.hovered === next) return;
      this.hovered = next;
      this._showMedia();
    }, HOVER_MS);
  }

  _togglePreview(p) {
    this.previewId = this.previewId === p.user_id ? null : p.user_id;
    this.render(this.state);
  }

  _tile(p, floorId, index) {
    const t = this.t;
    const quality = p.quality || "unknown";
    const flags = el("div", { class: "tile-flags" }, [
      el("span", { class: `quality q-${quality}`, text: t[`quality_${quality}`] || quality, title: t.connection }),
      p.muted ? el("span", { class: "flag muted-flag", text: t.muted_flag }) : null,
      p.hand_raised_at ? el("span", { class: "flag hand-flag", text: `${t.hand} ${hhmm(p.hand_raised_at)}` }) : null,
      p.audio_only ? el("span", { class: "flag", text: t.audio_only }) : null,
    ]);
    const isFloor = p.user_id === floorId;
    const own = p.user_id === this.userId;
    const previewing = this.previewId === p.user_id;
    const buttons = own ? el("div", { class: "tile-buttons muted", text: t.you }) : el("div", { class: "tile-buttons" }, [
      isFloor
        ? el("button", { class: "small take", text: t.take_floor_short, title: t.take_floor, type: "button",
          onClick: () => this._do(this.client.takeFloor()) })
        : el("button", { class: "small give", text: t.give_floor, type: "button",
          onClick: () => this._do(this.client.giveFloor(p.user_id)) }),
      el("button", { class: "small secondary-b mute", type: "button", text: p.muted ? t.unmute_one : t.mute_one,
        onClick: () => this._do(this.client.mute(p.user_id, !p.muted)) }),
      this.gallery ? el("button", { class: "small secondary-b peek", type: "button",
        text: previewing ? t.preview_close : t.preview, onClick: () => this._togglePreview(p) }) : null,
      // Only the chair names co-chairs (the server checks it too).
      this.state && this.state.meeting.chair_id === this.userId
        ? el("button", { class: "small secondary-b cochair", type: "button",
          text: (this.state.co_chair_ids || []).includes(p.user_id) ? t.cochair_off : t.cochair_on,
          onClick: () => this._do(this.client.setCochair(p.user_id,
            !(this.state.co_chair_ids || []).includes(p.user_id))) })
        : null,
    ]);
    const m = this.tileMedia[index];
    const tile = el("div", { class: `tile${isFloor ? " on-floor" : ""}${p.hand_raised_at ? " hand" : ""}${
      previewing ? " previewing" : ""}`, data: { userId: p.user_id, index } }, [
      m.box,
      el("div", { class: "tile-name", text: p.endpoint || p.name }),
      el("div", { class: "tile-unit muted", text: p.endpoint ? `${p.unit} · ${p.name}` : (p.unit || p.position || "") }),
      el("div", { class: "tile-heads", text: `${p.head_count || 1} ${t.people}` }),
      flags,
      m.info,
      buttons,
    ]);
    if (!own) {
      tile.addEventListener("mouseenter", () => this._hover(p.user_id, true));
      tile.addEventListener("mouseleave", () => this._hover(p.user_id, false));
    }
    this._renderInfo(index, p.user_id);
    return tile;
  }

  _queue(state) {
    const list = $("c-queue");
    clear(list);
    if (!state.queue.length) list.append(el("li", { class: "muted empty", text: this.t.queue_empty }));
    for (const q of state.queue) {
      list.append(el("li", { data: { userId: q.user_id } }, [
        el("span", { class: "q-time", text: hhmm(q.raised_at) }),
        el("span", { class: "q-name", text: q.endpoint ? `${q.endpoint} – ${q.name}` : q.name }),
        el("button", { class: "small give", type: "button", text: this.t.give_floor,
          onClick: () => this._do(this.client.giveFloor(q.user_id)) }),
      ]));
    }
  }

  async _refreshReport(state) {
    const key = `${state.roll_call.id}:${state.version}`;
    if (this._reportFor === key) return;
    this._reportFor = key;
    const ack = await this.client.rollCallReport();
    if (ack.ok && ack.report && this.state && this.state.roll_call) this._showReport(ack.report, false);
  }

  _showReport(report, closed) {
    const t = this.t;
    $("roll-report").hidden = false;
    $("roll-report").dataset.closed = closed ? "1" : "0";
    const missing = report.not_answered || [];
    const answered = (report.answers || []).length;
    $("roll-summary").textContent = `${closed ? "✔ " : ""}${t.answered}: ${answered} · ${t.total_heads}: ${
      report.total_heads ?? 0} · ${t.not_answered}: ${missing.length}`;
    const list = $("roll-missing");
    clear(list);
    if (!missing.length) list.append(el("li", { class: "ok", text: t.all_answered }));
    for (const m of missing) list.append(el("li", { text: m.name, data: { endpointId: m.endpoint_id } }));
  }

  async _do(promise) {
    const ack = await promise;
    if (ack && !ack.ok) this.notify(ack.message || ack.error, true);
    return ack;
  }
}
