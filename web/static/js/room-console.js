// The chair's console: paged gallery of who is in the room, the floor queue, floor /
// mute / agenda / recording / roll call / end-meeting controls.

import { $, clear, el, hhmm } from "/static/js/room-dom.js";

export const PAGE_SIZE = 16;

export class ChairConsole {
  constructor({ client, strings, notify, confirmEnd, userId, onPreview = null }) {
    this.client = client;
    this.onPreview = onPreview;
    this.userId = userId;
    this.t = strings;
    this.notify = notify;
    this.confirmEnd = confirmEnd;
    this.page = 0;
    this.state = null;
    this._reportFor = null;
    this.relayed = new Set();
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

  /** Node stats for this meeting ({participants: {user id: summary}}): who is relayed. */
  setStats(data) {
    const relayed = new Set(Object.entries((data && data.participants) || {})
      .filter(([, summary]) => summary && summary.relayed).map(([id]) => id));
    const changed = relayed.size !== this.relayed.size || [...relayed].some((id) => !this.relayed.has(id));
    this.relayed = relayed;
    if (changed && this.state) this.render(this.state);
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
    for (const p of people.slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE)) {
      gallery.append(this._tile(p, floorId));
    }
  }

  _tile(p, floorId) {
    const t = this.t;
    const quality = p.quality || "unknown";
    const flags = el("div", { class: "tile-flags" }, [
      el("span", { class: `quality q-${quality}`, text: t[`quality_${quality}`] || quality, title: t.connection }),
      p.muted ? el("span", { class: "flag muted-flag", text: t.muted_flag }) : null,
      p.hand_raised_at ? el("span", { class: "flag hand-flag", text: `${t.hand} ${hhmm(p.hand_raised_at)}` }) : null,
      p.audio_only ? el("span", { class: "flag", text: t.audio_only }) : null,
      this.relayed.has(String(p.user_id))
        ? el("span", { class: "flag relay-flag", text: t.relayed, title: t.relayed_title }) : null,
    ]);
    const isFloor = p.user_id === floorId;
    const own = p.user_id === this.userId;
    const buttons = own ? el("div", { class: "tile-buttons muted", text: t.you }) : el("div", { class: "tile-buttons" }, [
      isFloor
        ? el("button", { class: "small take", text: t.take_floor_short, title: t.take_floor, type: "button",
          onClick: () => this._do(this.client.takeFloor()) })
        : el("button", { class: "small give", text: t.give_floor, type: "button",
          onClick: () => this._do(this.client.giveFloor(p.user_id)) }),
      el("button", { class: "small secondary-b mute", type: "button", text: p.muted ? t.unmute_one : t.mute_one,
        onClick: () => this._do(this.client.mute(p.user_id, !p.muted)) }),
      this.onPreview && !p.audio_only ? el("button", { class: "small secondary-b peek", type: "button",
        text: t.preview, onClick: () => this.onPreview(p) }) : null,
      // Only the chair names co-chairs (the server checks it too).
      this.state && this.state.meeting.chair_id === this.userId
        ? el("button", { class: "small secondary-b cochair", type: "button",
          text: (this.state.co_chair_ids || []).includes(p.user_id) ? t.cochair_off : t.cochair_on,
          onClick: () => this._do(this.client.setCochair(p.user_id,
            !(this.state.co_chair_ids || []).includes(p.user_id))) })
        : null,
    ]);
    return el("div", { class: `tile${isFloor ? " on-floor" : ""}${p.hand_raised_at ? " hand" : ""}`,
      data: { userId: p.user_id } }, [
      el("div", { class: "tile-name", text: p.endpoint || p.name }),
      el("div", { class: "tile-unit muted", text: p.endpoint ? `${p.unit} · ${p.name}` : (p.unit || p.position || "") }),
      el("div", { class: "tile-heads", text: `${p.head_count || 1} ${t.people}` }),
      flags,
      buttons,
    ]);
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
