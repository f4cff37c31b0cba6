"""The private-address guard: every spelling a resolver accepts, every special range."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from core.addresses import BadAddress, parse_address, refusal_reason, refused_host, special_purpose

# Spellings of private addresses that reached the proxy before (issue 13, item 5).
INET_ATON_SPELLINGS = {
    "2130706433": "127.0.0.1",
    "0x7f000001": "127.0.0.1",
    "127.1": "127.0.0.1",
    "0177.0.0.1": "127.0.0.1",
    "0x7f.1": "127.0.0.1",
    "0": "0.0.0.0",
    "2852039166": "169.254.169.254",
    "0xA9.0xFE.0xA9.0xFE": "169.254.169.254",
    "10.1": "10.0.0.1",
    "192.168.257": "192.168.1.1",
    "127.0.0.1.": "127.0.0.1",
}


@pytest.mark.parametrize("host", sorted(INET_ATON_SPELLINGS))
def test_every_inet_aton_spelling_is_read_as_the_resolver_reads_it(host: str) -> None:
    # The reference is the C library's own inet_aton (what resolvers and proxies use).
    reference = socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
    assert reference == INET_ATON_SPELLINGS[host]
    assert parse_address(host) == ipaddress.IPv4Address(reference)
    assert refused_host(host), host


@pytest.mark.parametrize("host", [
    "[::127.0.0.1]", "[::ffff:0:127.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]",
    "[::ffff:127.0.0.1]", "[::1]", "[::]", "[fe80::1]", "[fc00::1]", "[fd12:3456::1]",
    "[ff02::1]", "[2001:db8::1]", "[2001::1]", "[64:ff9b:1::1]", "[fec0::1]", "[100::1]",
    "[3fff::1]", "[5f00::1]", "[fe80::1%25eth0]",
])
def test_ipv6_special_purpose_and_embedded_ipv4_are_refused(host: str) -> None:
    assert refused_host(host), host


@pytest.mark.parametrize("host", [
    "192.0.0.8", "192.0.0.9", "100.64.0.1", "198.18.0.1", "192.0.2.1", "198.51.100.7",
    "203.0.113.9", "240.0.0.1", "255.255.255.255", "224.0.0.1", "192.88.99.1",
    "192.31.196.1", "192.52.193.1", "192.175.48.1", "127.0.0.1", "10.1.2.3", "172.16.5.5",
    "192.168.0.1", "169.254.169.254", "0.0.0.0", "localhost", "app.localhost", "LOCALHOST.",
])
def test_ipv4_special_purpose_and_localhost_are_refused(host: str) -> None:
    assert refused_host(host), host


@pytest.mark.parametrize("host", [
    "8.8.8.8", "1.1.1.1", "example.com", "[2606:4700::1111]", "93.184.216.34",
    "192.0.1.1", "100.128.0.1", "172.32.0.1", "xn--bcher-kva.example", "1a.example",
    "example.123abc",
])
def test_public_addresses_and_names_pass(host: str) -> None:
    assert not refused_host(host), host


def test_names_are_not_addresses_and_bad_numbers_are_refused() -> None:
    assert parse_address("example.com") is None
    assert parse_address("0x1g") is None  # not a number: a (strange) name
    for host in ("1.2.3.4.5", "999999999999", "256.256.256.256", "0x100000000"):
        with pytest.raises(BadAddress):
            parse_address(host)
        assert refused_host(host), host


def test_reasons_name_the_range_and_the_canonical_address() -> None:
    assert refusal_reason("2852039166") == "2852039166 (169.254.169.254) is link-local"
    assert refusal_reason("10.0.0.1") == "10.0.0.1 is private"
    assert refusal_reason("example.com") is None
    assert special_purpose(ipaddress.ip_address("2606:4700::1111")) is None
    # Outside 2000::/3 is not global unicast even where no registry block names it.
    assert special_purpose(ipaddress.ip_address("4000::1")) == "not global unicast"
