// giaoban live room: the /room Socket.IO protocol client (docs/protocol-room.md).
// No DOM code. Every client -> server event is a method returning a Promise of its
// acknowledgement ({ok: true, ...} or {ok: false, error, message, fields}).
//
//   import { RoomClient } from "/static/js/room-client.js";
//   const room = new RoomClient();
//   room.addEventListener("state", (e) => render(e.detail));
//   room.addEventListener("chat", (e) => append(e.detail));
//   await room.connect();
//   const ack = await room.join({ meeting_id: 1, endpoint_id: 4 });
//
// Events: "state" (public state, or a joined ack's state with `you` and chat history),
// "chat", "documents" (the meeting's documents changed), "room-error", "connection" ({status: "connected"|"reconnecting"|"disconnected",
// attempt?, delayMs?}), "rejoined" ({ack}), "rejoin-failed" ({ack}).
// After a lost connection it reconnects by itself with exponential backoff (with jitter)
// and joins the same meeting again with the same parameters.
// The state is kept from whole states (acknowledgements) and the broadcast deltas
// (`participants`, and `state` with `participants_delta`), applied in version order; a
// delta whose `prev` is a version it never saw waits `gapTimeoutMs`, then the whole state
// is fetched again. Every "state" event carries the whole state all the same.

import { io } from "/static/vendor/socket.io-client/socket.io.esm.min.js";

const ACK_TIMEOUT_MS = 10000;
const GAP_TIMEOUT_MS = 1500;
const HISTORY = 256; // deltas kept after applying them, to replay over an older whole state

/** The server's order of the participant list: join time, then presence id. */
function byJoin(a, b) {
  if (a.joined_at !== b.joined_at) return a.joined_at < b.joined_at ? -1 : 1;
  return a.presence_id - b.presence_id;
}

/** The participant list with a delta ({upsert: [entries], remove: [user ids]}) applied. */
export function applyParticipantDelta(participants, { upsert = [], remove = [] } = {}) {
  const byUser = new Map((participants || []).map((p) => [p.user_id, p]));
  for (const id of remove) byUser.delete(id);
  for (const entry of upsert) byUser.set(entry.user_id, entry);
  return [...byUser.values()].sort(byJoin);
}

export class RoomError extends Error {
  constructor(ack) {
    super((ack && ack.message) || (ack && ack.error) || "error");
    this.name = "RoomError";
    this.code = ack && ack.error;
    this.fields = (ack && ack.fields) || {};
    this.ack = ack;
  }
}

/** Delay before reconnection attempt n (1-based): 0.5 s doubling to 10 s, ±30 % jitter. */
export function backoffDelay(attempt, { base = 500, max = 10000, jitter = 0.3, random = Math.random } = {}) {
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  const spread = raw * jitter;
  return Math.round(raw - spread + random() * 2 * spread);
}

export class RoomClient extends EventTarget {
  /**
   * @param {object} [options]
   * @param {string} [options.url] origin of the web app ("" = this page)
   * @param {number} [options.ackTimeoutMs]
   * @param {number} [options.gapTimeoutMs] wait for a missing delta before refetching
   */
  constructor({ url = "", ackTimeoutMs = ACK_TIMEOUT_MS, gapTimeoutMs = GAP_TIMEOUT_MS, messages = {} } = {}) {
    super();
    // texts of the errors this client makes up itself (the server's come translated)
    this.messages = { disconnected: "disconnected", timeout: "timeout", invalid: "no answer", ...messages };
    this.url = url;
    this.ackTimeoutMs = ackTimeoutMs;
    this.gapTimeoutMs = gapTimeoutMs;
    this._pending = new Map(); // prev version -> {name, msg}: deltas not applied yet
    this._history = new Map(); // prev version -> {name, msg}: the last deltas applied
    this._gapTimer = null;
    this._refreshing = null;
    this.socket = null;
    this.joinParams = null; // last successful join: re-sent after a reconnection
    this.state = null;
    this.you = null;
    this.presenceId = null;
    this._attempt = 0;
    this._timer = null;
    this._closed = false;
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  /** Open the connection (resolves once connected; rejects if the session is refused). */
  connect() {
    if (this.connected) return Promise.resolve();
    this._closed = false;
    if (!this.socket) {
      // Reconnection is ours (backoff + re-join), not the Socket.IO manager's.
      this.socket = io(`${this.url}/room`, {
        transports: ["websocket", "polling"],
        withCredentials: true,
        reconnection: false,
      });
      this.socket.on("state", (state) => this._onBroadcast("state", state));
      this.socket.on("participants", (delta) => this._onBroadcast("participants", delta));
      this.socket.on("chat", (msg) => this._emit("chat", msg));
      this.socket.on("documents", (data) => this._emit("documents", data));
      this.socket.on("room_error", (err) => this._emit("room-error", err));
      this.socket.on("disconnect", (reason) => this._onDisconnect(reason));
      this.socket.on("connect", () => this._onConnect());
    }
    return new Promise((resolve, reject) => {
      const ok = () => { cleanup(); resolve(); };
      const fail = (err) => { cleanup(); reject(err); };
      const cleanup = () => {
        this.socket.off("connect", ok);
        this.socket.off("connect_error", fail);
      };
      this.socket.on("connect", ok);
      this.socket.on("connect_error", fail);
      if (!this.socket.active) this.socket.connect();
    });
  }

  /** Close for good (no reconnection). */
  close() {
    this._closed = true;
    clearTimeout(this._timer);
    if (this.socket) this.socket.disconnect();
  }

  // -- protocol ------------------------------------------------------------------------

  async join(params) {
    const ack = await this.request("join", params);
    if (ack.ok) {
      this.joinParams = { ...params };
      this.presenceId = ack.presence_id;
      this._onState(ack.state);
    }
    return ack;
  }

  /** Follow a meeting without joining it (hall screen): public state only, no presence. */
  async watch(params) {
    const ack = await this.request("watch", params);
    if (ack.ok) {
      this.watchParams = { ...params };
      this._onState(ack.state);
    }
    return ack;
  }

  async leave() {
    const ack = await this.request("leave", {});
    if (ack.ok) this.joinParams = null;
    return ack;
  }

  /** Fetch the whole state again (one request at a time). */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = this.request("state", {}).then((ack) => {
        this._refreshing = null;
        if (ack.ok) this._onState(ack.state);
        return ack;
      });
    }
    return this._refreshing;
  }

  raiseHand() { return this.request("raise_hand", {}); }
  lowerHand() { return this.request("lower_hand", {}); }
  giveFloor(userId) { return this.request("give_floor", { user_id: userId }); }
  takeFloor() { return this.request("take_floor", {}); }
  nextSpeaker() { return this.request("next_speaker", {}); }
  mute(userId, muted = true) { return this.request("mute", { user_id: userId, muted }); }
  muteAll() { return this.request("mute_all", {}); }
  /** @param {{muted?: boolean, audio_only?: boolean, head_count?: number, quality?: string}} fields */
  updateSelf(fields) { return this.request("update_self", fields); }
  moveAgenda(target) { return this.request("move_agenda", target); } // {item_id} or {step: 1|-1}
  setRecording(on) { return this.request("set_recording", { on }); }
  setCochair(userId, on = true) { return this.request("set_cochair", { user_id: userId, on }); }
  present(documentId, page = 1, zoom = 100) {
    return this.request("present", { document_id: documentId, page, zoom });
  }
  stopPresenting() { return this.request("present", { stop: true }); }
  startRollCall() { return this.request("start_roll_call", {}); }
  answerRollCall(headCount) { return this.request("answer_roll_call", { head_count: headCount }); }
  rollCallReport() { return this.request("roll_call_report", {}); }
  closeRollCall() { return this.request("close_roll_call", {}); }
  chat(body, audience = "all") { return this.request("chat", { body, audience }); }
  endMeeting() { return this.request("end_meeting", {}); }

  /** Emit an event and resolve with its acknowledgement (never rejects). */
  request(event, data) {
    const local = (error) => ({ ok: false, error, message: this.messages[error] });
    if (!this.connected) return Promise.resolve(local("disconnected"));
    return new Promise((resolve) => {
      this.socket.timeout(this.ackTimeoutMs).emit(event, data, (err, ack) => {
        if (err) resolve(local("timeout"));
        else resolve(ack || local("invalid"));
      });
    });
  }

  // -- internals -----------------------------------------------------------------------

  /** A whole state: an acknowledgement (with `you`) always wins, a broadcast one if not
   * older. Deltas already applied that are newer than it are applied again (an answer read
   * before them can arrive after them). */
  _onState(state) {
    if (!state) return;
    if (!Array.isArray(state.participants)) {
      this._onBroadcast("state", state);
      return;
    }
    // Broadcast states carry no `you` and no chat: keep what the last ack told us.
    if (state.you) this.you = state.you;
    if (this.state && typeof state.version === "number" && typeof this.state.version === "number"
        && state.version < this.state.version && !state.you) {
      return; // an older broadcast overtaken by a newer one
    }
    this.state = state;
    for (const [prev, step] of this._history) {
      if (step.msg.version > state.version && !this._pending.has(prev)) this._pending.set(prev, step);
    }
    this._drain();
    this._emit("state", this.state);
  }

  /** A broadcast: a whole state, or a delta applied once the state is at its `prev`. */
  _onBroadcast(name, msg) {
    if (!msg) return;
    if (name === "state" && Array.isArray(msg.participants)) {
      this._onState(msg);
      return;
    }
    if (typeof msg.prev !== "number" || typeof msg.version !== "number") {
      this.refresh();
      return;
    }
    if (this.state && msg.version <= this.state.version) return; // already in our state
    this._pending.set(msg.prev, { name, msg });
    if (this._drain()) this._emit("state", this.state);
  }

  /** Apply the pending deltas that follow our version; true if any was. */
  _drain() {
    if (!this.state) return false;
    let applied = false;
    for (;;) {
      const version = this.state.version;
      for (const [prev, { msg }] of this._pending) {
        if (msg.version <= version) this._pending.delete(prev);
      }
      const step = this._pending.get(version);
      if (!step) break;
      this._pending.delete(version);
      this._applyDelta(step.name, step.msg);
      this._history.set(version, step);
      if (this._history.size > HISTORY) this._history.delete(this._history.keys().next().value);
      applied = true;
    }
    if (!this._pending.size) {
      clearTimeout(this._gapTimer);
      this._gapTimer = null;
    } else if (applied || !this._gapTimer) {
      // a delta is missing: give it a moment (another web process), then fetch everything
      clearTimeout(this._gapTimer);
      this._gapTimer = setTimeout(() => {
        this._gapTimer = null;
        if (this._pending.size) this.refresh();
      }, this.gapTimeoutMs);
    }
    return applied;
  }

  _applyDelta(name, msg) {
    if (name === "participants") {
      const participants = applyParticipantDelta(this.state.participants, msg);
      this.state = { ...this.state, version: msg.version, participants };
    } else {
      const { prev, participants_delta: delta, ...rest } = msg;
      this.state = { ...rest, participants: applyParticipantDelta(this.state.participants, delta) };
    }
  }

  async _onConnect() {
    const wasRetrying = this._attempt > 0;
    this._attempt = 0;
    this._emit("connection", { status: "connected" });
    if (wasRetrying && this.watchParams && !this.joinParams) {
      const ack = await this.request("watch", this.watchParams);
      if (ack.ok) {
        this.state = null;
        this._onState(ack.state);
        this._emit("rejoined", { ack });
      } else {
        this._emit("rejoin-failed", { ack });
      }
    }
    if (wasRetrying && this.joinParams) {
      const ack = await this.request("join", this.joinParams);
      if (ack.ok) {
        this.presenceId = ack.presence_id;
        this.state = null; // the server's state wins after a gap
        this._pending.clear();
        this._history.clear();
        this._onState(ack.state);
        this._emit("rejoined", { ack });
      } else {
        this._emit("rejoin-failed", { ack });
      }
    }
  }

  _onDisconnect(reason) {
    if (this._closed || reason === "io client disconnect") {
      this._emit("connection", { status: "disconnected", reason });
      return;
    }
    this._scheduleReconnect(reason);
  }

  _scheduleReconnect(reason) {
    clearTimeout(this._timer);
    this._attempt += 1;
    const delayMs = backoffDelay(this._attempt);
    this._emit("connection", { status: "reconnecting", attempt: this._attempt, delayMs, reason });
    this._timer = setTimeout(() => {
      if (this._closed || this.connected) return;
      const onError = () => {
        this.socket.off("connect_error", onError);
        this._scheduleReconnect("connect_error");
      };
      this.socket.on("connect_error", onError);
      this.socket.once("connect", () => this.socket.off("connect_error", onError));
      this.socket.connect();
    }, delayMs);
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
