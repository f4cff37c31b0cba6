"""8-byte URL fingerprints and the two seen-filter encodings.

The crawler's URLs are already normalised (core.urls), so the fingerprint is a hash
of the URL alone: blake2b, 8 bytes. The same function is Scrapy's request
fingerprinter in cluster mode (REQUEST_FINGERPRINTER_CLASS), so the dupefilter and the
batch path agree.

Exact mode keeps each fingerprint in a Redis set chosen by its top bits, holding the
remaining bits as an integer: small sets of integers are Redis "intsets", 8 bytes per
member, instead of ~80 bytes per string member in one big set. With 2^b sets sized so
each holds ~256 members (Redis converts an intset above 512 members), the cost is
about 8.5 bytes per URL. False positives: none beyond 64-bit collisions (~n²/2^65,
3e-4 at 100M URLs).

Bloom mode keeps one bitmap of m bits with k positions per URL, sized for n expected
URLs and false-positive rate p: m = -n·ln p / (ln 2)², k = (m/n)·ln 2 — 1.8 bytes per
URL at p = 0.1%, at most 2^32 bits (512 MB, one Redis string) per shard.

Scalable mode is a scalable Bloom filter (Almeida et al. 2007), worked out in Lua
(scripts/_common.lua): layers, each a bitmap, the first sized for the expected URLs at
p/2, each next one for twice as many at half the error rate, so it grows past any size
at a false-positive rate under p. Here it needs only the fingerprint's two halves.

A false positive means a URL never fetched, so exact is the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from crawler.frontier.defaults import BLOOM_MAX_BITS, SCALABLE_GROWTH, SCALABLE_TIGHTENING


def fingerprint(url: str) -> bytes:
    return blake2b(url.encode("utf-8", "surrogateescape"), digest_size=8).digest()


class UrlFingerprinter:
    """Scrapy REQUEST_FINGERPRINTER_CLASS: the URL's 8-byte fingerprint."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> UrlFingerprinter:
        return cls()

    def fingerprint(self, request: Any) -> bytes:
        return fingerprint(request.url)


@dataclass(frozen=True)
class SeenFilter:
    """How a job encodes fingerprints: fixed when the job is submitted."""

    mode: str = "exact"  # or "bloom" or "scalable"
    bucket_bits: int = 16  # exact: 2^bits sets
    bloom_bits: int = 0  # bloom: m
    bloom_hashes: int = 0  # bloom: k
    layer_capacity: int = 0  # scalable: URLs in the first layer
    layer_error_rate: float = 0.0  # scalable: the first layer's false-positive rate

    @classmethod
    def sized(cls, mode: str, expected_urls: int, error_rate: float) -> SeenFilter:
        expected_urls = max(1, expected_urls)
        if mode == "exact":
            bits = math.ceil(math.log2(max(2, expected_urls / 256)))
            return cls("exact", bucket_bits=min(max(bits, 4), 24))
        if mode == "bloom":
            if not 0 < error_rate < 1:
                raise ValueError("the Bloom filter's error rate must be between 0 and 1")
            m = math.ceil(-expected_urls * math.log(error_rate) / math.log(2) ** 2)
            if m > BLOOM_MAX_BITS:
                raise ValueError("Bloom filter over 512 MB per shard (Redis's string limit): "
                                 "use --seen scalable, or more --shards")
            k = max(1, round(m / expected_urls * math.log(2)))
            return cls("bloom", bloom_bits=m, bloom_hashes=k)
        if mode == "scalable":
            if not 0 < error_rate < 1:
                raise ValueError("the Bloom filter's error rate must be between 0 and 1")
            return cls("scalable", layer_capacity=expected_urls,
                       layer_error_rate=error_rate * (1 - SCALABLE_TIGHTENING))
        raise ValueError(f"seen filter mode must be exact, bloom or scalable, not {mode!r}")

    @property
    def bytes_per_url_at_capacity(self) -> float:
        if self.mode == "scalable":
            p = self.layer_error_rate
            return -math.log(p) / math.log(2) ** 2 / 8
        if self.mode == "bloom":
            return self.bloom_bits / 8 / max(1, self._capacity)
        return 8.5

    @property
    def _capacity(self) -> int:
        # n for which m, k were chosen: invert m = n·k/ln 2
        return round(self.bloom_bits * math.log(2) / max(1, self.bloom_hashes))

    def false_positive_rate(self, n: int) -> float:
        if self.mode == "exact":
            return n * n / 2**65
        if self.mode == "scalable":  # the bound: the layers' rates sum to under 2·p0
            return self.layer_error_rate / (1 - SCALABLE_TIGHTENING)
        m, k = self.bloom_bits, self.bloom_hashes
        return (1 - math.exp(-k * n / m)) ** k

    def encode(self, url: str) -> tuple[str, str]:
        """(seen_a, seen_b) as the add script expects them for this mode."""
        return self.encode_fingerprint(fingerprint(url))

    def encode_fingerprint(self, fp: bytes) -> tuple[str, str]:
        value = int.from_bytes(fp, "big")
        if self.mode == "scalable":  # the positions depend on the layer: worked out in Lua
            return str(value >> 32), str((value & 0xFFFFFFFF) | 1)
        if self.mode == "exact":
            rest = 64 - self.bucket_bits
            return format(value >> rest, "x"), str(value & ((1 << rest) - 1))
        # double hashing (Kirsch–Mitzenmacher) from the two 32-bit halves
        h1, h2 = value >> 32, (value & 0xFFFFFFFF) | 1
        m = self.bloom_bits
        return ",".join(str((h1 + i * h2) % m) for i in range(self.bloom_hashes)), ""

    def as_config(self) -> dict[str, str]:
        return {
            "seen_mode": self.mode,
            "seen_bits": str(self.bucket_bits),
            "bloom_m": str(self.bloom_bits),
            "bloom_k": str(self.bloom_hashes),
            "bloom_cap": str(self.layer_capacity),
            "bloom_p": repr(self.layer_error_rate),
            "bloom_growth": str(SCALABLE_GROWTH),
            "bloom_tightening": repr(SCALABLE_TIGHTENING),
        }

    @classmethod
    def from_config(cls, config: dict[str, str]) -> SeenFilter:
        return cls(
            config.get("seen_mode", "exact"),
            int(config.get("seen_bits", 16)),
            int(config.get("bloom_m", 0)),
            int(config.get("bloom_k", 0)),
            int(config.get("bloom_cap", 0)),
            float(config.get("bloom_p", 0.0)),
        )
