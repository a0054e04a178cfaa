"""The rules of a URL an outbound call may be sent to, and the parts it is sent in."""

from __future__ import annotations

import ipaddress

import pytest

from autoscale.outbound_url import OutboundUrl, UnsafeUrl, parse_outbound_url


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://hooks.example.com/alarm", OutboundUrl("https", "hooks.example.com", 443, "hooks.example.com", "/alarm", None)),
        ("HTTP://Hooks.Example.COM:8080", OutboundUrl("http", "hooks.example.com", 8080, "hooks.example.com:8080", "/", None)),
        ("https://h.example/a/b?x=1&y=%20#frag", OutboundUrl("https", "h.example", 443, "h.example", "/a/b?x=1&y=%20", None)),
        ("http://xn--bcher-kva.example/", OutboundUrl("http", "xn--bcher-kva.example", 80, "xn--bcher-kva.example", "/", None)),
        ("http://0x7f.1:8080/x", OutboundUrl("http", "127.0.0.1", 8080, "0x7f.1:8080", "/x", ipaddress.ip_address("127.0.0.1"))),
        ("http://[::1]:9/", OutboundUrl("http", "::1", 9, "[::1]:9", "/", ipaddress.ip_address("::1"))),
        ("http://[fe80::1%25eth0]/",
         OutboundUrl("http", "fe80::1%eth0", 80, "[fe80::1%25eth0]", "/", ipaddress.ip_address("fe80::1%eth0"))),
    ],
)
def test_a_url_that_keeps_the_rules_gives_the_parts_it_is_sent_in(url, parts):
    assert parse_outbound_url(url) == parts


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://hooks.example/a\r\nX-Injected: 1", "control characters"),
        ("http://hooks.example/\n", "control characters"),
        ("http://hooks.example/a b", "without spaces"),
        ("http://hooks.example/\t", "control characters"),
        ("http://hooks.example/é", "printable ASCII"),
        ("http://hooks.example\\@127.0.0.1/", "backslashes"),
        ("ftp://hooks.example/", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://127.0.0.1:6379/_INFO", "http or https"),
        ("http:/hooks.example/", "http or https"),
        ("http://user:secret@hooks.example/", "credentials"),
        ("http://hooks.example:80@127.0.0.1/", "credentials"),
        ("http:///path", "must name a host"),
        ("http://:80/", "must name a host"),
        ("http://hooks.example:0/", "port from 1 to 65535"),
        ("http://hooks.example:65536/", "port from 1 to 65535"),
        ("http://hooks.example:http/", "port from 1 to 65535"),
        ("http://%31%32%37.0.0.1/", "must name a host"),
        ("http://1.2.3.4.5/", "must name a host"),
        ("http://hooks..example/", "must name a host"),
        ("http://[::1/", "must name a host"),
        ("http://[::1]x/", "only a port"),
        ("http://[127.0.0.1]/", "must name a host"),
        ("http://[v1.x]/", "not an IPv6 address"),
        ("http://" + "a." * 130 + "example/", "must name a host"),
    ],
)
def test_a_url_that_breaks_a_rule_is_refused_saying_which(url, rule):
    with pytest.raises(UnsafeUrl, match=rule):
        parse_outbound_url(url)
