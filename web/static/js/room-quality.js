// Connection quality from RTCPeerConnection.getStats(), the send-side layer rule, frame
// stalls and the chair's per-endpoint media summary. Pure classes and functions (testable
// without a network) plus a sampler for live peer connections.
//
// classify({loss, rttMs}) -> "good" | "fair" | "poor"
//   loss is a fraction (0..1) of packets lost over the last interval.
// SendLevel: what this browser sends ("main": both layers, "small": main layer paused,
//   "none": no video) from Chromium's outgoing bandwidth estimate. What each viewer
//   RECEIVES is decided by the media node (the `layers` event), not here.
// FrameStall: a slot whose decoded-frame counter has not moved for 2 s is stalled.

export const SEND_LEVELS = ["none", "small", "main"];

export const SEND_RULES = Object.freeze({
  pauseMainBelow: 300000, pauseMainSeconds: 3, // main layer off: the small one gets the link
  heavyLoss: 0.2, // the node reports losing this share of our video: counts as a low estimate
  pauseVideoBelow: 80000, pauseVideoSeconds: 5, // no video at all: audio keeps going
  resumeSmallAbove: 150000, resumeMainAbove: 500000, resumeSeconds: 3,
  probeSeconds: 10, probeMaxSeconds: 120, steadySeconds: 30,
});

export const STALL_MS = 2000;

export function classify({ loss = 0, rttMs = 0 } = {}) {
  if (loss > 0.10 || rttMs > 600) return "poor";
  if (loss > 0.03 || rttMs > 250) return "fair";
  return "good";
}

/**
 * The send-side rule. push({at, availableBitrate}) once a second returns the level to send.
 * Down: estimate under pauseMainBelow (or the node losing over heavyLoss of our video: a
 * full queue on the way, which Chromium's estimate takes seconds to notice) for
 * pauseMainSeconds -> "small"; under
 * pauseVideoBelow for pauseVideoSeconds -> "none". Up one level when the estimate holds
 * above the level's resume rate for resumeSeconds, or, because a paused sender hardly
 * makes Chromium's estimate grow, as a probe once the level has been held for the probe
 * interval. A level lost again within steadySeconds of being regained doubles the probe
 * interval (up to probeMaxSeconds); holding it steadySeconds resets the interval.
 */
export class SendLevel {
  constructor(rules = {}) {
    this.rules = { ...SEND_RULES, ...rules };
    this.reset();
  }

  reset() {
    this.level = "main";
    this.since = null; // when the current level was entered
    this.lowSince = null; // estimate under pauseMainBelow since
    this.veryLowSince = null; // under pauseVideoBelow since
    this.highSince = null; // above the resume rate of the next level up since
    this.probeMs = this.rules.probeSeconds * 1000;
    this.raisedAt = null; // last step up
  }

  push({ at, availableBitrate = null, sendLoss = 0 }) {
    const r = this.rules;
    if (this.since === null) this.since = at;
    if (typeof availableBitrate !== "number") return this.level;
    const rate = availableBitrate;
    const lossy = typeof sendLoss === "number" && sendLoss > r.heavyLoss;
    this.lowSince = rate < r.pauseMainBelow || lossy ? (this.lowSince ?? at) : null;
    this.veryLowSince = rate < r.pauseVideoBelow ? (this.veryLowSince ?? at) : null;
    if (this.level !== "none" && this.veryLowSince !== null
        && at - this.veryLowSince >= r.pauseVideoSeconds * 1000) {
      return this._lower("none", at);
    }
    if (this.level === "main" && this.lowSince !== null
        && at - this.lowSince >= r.pauseMainSeconds * 1000) {
      return this._lower("small", at);
    }
    if (this.level === "main") {
      if (this.raisedAt !== null && at - this.raisedAt >= r.steadySeconds * 1000) {
        this.probeMs = r.probeSeconds * 1000;
        this.raisedAt = null;
      }
      return this.level;
    }
    const resumeAt = this.level === "none" ? r.resumeSmallAbove : r.resumeMainAbove;
    this.highSince = rate >= resumeAt && !lossy ? (this.highSince ?? at) : null;
    const held = this.highSince !== null && at - this.highSince >= r.resumeSeconds * 1000;
    const probe = at - this.since >= this.probeMs;
    if (held || probe) return this._raise(at);
    return this.level;
  }

  _lower(level, at) {
    if (this.raisedAt !== null && at - this.raisedAt < this.rules.steadySeconds * 1000) {
      this.probeMs = Math.min(this.probeMs * 2, this.rules.probeMaxSeconds * 1000);
    }
    this.raisedAt = null;
    return this._enter(level, at);
  }

  _raise(at) {
    this.raisedAt = at;
    // the new level gets its own full seconds before it can be lowered again
    this.lowSince = null;
    this.veryLowSince = null;
    return this._enter(SEND_LEVELS[SEND_LEVELS.indexOf(this.level) + 1], at);
  }

  _enter(level, at) {
    this.level = level;
    this.since = at;
    this.highSince = null;
    return level;
  }
}

/** Frames stop: push({at, frames}) per sample; true while the counter has not moved for STALL_MS. */
export class FrameStall {
  constructor(stallMs = STALL_MS) {
    this.stallMs = stallMs;
    this.reset(null);
  }

  /** A new source behind the slot (or none): start counting from `at`. */
  reset(at) {
    this.frames = null;
    this.lastChange = at;
  }

  push({ at, frames }) {
    if (this.lastChange === null) this.lastChange = at;
    if (this.frames === null || frames > this.frames) {
      if (this.frames !== null || frames > 0) this.lastChange = at;
      this.frames = frames;
    }
    return at - this.lastChange >= this.stallMs;
  }
}

/** Loss fraction between two cumulative (lost, received) counters. */
export function lossBetween(prev, cur) {
  if (!prev) return 0;
  const lost = Math.max(0, cur.lost - prev.lost);
  const received = Math.max(0, cur.received - prev.received);
  return lost + received > 0 ? lost / (lost + received) : 0;
}

/**
 * Read one sample from a publishing and/or receiving RTCPeerConnection.
 * Returns {counters, rttMs, availableBitrate, framesDecoded, frames}; counters are
 * cumulative packet counts (lost, and received or sent) used by lossBetween; frames maps a
 * received video track's id to its framesDecoded.
 */
export async function readStats({ publish = null, subscribe = null } = {}) {
  const sample = { counters: { lost: 0, received: 0 }, rttMs: 0, availableBitrate: null,
    framesDecoded: 0, frames: {}, sendLoss: 0 };
  const rtts = [];
  for (const pc of [publish, subscribe]) {
    if (!pc || pc.connectionState === "closed") continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        sample.counters.lost += Math.max(0, s.packetsLost || 0);
        sample.counters.received += s.packetsReceived || 0;
        if (s.kind === "video") {
          sample.framesDecoded += s.framesDecoded || 0;
          if (s.trackIdentifier) sample.frames[s.trackIdentifier] = s.framesDecoded || 0;
        }
      } else if (s.type === "remote-inbound-rtp") {
        // what the node reports about our outgoing packets
        sample.counters.lost += Math.max(0, s.packetsLost || 0);
        if (typeof s.roundTripTime === "number") rtts.push(s.roundTripTime * 1000);
        if (pc === publish && s.kind === "video" && typeof s.fractionLost === "number") {
          sample.sendLoss = Math.max(sample.sendLoss, s.fractionLost);
        }
      } else if (s.type === "outbound-rtp") {
        sample.counters.received += s.packetsSent || 0;
      } else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
        if (typeof s.currentRoundTripTime === "number") rtts.push(s.currentRoundTripTime * 1000);
        if (pc === publish && typeof s.availableOutgoingBitrate === "number") {
          sample.availableBitrate = s.availableOutgoingBitrate;
        }
      }
    });
  }
  sample.rttMs = rtts.length ? Math.max(...rtts) : 0;
  return sample;
}

/** framesDecoded of every received video track of one peer connection: {trackId: frames}. */
export async function framesByTrack(pc) {
  const out = {};
  if (!pc || pc.connectionState === "closed") return out;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video" && s.trackIdentifier) {
      out[s.trackIdentifier] = s.framesDecoded || 0;
    }
  });
  return out;
}

const LEVELS = ["main", "small", "audio"];

/**
 * What one endpoint sends and receives, from its summary in the chair's `stats` event
 * (docs/protocol.md, "Stats": `layers_sent`, `sends_video`, `level`, `audio_only`; the
 * peers' own stats when a field is missing): {sends: ["main", "small"] | ["main"] | [],
 * sendKbps, receives: "main" | "small" | "audio" | null, sendsAudioOnly}.
 */
export function endpointMedia(summary) {
  if (!summary || typeof summary !== "object") return null;
  const peers = Array.isArray(summary.peers) ? summary.peers : [];
  const publish = peers.find((p) => p && p.kind === "publish");
  let layerStats = summary.layers_sent && typeof summary.layers_sent === "object" ? summary.layers_sent : null;
  if (!layerStats && publish) {
    if (publish.layers && typeof publish.layers === "object") layerStats = publish.layers;
    else if (publish.tracks && publish.tracks.video) layerStats = { main: publish.tracks.video };
  }
  const sends = [];
  let sendKbps = 0;
  for (const name of ["main", "small"]) {
    const l = layerStats && layerStats[name];
    if (l && ((l.fps || 0) > 0 || (l.kbps || 0) > 1)) {
      sends.push(name);
      sendKbps += l.kbps || 0;
    }
  }
  let receives = LEVELS.includes(summary.level) ? summary.level : null;
  if (summary.audio_only === true) receives = "audio";
  if (!receives) {
    const sub = peers.find((p) => p && p.kind === "subscribe" && LEVELS.includes(p.level));
    receives = sub ? sub.level : null;
  }
  const sendsAudioOnly = summary.sends_video === false || (Boolean(publish) && sends.length === 0);
  return { sends: sendsAudioOnly ? [] : sends, sendKbps: Math.round(sendKbps), receives, sendsAudioOnly };
}
