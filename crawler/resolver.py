"""A DNS resolver that refuses names resolving to private addresses."""

from __future__ import annotations

import json
from typing import Any

from scrapy.resolver import CachingThreadedResolver

from core.addresses import is_ip_literal, is_public_ip, parse_address, special_purpose
from crawler.failures import PrivateAddressResolved


class PublicOnlyResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing non-public answers unless allowed.

    Scrapy 2.19 builds the resolver from the *process* settings, before any spider
    argument is seen, so the policy is a class attribute that the crawler-level
    PrivateAddressMiddleware sets from LINKINDEX_ALLOW_PRIVATE.
    IP literals are not names: a target's literal is checked by that middleware, and a
    proxy's literal is the user's own choice.
    """

    allow_private = False
    # LINKINDEX_RESOLVE: names answered from the setting, not DNS (see static_addresses).
    static: dict[str, str] = {}

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802 (Twisted API)
        if name.lower() in PublicOnlyResolver.static:
            from twisted.internet import defer

            d = defer.succeed(PublicOnlyResolver.static[name.lower()])
        else:
            d = super().getHostByName(name, timeout)
        if not PublicOnlyResolver.allow_private and not is_ip_literal(name):
            d.addCallback(_refuse_private, name)
        return d


def static_addresses(value: Any) -> dict[str, str]:
    """LINKINDEX_RESOLVE as {host: address}: a dict, or its JSON text (`-s` gives text).
    Anything else, or an entry whose address is not an IP address, raises ValueError
    naming it."""
    if not value:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise ValueError('bad LINKINDEX_RESOLVE: use a JSON object of host names and '
                         'addresses, e.g. {"example.com": "203.0.113.7"}')
    out: dict[str, str] = {}
    for host, address in value.items():
        parsed = parse_address(str(address).strip())
        if not str(host).strip() or parsed is None:
            raise ValueError(f"bad LINKINDEX_RESOLVE entry {str(host)!r}: {str(address)!r} "
                             'is not an IP address, e.g. {"example.com": "203.0.113.7"}')
        out[str(host).strip().lower()] = str(parsed)
    return out


def _refuse_private(address: str, name: str) -> str:
    if not is_public_ip(address):
        parsed = parse_address(address)
        why = (special_purpose(parsed) if parsed is not None else None) or "not public"
        raise PrivateAddressResolved(f"{name} resolves to {address} ({why})")
    return address
