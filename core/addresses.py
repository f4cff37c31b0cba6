"""Which addresses the crawler may reach: public ones only, unless explicitly allowed.

A crawler that follows links from arbitrary pages must not become a way into the
network it runs in (cloud metadata at 169.254.169.254, admin panels on 10.x, ...).

Two gaps the standard library leaves, both closed here:
- Spellings. Resolvers and proxies read a host the way `inet_aton` does: `2130706433`,
  `0x7f000001`, `127.1`, `0177.0.0.1` and `0x7f.1` are all 127.0.0.1. Such a host is
  parsed with the WHATWG URL standard's IPv4 parser (ada, the parser browsers and
  Node use) instead of being taken for a name.
- Ranges. Python 3.11's `is_global` misses some special-purpose blocks (192.0.0.8) and
  IPv4 embedded in IPv6 (`::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). Here a
  public address is one outside every block of IANA's IPv4 and IPv6 Special-Purpose
  Address Registries (and multicast, and for IPv6 outside 2000::/3 global unicast),
  whatever the registry says of the block's global reachability: a crawler has no
  business with anycast relays, translators or documentation space.
"""

from __future__ import annotations

import ipaddress
import re

import ada_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# IANA IPv4 Special-Purpose Address Registry (and the multicast block), with reasons.
SPECIAL_IPV4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "'this network'"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared (carrier-grade NAT)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.31.196.0/24"), "AS112"),
    (_V4("192.52.193.0/24"), "AMT"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("192.175.48.0/24"), "AS112 direct delegation"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),
    (_V4("255.255.255.255/32"), "broadcast"),
)
# IANA IPv6 Special-Purpose Address Registry, plus what lies outside 2000::/3.
SPECIAL_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/8"), "reserved (loopback, unspecified, IPv4-compatible or -mapped)"),
    (_V6("64:ff9b::/96"), "NAT64 (embeds IPv4)"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64"),
    (_V6("100::/64"), "discard-only"),
    (_V6("100:0:0:1::/64"), "dummy prefix"),
    (_V6("2001::/23"), "IETF protocol assignments (Teredo, ORCHID, ...)"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("2002::/16"), "6to4 (embeds IPv4)"),
    (_V6("2620:4f:8000::/48"), "AS112 direct delegation"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "SRv6 SIDs"),
    (_V6("fc00::/7"), "unique-local (private)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
)
_GLOBAL_UNICAST = _V6("2000::/3")

# A host whose last label is a number (decimal, 0x-hex or octal) is an IPv4 address to
# a resolver, however it is spelled (WHATWG URL: "ends in a number").
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")


class BadAddress(ValueError):
    """A host spelled as a number that is no valid address (e.g. 1.2.3.4.5)."""


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 address in standard notation (brackets allowed).

    This is identity (a host that is an address has no registrable domain); for safety
    checks use `parse_address`, which also reads every other spelling.
    """
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def parse_address(host: str) -> IPAddress | None:
    """The address a resolver would take `host` for, or None when it is a name.

    Raises BadAddress for a numeric host that no spelling makes valid.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if ":" in text:
        raise BadAddress(f"{host} is not a valid IPv6 address")
    label = text[:-1] if text.endswith(".") else text
    if not _NUMERIC_LABEL.match(label.rpartition(".")[2]):
        return None
    try:
        canonical = ada_url.URL(f"http://{label}/").hostname
        return ipaddress.IPv4Address(canonical)
    except ValueError:
        raise BadAddress(f"{host} is not a valid IPv4 address") from None


def special_purpose(address: IPAddress) -> str | None:
    """Why `address` is not public (the special-purpose block it is in), or None."""
    if isinstance(address, ipaddress.IPv4Address):
        for network, reason in SPECIAL_IPV4:
            if address in network:
                return reason
        return None
    if address.scope_id:
        return "scoped (zone id)"
    for network, reason in SPECIAL_IPV6:
        if address in network:
            return reason
    if address not in _GLOBAL_UNICAST:
        return "not global unicast"
    return None


def is_public_ip(value: str) -> bool:
    """True for a publicly routable IP address (any spelling); False for anything else."""
    try:
        address = parse_address(value)
    except BadAddress:
        return False
    return address is not None and special_purpose(address) is None


def refusal_reason(host: str) -> str | None:
    """Why a host is refused without DNS (`127.1 is loopback`), or None if it may pass.

    Names other than localhost pass here; they are checked after resolution
    (crawler/resolver.py, and crawler/middlewares.py when a proxy resolves them).
    """
    name = host.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return f"{host} is loopback"
    try:
        address = parse_address(host)
    except BadAddress as exc:
        return str(exc)
    if address is None:
        return None
    reason = special_purpose(address)
    if reason is None:
        return None
    shown = str(address)
    return f"{host} is {reason}" if shown == host.strip("[]") else f"{host} ({shown}) is {reason}"


def refused_host(host: str) -> bool:
    """True when a host is known, without DNS, to be non-public."""
    return refusal_reason(host) is not None
