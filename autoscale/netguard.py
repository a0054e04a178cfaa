"""Which addresses an outbound call chosen by a caller (an alarm's webhook) may reach.

A URL a caller wrote must not make the service reach what only the service can
reach (server-side request forgery): itself and its host (loopback), a cloud's
metadata service (link-local 169.254.169.254), the private networks behind it.
So an address is permitted when it is public, or in a network the operator allowed
(`--webhook-allow`, e.g. the private network the receivers live on).

An address is judged on what it is, not on how it is written: an IPv4 literal is
read in every form resolvers and browsers read (`2130706433`, `0x7f.1`,
`0177.0.0.1`, `127.1`), an IPv6 address by the IPv4 address it carries
(`::ffff:127.0.0.1`, 6to4, Teredo, NAT64), and a name by every address it resolves
to; the caller then connects to one of the addresses judged, never to the name
again, so that a second answer of the resolver (DNS rebinding) cannot swap them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from autoscale.config import ConfigurationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[..., Sequence[tuple[Any, ...]]]
"""socket.getaddrinfo, or a stand-in of a test: (host, port, type=...) -> [(family, type, proto, canonname, sockaddr)]."""

_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")
"""A part of an IPv4 literal: decimal, octal (a leading 0) or hexadecimal (0x)."""

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_PRIVATE = tuple(map(ipaddress.ip_network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")))
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class RefusedAddress(Exception):
    """A host that names or resolves to an address the guard does not permit; the message says which and why."""


def ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address `host` names when it is written as numbers, as inet_aton and the WHATWG URL standard read it:
    one to four parts, each decimal, octal or hexadecimal, the last filling the bytes left (`127.1` is 127.0.0.1,
    `2130706433` too); None when the host is a name.

    ValueError for a host whose last label is a number but that is no IPv4 address (`1.2.3.4.5`, `256.1.1.1`, `08`, `a.1`):
    browsers refuse such a host, and resolvers disagree on it.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # the trailing dot of a fully qualified name
    if not _NUMBER.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMBER.fullmatch(part) for part in parts):
        raise ValueError(f"{host} is neither a host name nor an IPv4 address")
    *head, last = [_number(part) for part in parts]
    if any(number > 255 for number in head) or last >= 256 ** (5 - len(parts)):
        raise ValueError(f"{host} is not an IPv4 address: a part is out of range")
    value = last
    for position, number in enumerate(head):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)  # ValueError for 08 and 09, as inet_aton
    return int(part)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches: IPv4-mapped, NAT64 (64:ff9b::/96), 6to4, Teredo's client,
    IPv4-compatible; None for the others."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def non_public_kind(address: IPAddress) -> str | None:
    """What makes an address not public (`loopback`, `link-local`, `private`, ...), None when it is public.

    Public: globally reachable (IANA's special-purpose registries, as the ipaddress module holds them), and neither
    multicast nor site-local; an IPv6 address that carries an IPv4 address is no more public than that one.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            kind = non_public_kind(embedded)
            if kind is not None:
                return f"{kind} (IPv4 {embedded} inside IPv6)"
            if address in _IPV4_MAPPED or address in _NAT64:
                return None  # these forms reach exactly their IPv4 address, which is public
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"  # where clouds' metadata services answer
    if address.is_multicast:
        return "multicast"
    if address in _SHARED:
        return "shared (carrier-grade NAT)"
    if address.is_reserved:
        return "reserved"
    if any(address in network for network in _PRIVATE):
        return "private"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if not address.is_global:
        return "special-purpose (not globally reachable)"
    return None


def parse_networks(networks: Iterable[str], setting: str) -> tuple[IPNetwork, ...]:
    """Networks in CIDR notation (`10.20.0.0/16`, `fd00::/8`, a single address); ConfigurationError naming `setting` and
    the first one that is none, or whose host bits are set (a typo more often than not)."""
    parsed = []
    for text in networks:
        try:
            parsed.append(ipaddress.ip_network(text.strip()))
        except ValueError as error:
            raise ConfigurationError(f"{setting} {text}: {error}; write a network such as 10.20.0.0/16 or fd00::/8") from None
    return tuple(parsed)


@dataclass(frozen=True)
class AddressGuard:
    """The addresses outbound calls may reach: public ones, and those in the networks an operator allowed."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be reached (e.g. "a loopback address"), None when it may."""
        kind = non_public_kind(address)
        if kind is None:
            return None
        judged = (address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else address
        if any(judged in network for network in self.allowed_networks):
            return None
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"

    def resolve(self, host: str, port: int, resolver: Resolver = socket.getaddrinfo) -> list[tuple[int, Any]]:
        """The (family, socket address) pairs to connect to for `host`, in the resolver's order, once every address it
        resolves to is permitted (one that is not may be the one a client would reach).

        RefusedAddress naming the first address that is not permitted; OSError (socket.gaierror) when the name does not
        resolve.
        """
        found: list[tuple[int, Any]] = []
        for family, _type, _proto, _name, sockaddr in resolver(host, port, type=socket.SOCK_STREAM):
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = ipaddress.ip_address(sockaddr[0])
            refusal = self.refusal(address)
            if refusal is not None:
                raise RefusedAddress(f"{host} resolves to {address}, {refusal}")
            if (family, sockaddr) not in found:
                found.append((family, sockaddr))
        if not found:
            raise RefusedAddress(f"{host} resolves to no IPv4 or IPv6 address")
        return found
