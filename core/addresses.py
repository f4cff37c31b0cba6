"""Which addresses the crawler may reach: public ones only, unless explicitly allowed.

A crawler that follows links from arbitrary pages must not become a way into the
network it runs in (cloud metadata at 169.254.169.254, admin panels on 10.x, ...).
"""

from __future__ import annotations

import ipaddress


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 address (brackets allowed), False for a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_public_ip(value: str) -> bool:
    """True for a globally routable IP address literal."""
    address = ipaddress.ip_address(value.strip("[]"))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def refused_host(host: str) -> bool:
    """True when a host is known, without DNS, to be private: a non-public IP or localhost.

    Names are checked again after resolution (crawler.resolver).
    """
    if host == "localhost" or host.endswith(".localhost"):
        return True
    return is_ip_literal(host) and not is_public_ip(host)
