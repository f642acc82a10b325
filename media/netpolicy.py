"""Which addresses the node gathers ICE candidates on and which remote networks it answers."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse "127.0.0.1", "10.0.0.0/8", "::1" into networks (a bare address is a /32 or /128)."""
    networks = []
    for value in values:
        value = value.strip()
        if value:
            networks.append(ipaddress.ip_network(value, strict=False))
    return tuple(networks)


def parse_addresses(values: Iterable[str]) -> tuple[str, ...]:
    """Validate literal IP addresses to gather host candidates on."""
    out = []
    for value in values:
        value = value.strip()
        if value:
            out.append(str(ipaddress.ip_address(value)))
    return tuple(out)


@dataclass(frozen=True)
class IcePolicy:
    """ICE restrictions for one node: gather only on ``gather_addresses``; talk only to
    remote addresses inside ``allowed_networks``."""

    gather_addresses: tuple[str, ...]
    allowed_networks: tuple[IPNetwork, ...]
    relay_networks: tuple[IPNetwork, ...] = ()  # TURN relays' addresses (also allowed)

    @classmethod
    def loopback(cls) -> IcePolicy:
        return cls(gather_addresses=("127.0.0.1",), allowed_networks=parse_networks(["127.0.0.1"]))

    @classmethod
    def from_strings(cls, addresses: Iterable[str], networks: Iterable[str],
                     relays: Iterable[str] = ()) -> IcePolicy:
        return cls(parse_addresses(addresses), parse_networks(networks), parse_networks(relays))

    def is_relay(self, host: str) -> bool:
        """True when ``host`` is one of the TURN relays' addresses."""
        address = _address(host)
        return address is not None and any(address in n for n in self.relay_networks)

    def allows(self, host: str) -> bool:
        """True when ``host`` is an IP literal inside an allowed network (hostnames, mDNS
        names and garbage are refused)."""
        address = _address(host)
        if address is None:
            return False
        return any(address in network for network in (*self.allowed_networks, *self.relay_networks))


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
