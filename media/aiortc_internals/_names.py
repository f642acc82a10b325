"""Versions this package was written against and the private names it touches."""

from __future__ import annotations

AIORTC_VERSION = "1.16.0"
AIOICE_VERSION = "0.13.0"

# name-mangled private attributes we touch
RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
SENDER_SEND_KEYFRAME = "_send_keyframe"
SENDER_HANDLE_RTCP = "_handle_rtcp_packet"
SENDER_SSRC = "_ssrc"
RECEIVER_REMB_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
RECEIVER_SEND_RTCP = "_send_rtcp"
PC_CREATE_DTLS = "_RTCPeerConnection__createDtlsTransport"
CONNECTION_PROTOCOLS = "_protocols"
CONNECTION_NOMINATED = "_nominated"
CONSENT_RETRANSMISSIONS = 2
SENDER_SEND = "send"
SENDER_RETRANSMIT = "_retransmit"
SENDER_RTX_SSRC = "_rtx_ssrc"
SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
DTLS_TX_SRTP = "_tx_srtp"
DTLS_STATE = "_state"
DTLS_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
ICE_TRANSPORT_CONNECTION = "_connection"
ASYNCIO_SOCK = "_sock"  # asyncio's _SelectorDatagramTransport
ASYNCIO_BUFFER = "_buffer"

_HOOKED = "_giaoban_hooked"
_POLICY = "_giaoban_policy"
_TAPPED = "_giaoban_rtp_tap"
TAP_DRAIN = 32

__all__ = [
    "AIOICE_VERSION",
    "AIORTC_VERSION",
    "ASYNCIO_BUFFER",
    "ASYNCIO_SOCK",
    "CONNECTION_NOMINATED",
    "CONNECTION_PROTOCOLS",
    "CONSENT_RETRANSMISSIONS",
    "DTLS_STATE",
    "DTLS_TX_BYTES",
    "DTLS_TX_PACKETS",
    "DTLS_TX_SRTP",
    "ICE_TRANSPORT_CONNECTION",
    "PC_CREATE_DTLS",
    "RECEIVER_DECODER_QUEUE",
    "RECEIVER_HANDLE_RTP",
    "RECEIVER_JITTER_BUFFER",
    "RECEIVER_REMB_ESTIMATOR",
    "RECEIVER_RTCP_SSRC",
    "RECEIVER_RTX_SSRC",
    "RECEIVER_SEND_PLI",
    "RECEIVER_SEND_RTCP",
    "SENDER_HANDLE_RTCP",
    "SENDER_NTP_TIMESTAMP",
    "SENDER_OCTET_COUNT",
    "SENDER_PACKET_COUNT",
    "SENDER_RETRANSMIT",
    "SENDER_RTP_TIMESTAMP",
    "SENDER_RTX_SSRC",
    "SENDER_SEND",
    "SENDER_SEND_KEYFRAME",
    "SENDER_SSRC",
    "TAP_DRAIN",
]
