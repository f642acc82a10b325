"""ICE: gathering and answering only on allowed addresses, consent, the peer connection (see the package docstring: every reach into aiortc, aioice, pylibsrtp and
asyncio internals lives in this package, tested by tests/media/test_media_internals.py)."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aioice
import aioice.ice
from aioice import stun
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
)

from media.aiortc_internals._names import (
    _HOOKED,
    _POLICY,
    CONNECTION_NOMINATED,
    CONNECTION_PROTOCOLS,
    CONSENT_RETRANSMISSIONS,
    PC_CREATE_DTLS,
)
from media.netpolicy import IcePolicy

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- ICE


def _filter_protocol(protocol: Any, policy: IcePolicy) -> None:
    if getattr(protocol, _HOOKED, False):
        return
    original = protocol.datagram_received

    def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
        if not policy.allows(addr[0]):
            logger.debug("dropped datagram from %s (outside allowed networks)", addr[0])
            return
        original(data, addr)

    protocol.datagram_received = datagram_received
    setattr(protocol, _HOOKED, True)


def restrict_connection(connection: aioice.Connection, policy: IcePolicy) -> None:
    """Apply ``policy`` to one aioice connection (before it gathers or gets candidates)."""
    if getattr(connection, _HOOKED, False):
        return
    original_gather = connection.get_component_candidates
    original_add = connection.add_remote_candidate

    async def get_component_candidates(
        component: int, addresses: list[str], timeout: int = 5
    ) -> list[aioice.Candidate]:
        candidates = await original_gather(
            component=component, addresses=list(policy.gather_addresses), timeout=timeout
        )
        for protocol in getattr(connection, CONNECTION_PROTOCOLS):
            _filter_protocol(protocol, policy)
        return [c for c in candidates if c.host in policy.gather_addresses]

    async def add_remote_candidate(candidate: aioice.Candidate | None) -> None:
        if candidate is not None and not policy.allows(candidate.host):
            logger.info("ignored remote candidate %s (outside allowed networks)", candidate.host)
            return
        await original_add(candidate)

    async def query_consent() -> None:
        failures = 0
        while True:
            await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
            for pair in list(getattr(connection, CONNECTION_NOMINATED).values()):
                request = connection.build_request(pair, nominate=False)
                try:
                    await pair.protocol.request(
                        request,
                        pair.remote_addr,
                        integrity_key=(connection.remote_password or "").encode("utf8"),
                        retransmissions=CONSENT_RETRANSMISSIONS,
                    )
                    failures = 0
                except stun.TransactionError:
                    failures += 1
                if failures >= aioice.ice.CONSENT_FAILURES:
                    logger.info("consent to send expired (%s)", pair.remote_addr[0])
                    connection._query_consent_task = None
                    await connection.close()
                    return

    connection.query_consent = query_consent  # type: ignore[method-assign]
    connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]
    connection.add_remote_candidate = add_remote_candidate  # type: ignore[method-assign]
    setattr(connection, _HOOKED, True)


def restrict_ice(pc: RTCPeerConnection, policy: IcePolicy) -> None:
    """Apply ``policy`` to every ICE connection ``pc`` creates from now on."""
    original = getattr(pc, PC_CREATE_DTLS)

    def create_dtls_transport() -> Any:
        dtls = original()
        restrict_connection(dtls.transport._connection, policy)
        return dtls

    setattr(pc, PC_CREATE_DTLS, create_dtls_transport)


def create_peer_connection(policy: IcePolicy, max_bundle: bool = True) -> RTCPeerConnection:
    """A peer connection with no STUN/TURN server and ``policy`` applied to ICE.

    ``max_bundle``: every transceiver shares the first one's transport from creation. The
    node needs it: with aiortc's default "balanced" policy, transceivers created before
    ``setRemoteDescription`` (as the node does, to choose codecs) get bundled per kind onto
    a transport that the offer's BUNDLE group then discards, and never connect.
    """
    bundle = RTCBundlePolicy.MAX_BUNDLE if max_bundle else RTCBundlePolicy.BALANCED
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=bundle))
    restrict_ice(pc, policy)
    setattr(pc, _POLICY, policy)
    return pc


def remote_candidate_type(pc: RTCPeerConnection) -> str | None:
    """Type of the remote candidate of the nominated ICE pair (``host``, ``srflx``,
    ``prflx`` or ``relay``: the endpoint reaches us through a TURN relay), None before ICE
    completes. Reads aioice's private ``Connection._nominated`` (component 1 = RTP).
    Browsers' checks through a relay often arrive before their candidate is known (a
    ``prflx`` candidate): a remote address among the policy's relay addresses is "relay"."""
    policy: IcePolicy | None = getattr(pc, _POLICY, None)
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport or transceiver.sender.transport
        connection = getattr(getattr(dtls, "transport", None), "_connection", None)
        nominated = getattr(connection, CONNECTION_NOMINATED, None) or {}
        pair = nominated.get(1)
        if pair is not None:
            remote = pair.remote_candidate
            if policy is not None and policy.is_relay(str(remote.host)):
                return "relay"
            return str(remote.type)
    return None

__all__ = [
    "create_peer_connection",
    "remote_candidate_type",
    "restrict_connection",
    "restrict_ice",
]
