"""Which addresses an outbound call may reach, however they are written (no sockets: the resolver is a stand-in)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from autoscale.config import ConfigurationError
from autoscale.netguard import AddressGuard, RefusedAddress, ipv4_literal, non_public_kind, parse_networks


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("169.254.169.254.", "169.254.169.254"),
        ("0xA9.0xFE.0xA9.0xFE", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_every_form_of_an_ipv4_literal_reads_as_the_address_resolvers_read(host, address):
    assert ipv4_literal(host) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize("host", ["hooks.example.com", "localhost", "1.example", "x1", "example.com."])
def test_a_host_name_is_no_ipv4_literal(host):
    assert ipv4_literal(host) is None


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.16777216", "08", "0x1z.1", "a.1", "1..2", "4294967296"])
def test_a_host_ending_in_a_number_that_is_no_ipv4_address_is_refused(host):
    with pytest.raises(ValueError):
        ipv4_literal(host)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "shared"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("fec0::1", "site-local"),
        ("192.0.2.1", "special-purpose"),
        ("2001:db8::1", "special-purpose"),
        ("::ffff:127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private (IPv4 10.0.0.1 inside IPv6)"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::1", "loopback (IPv4 127.0.0.1 inside IPv6)"),
        ("2002:a00:1::1", "private (IPv4 10.0.0.1 inside IPv6)"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback (IPv4 127.0.0.1 inside IPv6)"),
        ("::127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)"),
    ],
)
def test_addresses_that_are_not_public_say_what_they_are(address, kind):
    found = non_public_kind(ipaddress.ip_address(address))
    assert found is not None and found.startswith(kind)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "203.0.114.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
                                     "2002:808:808::1"])
def test_public_addresses_are_public_in_every_form(address):
    assert non_public_kind(ipaddress.ip_address(address)) is None


def test_an_operator_allowed_network_is_permitted_and_nothing_beyond_it():
    guard = AddressGuard(parse_networks(["127.0.0.0/8", "fd00::/8"], "--webhook-allow"))
    assert guard.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert guard.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert guard.refusal(ipaddress.ip_address("fd12::1")) is None
    assert guard.refusal(ipaddress.ip_address("169.254.169.254")) == "a link-local address"
    assert guard.refusal(ipaddress.ip_address("::1")) == "a loopback address"


@pytest.mark.parametrize("network", ["10.0.0.1/8", "10.0.0.0/33", "localhost", ""])
def test_a_network_that_is_none_is_a_configuration_error_naming_the_setting_and_the_value(network):
    with pytest.raises(ConfigurationError, match=f"--webhook-allow {network}"):
        parse_networks([network], "--webhook-allow")


def _resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host, port, type=0):  # type: ignore[no-untyped-def]
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (address, port, 0, 0) if ":" in address else (address, port))
            for address in answers[host]
        ]

    return resolve


def test_a_name_is_refused_when_any_address_it_resolves_to_is_not_permitted():
    resolver = _resolver({"rebind.example": ["93.184.216.34", "127.0.0.1"], "meta.example": ["169.254.169.254"]})
    with pytest.raises(RefusedAddress, match="rebind.example resolves to 127.0.0.1, a loopback address"):
        AddressGuard().resolve("rebind.example", 443, resolver)
    with pytest.raises(RefusedAddress, match="link-local"):
        AddressGuard().resolve("meta.example", 80, resolver)


def test_a_name_resolving_to_public_addresses_gives_each_once_in_the_resolver_s_order():
    resolver = _resolver({"hooks.example": ["93.184.216.34", "2606:2800:220:1::1", "93.184.216.34"]})
    assert AddressGuard().resolve("hooks.example", 443, resolver) == [
        (socket.AF_INET, ("93.184.216.34", 443)), (socket.AF_INET6, ("2606:2800:220:1::1", 443, 0, 0)),
    ]


def test_a_name_that_does_not_resolve_is_an_os_error():
    with pytest.raises(OSError):
        AddressGuard().resolve("nowhere.example", 80, _resolver({}))
