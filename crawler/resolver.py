"""A DNS resolver that refuses names resolving to private addresses."""

from __future__ import annotations

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

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802 (Twisted API)
        d = super().getHostByName(name, timeout)
        if not PublicOnlyResolver.allow_private and not is_ip_literal(name):
            d.addCallback(_refuse_private, name)
        return d


def _refuse_private(address: str, name: str) -> str:
    if not is_public_ip(address):
        parsed = parse_address(address)
        why = (special_purpose(parsed) if parsed is not None else None) or "not public"
        raise PrivateAddressResolved(f"{name} resolves to {address} ({why})")
    return address
