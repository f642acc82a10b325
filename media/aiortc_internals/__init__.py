"""The ONLY module of giaoban that reaches into aiortc / aioice internals.

Pinned to aiortc 1.16.0 and aioice 0.13.0 (requirements.txt). tests/media/test_media_internals.py
fails loudly when an upgrade moves anything used here. Every hook is installed on one
instance (one peer connection, receiver or sender); nothing is patched globally, so plain
aiortc peers in the same process (tests, benchmarks) keep their normal behaviour.

Hooks:

1. Receive side pass-through (``enable_passthrough``): RTCRtpReceiver reassembles frames
   in its jitter buffer and puts ``(codec, JitterFrame)`` on ``__decoder_queue`` for a
   decoder thread. We replace that queue by one that turns each frame into an
   :class:`media.frames.EncodedFrame` and puts it straight on the receiver track's asyncio
   queue (we are on the event loop thread there), so ``track.recv()`` yields encoded
   frames. SRTP, NACK, RTCP receiver reports and REMB are untouched. The decoder thread
   aiortc still starts just waits for the stop signal and then ends the track exactly as
   aiortc does. A video receiver's ``__jitter_buffer`` is replaced by a subclass of
   aiortc's (``HoleBoundedJitterBuffer``) that stops waiting for a lost packet after
   0.5 s instead of after 512 later packets (seconds of a publisher's picture).
2. Keyframe requests upstream (``send_pli``): ``RTCRtpReceiver._send_rtcp_pli``.
3. Keyframe requests from subscribers (``on_keyframe_request``): RTCRtpSender handles an
   incoming PLI/FIR by calling ``self._send_keyframe()``, which only sets a flag the
   ``pack()`` path ignores; we replace it on the instance with a callback.
4. ICE restriction (``restrict_ice``): RTCPeerConnection creates each ICE connection in
   ``__createDtlsTransport``; we wrap it on the instance and, for every new
   ``aioice.Connection``: gather host candidates only on the configured addresses (wrapping
   ``get_component_candidates``), drop remote candidates outside the allowed networks
   (wrapping ``add_remote_candidate``, before any pairing or mDNS lookup), and drop every
   datagram (STUN checks, DTLS, SRTP) whose source is outside the allowed networks
   (wrapping each socket protocol's ``datagram_received``). The sockets keep the kernel's
   default receive buffer: a 4 MiB one was tried (30/11/2026) and, on a node that could
   not keep up, queued seconds of media ahead of the STUN answers, so consent expired and
   publishers were dropped; a small buffer sheds the excess as loss, which the jitter
   buffer above bounds.
5. Congestion feedback to publishers (``disable_remb_estimator``, ``send_remb``): aiortc's
   receiver runs a delay-based estimator (``__remote_bitrate_estimator``) on arrival times
   taken on the node's event loop and sends its result as REMB. Measured with Chromium
   (29/11/2026): it starts near 250 kbps, grows ~8 %/s, and a busy loop reads as
   congestion, so Chromium (which negotiates only REMB with aiortc) sent 43–94 kbps on a
   clean loopback link. The node switches it off per receiver and sends its own REMB
   (``RtcpPsfbPacket`` APP/REMB through ``_send_rtcp`` with the receiver's RTCP SSRC).
6. Feedback from subscribers (``on_rtcp_feedback``): RTCRtpSender keeps receiver reports
   only as stats and applies REMB only to its own encoder; we wrap
   ``_handle_rtcp_packet`` on the instance to hand fraction lost and REMB to a callback.
7. Consent freshness (``restrict_connection``): aioice sends each consent check once with a
   0.5 s timeout and closes the connection after 6 misses in a row. A node whose event loop
   is busy answers late, and then dropped its publishers (seen in bench/fanout.py at 200
   subscribers). The replacement retransmits each check twice (0.5 + 1 + 2 s, still inside
   the ~5 s interval); consent still expires after 6 checks without any answer (RFC 7675).
8. Shared fan-out send path (``on_sender_start``, ``replace_retransmit``, ``RtpOutput``,
   ``h264_payloads``), used by media/fanout.py: aiortc's ``RTCRtpSender._run_rtp`` builds an
   ``RtpPacket`` per packet per subscriber and awaits down to the socket. We learn the
   negotiated parameters by wrapping ``send`` on the instance, serialize packets
   ourselves, and send them as ``RTCDtlsTransport._send_rtp`` does (``_tx_srtp.protect``,
   then the nominated ICE pair's socket), keeping the sender's SR/getStats counters
   (``__ntp_timestamp``, ``__rtp_timestamp``, ``__octet_count``, ``__packet_count``), the
   transport's tx counters, and NACK handling (``_retransmit`` replaced on the instance,
   RTX with ``_rtx_ssrc`` as ``wrap_rtx`` does).
"""

from __future__ import annotations

from media.aiortc_internals._names import *  # noqa: F403
from media.aiortc_internals.ice import *  # noqa: F403
from media.aiortc_internals.receive import *  # noqa: F403
from media.aiortc_internals.send import *  # noqa: F403
