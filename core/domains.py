"""Registrable domains from tldextract's bundled Public Suffix List, offline.

The default TLDExtract tries the network (with no timeout) before its bundled
snapshot; we build it with no suffix-list URLs and no cache so it never does.
Policy: ICANN section only (private suffixes such as blogspot.com are not split).
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from importlib import metadata, resources

import tldextract

from core.addresses import is_ip_literal

PSL_POLICY = "icann"


@cache
def _extractor() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
    )


@lru_cache(maxsize=1 << 16)
def registrable_domain(host: str) -> str:
    """The registrable domain of a normalised host (see core.urls.normalize_host).

    An IP address or a single-label host is its own domain. A host under a suffix the
    list does not know gets the PSL's implicit "*" rule: the last label is the suffix.
    """
    if not host or is_ip_literal(host) or "." not in host:
        return host
    result = _extractor()(host)
    domain = result.top_domain_under_public_suffix
    if domain:
        return domain
    if result.suffix:  # the host is itself a public suffix (e.g. "co.uk")
        return host
    labels = host.split(".")
    return ".".join(labels[-2:])


@cache
def psl_snapshot() -> dict[str, str]:
    """What the manifest records about the Public Suffix List in force."""
    data = resources.files("tldextract").joinpath(".tld_set_snapshot").read_bytes()
    return {
        "source": "tldextract bundled snapshot",
        "tldextract_version": metadata.version("tldextract"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "policy": PSL_POLICY,
    }
