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

    @classmethod
    def loopback(cls) -> IcePolicy:
        return cls(gather_addresses=("127.0.0.1",), allowed_networks=parse_networks(["127.0.0.1"]))

    @classmethod
    def from_strings(cls, addresses: Iterable[str], networks: Iterable[str]) -> IcePolicy:
        return cls(parse_addresses(addresses), parse_networks(networks))

    def allows(self, host: str) -> bool:
        """True when ``host`` is an IP literal inside an allowed network (hostnames, mDNS
        names and garbage are refused)."""
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed_networks)
