// Connection quality from RTCPeerConnection.getStats(), and the weak-link rule.
// Pure functions (testable without a network) plus a sampler for live peer connections.
//
// classify({loss, rttMs}) -> "good" | "fair" | "poor"
//   loss is a fraction (0..1) of packets lost over the last interval.
// WeakLinkDetector: video is unusable when loss > 10 % or the available outgoing bitrate
//   stays under 150 kbps for 5 s in a row; then it says "drop video" once.

export const WEAK_LOSS = 0.10;
export const WEAK_BITRATE = 150000;
export const WEAK_SECONDS = 5;

export function classify({ loss = 0, rttMs = 0 } = {}) {
  if (loss > WEAK_LOSS || rttMs > 600) return "poor";
  if (loss > 0.03 || rttMs > 250) return "fair";
  return "good";
}

export class WeakLinkDetector {
  constructor({ loss = WEAK_LOSS, bitrate = WEAK_BITRATE, seconds = WEAK_SECONDS } = {}) {
    this.limits = { loss, bitrate, seconds };
    this.badSince = null;
    this.tripped = false;
  }

  /** Feed one sample {at: ms, loss, availableBitrate?}; true the first time video must go. */
  push({ at, loss = 0, availableBitrate = null }) {
    const lowRate = typeof availableBitrate === "number" && availableBitrate < this.limits.bitrate;
    const bad = loss > this.limits.loss || lowRate;
    if (!bad) {
      this.badSince = null;
      return false;
    }
    if (this.badSince === null) this.badSince = at;
    if (!this.tripped && at - this.badSince >= this.limits.seconds * 1000) {
      this.tripped = true;
      return true;
    }
    return false;
  }

  reset() {
    this.badSince = null;
    this.tripped = false;
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
 * Returns {counters, rttMs, availableBitrate, framesDecoded}; counters are cumulative
 * packet counts (lost, and received or sent) used by lossBetween.
 */
export async function readStats({ publish = null, subscribe = null } = {}) {
  const sample = { counters: { lost: 0, received: 0 }, rttMs: 0, availableBitrate: null, framesDecoded: 0 };
  const rtts = [];
  for (const pc of [publish, subscribe]) {
    if (!pc || pc.connectionState === "closed") continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        sample.counters.lost += Math.max(0, s.packetsLost || 0);
        sample.counters.received += s.packetsReceived || 0;
        if (s.kind === "video") sample.framesDecoded += s.framesDecoded || 0;
      } else if (s.type === "remote-inbound-rtp") {
        // what the node reports about our outgoing packets
        sample.counters.lost += Math.max(0, s.packetsLost || 0);
        if (typeof s.roundTripTime === "number") rtts.push(s.roundTripTime * 1000);
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
