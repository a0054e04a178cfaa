"""The URLs an outbound call chosen by a caller (an alarm's webhook) may be sent to, read the one way they are sent.

Checked when the URL is stored and again before each call. Only what reads the same
to every parser passes: printable ASCII without spaces, control characters or
backslashes (CR and LF would split the request; `urllib.parse` silently drops tabs
and newlines; a browser reads `\\` as `/`), http or https, a host, no credentials
(`user:pass@` also hides the real host from readers), a port from 1 to 65535. The
host is a name of letters, digits, `-`, `_` and dots (an international name in its
`xn--` form), an IPv4 literal in any form `autoscale.netguard.ipv4_literal` reads, or
an IPv6 literal in brackets.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from autoscale.netguard import IPAddress, ipv4_literal

MAX_HOST_LENGTH = 253
"""Characters of a host name (DNS's limit)."""

_HOST_NAME = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.?")
_PORT = re.compile(r"[0-9]{1,5}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeUrl(ValueError):
    """A URL that breaks a rule; its message is the rule, for people (e.g. "must not carry credentials (user:password@)")."""


@dataclass(frozen=True)
class OutboundUrl:
    """A URL that keeps the rules, in the parts a call is made of."""

    scheme: str
    """`http` or `https`."""
    host: str
    """What is resolved, and what TLS checks the certificate against: a name in lower case, or the address an IP
    literal names (dotted or colon-separated, without brackets)."""
    port: int
    authority: str
    """The host and port as written (lower case): the Host header."""
    target: str
    """The path and query: the request line's target (`/` for none)."""
    literal: IPAddress | None
    """The address the host is, when it is an IP literal (in whatever form it was written)."""


def parse_outbound_url(url: str) -> OutboundUrl:
    """The parts of `url`; UnsafeUrl saying the rule it breaks."""
    for position, character in enumerate(url):
        if not "!" <= character <= "~" or character == "\\":
            raise UnsafeUrl(
                f"must be printable ASCII without spaces, control characters (CR, LF, tab) or backslashes; "
                f"found {character!r} at {position} (percent-encode it)"
            )
    try:
        parts = urlsplit(url)
    except ValueError as error:  # a bracketed host that is no IPv6 address
        raise UnsafeUrl(f"must name a host: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not url[len(scheme) :].startswith("://"):
        raise UnsafeUrl("must be an http or https URL (https recommended)")
    authority = parts.netloc.lower()
    if "@" in authority:
        raise UnsafeUrl("must not carry credentials (user:password@); receivers verify the X-Autoscale-Signature header instead")
    host, port = _host_and_port(authority, _DEFAULT_PORTS[scheme])
    literal: IPAddress | None
    if host.startswith("["):
        literal = _ipv6_literal(host[1:-1])
        host = str(literal)
    else:
        try:
            literal = ipv4_literal(host)
        except ValueError as error:
            raise UnsafeUrl(f"must name a host: {error}") from None
        if literal is None and (len(host) > MAX_HOST_LENGTH or not _HOST_NAME.fullmatch(host)):
            raise UnsafeUrl(
                "must name a host: letters, digits, '-', '_' and dots (an international name in its xn-- form), "
                "an IPv4 address or an IPv6 address in brackets"
            )
        if literal is not None:
            host = str(literal)  # resolvers disagree on the forms of an IPv4 literal: connect to what was judged
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return OutboundUrl(scheme, host, port, authority, target, literal)


def _host_and_port(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise UnsafeUrl("must close the bracket of its IPv6 address")
        host, rest = authority[: end + 1], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise UnsafeUrl("must have only a port after its IPv6 address")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_found = authority.partition(":")
        port_text = port_text_found if colon else None
    if not host:
        raise UnsafeUrl("must name a host (http(s)://HOST/...)")
    if port_text is None:
        return host, default_port
    if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
        raise UnsafeUrl(f"must have a port from 1 to 65535, got {port_text!r}")
    return host, int(port_text)


def _ipv6_literal(text: str) -> ipaddress.IPv6Address:
    # RFC 6874 writes a zone as %25 (an escaped %); ipaddress reads it after a plain %.
    try:
        return ipaddress.IPv6Address(text.replace("%25", "%", 1))
    except ValueError:
        raise UnsafeUrl(f"must name a host: [{text}] is not an IPv6 address") from None
