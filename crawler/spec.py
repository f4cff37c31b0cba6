"""What a crawl is asked to do: one typed spec, one set of defaults, one validation.

`linkindex crawl`, `scrapy crawl links -a …`, the LINKINDEX_* settings and a cluster job
(`linkindex job submit`) all describe a crawl with a `CrawlSpec`; building one checks it,
so each of them rejects bad seeds and limits with the same one-line message.

    seeds, scope, max_depth, max_pages, max_pages_per_domain
        the crawl; also Scrapy settings LINKINDEX_<FIELD> (`to_settings`, `from_settings`)
    delay, max_crawl_delay, margin, max_attempts, robots, seen_mode, expected_urls,
    bloom_error_rate, shards
        a cluster job's frontier options, kept in Redis with the job (crawler.frontier)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import LinkindexError
from crawler.frontier import defaults
from crawler.frontier.fingerprint import SeenFilter

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

CRAWL_SCOPES = ("seed-domains", "any")  # the seeds' registrable domains, or anywhere
LIMITS = ("max_depth", "max_pages", "max_pages_per_domain")
SEEDS_FILE_SETTING = "LINKINDEX_SEEDS_FILE"  # read into LINKINDEX_SEEDS by from_settings
_SETTING = {"setting": True}  # field metadata: also the Scrapy setting LINKINDEX_<FIELD>
# Links followed from a seed, at most, unless told otherwise: an endless chain of pages
# (a calendar's "next month", session ids in URLs) must end without the user's help.
# Real sites' pages lie a few clicks from the home page; 50 leaves room for long archives.
DEFAULT_MAX_DEPTH = 50


@dataclass(frozen=True)
class CrawlSpec:
    """A crawl, checked when built: a LinkindexError names the first thing wrong."""

    seeds: Sequence[str] = field(default=(), metadata=_SETTING)  # kept as a tuple, normalised
    scope: str = field(default=CRAWL_SCOPES[0], metadata=_SETTING)
    max_depth: int | None = field(default=DEFAULT_MAX_DEPTH, metadata=_SETTING)
    max_pages: int | None = field(default=None, metadata=_SETTING)
    max_pages_per_domain: int | None = field(default=None, metadata=_SETTING)
    delay: float = defaults.DELAY_SECONDS
    max_crawl_delay: float = defaults.MAX_CRAWL_DELAY_SECONDS  # longer Crawl-delay: skipped
    margin: float = defaults.MARGIN_SECONDS
    max_attempts: int = defaults.MAX_ATTEMPTS
    robots: bool = True
    seen_mode: str = defaults.SEEN_MODE
    expected_urls: int = defaults.EXPECTED_URLS
    bloom_error_rate: float = defaults.BLOOM_ERROR_RATE
    shards: int = defaults.SHARDS  # frontier shards (one Redis Cluster slot each)

    def __post_init__(self) -> None:
        """The one validation: seeds normalised and de-duplicated, then every check."""
        from crawler.seeds import parse_seeds  # URL parsing: loaded when needed (CLI start-up)

        seeds = parse_seeds([self.seeds] if isinstance(self.seeds, str) else self.seeds)
        object.__setattr__(self, "seeds", tuple(seeds))
        if not self.seeds:
            raise LinkindexError("no seed URLs: give at least one URL or a seeds file")
        if self.scope not in CRAWL_SCOPES:
            raise LinkindexError(f"scope must be one of {', '.join(CRAWL_SCOPES)}")
        for name in LIMITS:
            if (getattr(self, name) or 0) < 0:
                raise LinkindexError(f"{option(name)} must not be negative")
        if self.delay < 0 or self.max_attempts < 1:
            raise LinkindexError("--delay must be ≥ 0 and max attempts ≥ 1")
        if not self.max_crawl_delay >= 0:  # NaN too
            raise LinkindexError("--max-crawl-delay must not be negative")
        if not 1 <= self.shards <= defaults.MAX_SHARDS:
            raise LinkindexError(f"--shards must be between 1 and {defaults.MAX_SHARDS}")
        if self.shards > 1 and self.max_pages is not None:
            # Each shard counts its own pages in one script; a job-wide cap would need a
            # counter every shard's script touches, which Redis Cluster cannot do atomically.
            raise LinkindexError("--max-pages needs --shards 1 (a page cap is one counter); "
                                 "--max-pages-per-domain works with any number of shards")
        self.seen_filter()

    @classmethod
    def read(cls, seeds: Iterable[str] = (), seeds_file: str | Path | None = None,
             **options: Any) -> CrawlSpec:
        """Seed URLs given and those of a seeds file (one per line, '#' comments)."""
        from crawler.seeds import read_seeds_file

        urls = list(seeds) + (read_seeds_file(seeds_file) if seeds_file else [])
        return cls(tuple(urls), **options)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CrawlSpec:
        """From command-line options (`vars(argparse.Namespace)`): `seeds`, `seeds_file`
        and any field; other names are not the spec's and are ignored."""
        given = {f.name: options[f.name] for f in fields(cls) if f.name in options}
        return cls.read(given.pop("seeds", ()), options.get("seeds_file"), **given)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CrawlSpec:
        """From the LINKINDEX_* settings (strings too, as `-s` and `-a` give them)."""
        options: dict[str, Any] = {
            "seeds": settings.getlist(SETTINGS["seeds"]),
            "seeds_file": settings.get(SEEDS_FILE_SETTING),
            "scope": settings.get(SETTINGS["scope"]),
        }
        options.update({name: setting_int(settings, SETTINGS[name]) for name in LIMITS})
        return cls.from_options(options)

    def to_settings(self) -> dict[str, Any]:
        """The LINKINDEX_* settings of this crawl (its seeds read and normalised)."""
        values = {name: getattr(self, name) for name in SETTINGS}
        values["seeds"] = list(self.seeds)
        return {setting: values[name] for name, setting in SETTINGS.items()}

    def scope_domains(self) -> set[str] | None:
        """The registrable domains a crawl may follow links into; None: anywhere."""
        if self.scope != "seed-domains":
            return None
        from core.domains import registrable_domain  # tldextract: loaded when needed
        from core.urls import url_host

        return {registrable_domain(url_host(url)) for url in self.seeds}

    def seen_filter(self) -> SeenFilter:
        """One shard's seen-URL filter: each holds its share of expected_urls."""
        per_shard = -(-self.expected_urls // self.shards)
        try:
            return SeenFilter.sized(self.seen_mode, per_shard, self.bloom_error_rate)
        except ValueError as exc:
            raise LinkindexError(str(exc)) from None


def option(name: str) -> str:
    """A field's command-line option: max_pages → --max-pages."""
    return "--" + name.replace("_", "-")


# Every field's default: the CLI's defaults, crawler/settings.py's and a job's.
DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(CrawlSpec) if f.default is not MISSING
}
# field → Scrapy setting, for the fields a single-process crawl reads from its settings
SETTINGS: dict[str, str] = {
    f.name: f"LINKINDEX_{f.name.upper()}" for f in fields(CrawlSpec) if f.metadata.get("setting")
}


def setting_int(settings: BaseSettings, name: str) -> int | None:
    """A whole-number setting, or None when unset or empty."""
    value = settings.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise LinkindexError(f"{name} must be a whole number, not {value!r}") from None
