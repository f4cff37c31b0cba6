"""The `query` and `export` flags for a query's own options (``queries.options``).

Each flag sets one named parameter of the query's macro; a flag is refused, in one line,
when the query named does not take its option (``linkindex queries`` lists the queries;
each one's SQL header lists its options). Values are read and checked here, so a bad
one is an error naming the flag.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from core.errors import LinkindexError

# Each option and its flags (the first is the one an error names).
OPTION_FLAGS: dict[str, tuple[str, ...]] = {
    "brands": ("--brand",),
    "keywords": ("--keyword", "--keywords-file"),
    "group_similar": ("--group-similar",),
    "seen_since": ("--seen-since",),
    "seen_until": ("--seen-until",),
    "seen_field": ("--seen-field",),
    "anchor_contains": ("--anchor-contains",),
    "src_tld": ("--src-tld",),
    "min_domain_rank": ("--min-domain-rank",),
    "src_lang": ("--src-lang",),
    "sitewide": ("--sitewide",),
    "with_relevance": ("--relevance",),
    "with_graph": ("--with-graph",),
}
SITEWIDE = {"yes": True, "no": False}  # --sitewide yes: only sitewide links; no: none
SEEN_FIELDS = ("first_seen", "last_seen")  # the link dates --seen-since/--seen-until compare


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags, on `query` and `export` (docs/anchors.md, README "Queries")."""
    anchors = "anchors, anchor_mix, backlinks: "
    parser.add_argument("--brand", action="append", metavar="NAME",
                        help=anchors + "a brand name besides the target's own, for the "
                                       "anchor classes (repeatable)")
    parser.add_argument("--keyword", action="append", metavar="PHRASE",
                        help=anchors + "a keyword, for the exact and partial anchor classes "
                                       "(repeatable)")
    parser.add_argument("--keywords-file", metavar="FILE",
                        help=anchors + "keywords from a file, one per line")
    links = "backlinks, referring_domains: only links "
    parser.add_argument("--group-similar", action="store_true",
                        help="backlinks: one link per referring domain, its best (highest "
                             "src_page_rank, then dofollow, then src_url)")
    parser.add_argument("--seen-since", metavar="DATE",
                        help=links + "first seen (see --seen-field) at or after DATE")
    parser.add_argument("--seen-until", metavar="DATE",
                        help=links + "first seen (see --seen-field) before DATE")
    parser.add_argument("--seen-field", metavar="FIELD",
                        help="the date --seen-since / --seen-until compare: first_seen "
                             "(default) or last_seen")
    parser.add_argument("--anchor-contains", metavar="TEXT",
                        help=links + "whose anchor (an image's alt text) contains TEXT, "
                                     "upper and lower case alike")
    parser.add_argument("--src-tld", metavar="SUFFIX",
                        help=links + "from domains under SUFFIX: de, co.uk")
    parser.add_argument("--min-domain-rank", metavar="N",
                        help=links + "from domains whose domain rank is at least N (0..100)")
    parser.add_argument("--src-lang", metavar="LANG",
                        help=links + "from pages in this language (<html lang>; en takes "
                                     "en-GB too)")
    parser.add_argument("--relevance", action="store_true",
                        help="backlinks, referring_domains: fill relevance (TF-IDF cosine "
                             "of linking and linked page; reads page_terms: slower)")
    parser.add_argument("--with-graph", choices=("yes", "no"),
                        help="referring_domains, link_gap: also the domains an imported "
                             "Common Crawl web graph knows (yes, the default) or not (no); "
                             "docs/ccgraph.md")
    parser.add_argument("--sitewide", choices=tuple(SITEWIDE),
                        help=links + "sitewide (yes) or not sitewide (no): from most of "
                                     "the source domain's pages (docs/audit.md)")


def query_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options the flags given set, for ``run_query(..., options=)``; one
    LinkindexError line for a flag the query does not take or a bad value."""
    from queries import QUERIES, STANDARD_OPTIONS
    from queries.options import own_options

    spec = QUERIES.get(args.name)
    if spec is not None:  # else run_query names the queries there are
        own = own_options(spec, STANDARD_OPTIONS)
        for option, flags in OPTION_FLAGS.items():
            given = [flag for flag in flags if getattr(args, _dest(flag)) not in (None, False)]
            if given and option not in own:
                theirs = [flag for name in own for flag in OPTION_FLAGS.get(name, ())]
                takes = f"it takes: {', '.join(theirs)}" if theirs else "it takes none"
                raise LinkindexError(f"query {args.name} takes no option {given[0]} ({takes})")
    return _given(args)


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def _given(args: argparse.Namespace) -> dict[str, Any]:
    from queries import parse_moment

    options: dict[str, Any] = {}
    if args.brand:
        options["brands"] = list(args.brand)
    if args.keyword or args.keywords_file:
        options["keywords"] = list(args.keyword or []) + (
            _keywords_file(args.keywords_file) if args.keywords_file else [])
    if args.group_similar:
        options["group_similar"] = True
    for option in ("seen_since", "seen_until"):
        text = getattr(args, option)
        if text is not None:
            options[option] = parse_moment(text, OPTION_FLAGS[option][0])
    if args.seen_field is not None:
        if args.seen_field not in SEEN_FIELDS:
            raise LinkindexError(f"bad --seen-field {args.seen_field!r}: use "
                                 f"{' or '.join(SEEN_FIELDS)}")
        options["seen_field"] = args.seen_field
    if args.anchor_contains is not None:
        options["anchor_contains"] = args.anchor_contains
    if args.src_tld is not None:
        options["src_tld"] = args.src_tld
    if args.min_domain_rank is not None:
        options["min_domain_rank"] = _rank(args.min_domain_rank)
    if args.src_lang is not None:
        options["src_lang"] = args.src_lang
    if args.sitewide is not None:
        options["sitewide"] = SITEWIDE[args.sitewide]
    if args.relevance:
        options["with_relevance"] = True
    if args.with_graph is not None:
        options["with_graph"] = args.with_graph == "yes"
    return options


def _keywords_file(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise LinkindexError(f"cannot read --keywords-file {path}: {why}") from None
    keywords = [line.strip() for line in text.splitlines() if line.strip()]
    if not keywords:
        raise LinkindexError(f"--keywords-file {path} holds no keyword (one per line)")
    return keywords


def _rank(text: str) -> float:
    try:
        rank = float(text)
    except ValueError:
        rank = math.nan
    if not 0 <= rank <= 100:  # NaN too
        raise LinkindexError(f"bad --min-domain-rank {text!r}: use a number from 0 to 100")
    return rank
