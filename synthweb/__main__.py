"""``python -m synthweb``: serve a synthetic web in the foreground as an HTTP proxy."""

from __future__ import annotations

import argparse

from synthweb.server import serve_forever
from synthweb.web import SyntheticWeb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m synthweb", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for a free one")
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--pages", type=int, default=20, help="pages per site")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--links", type=int, default=12, help="links per page")
    parser.add_argument("--filler", type=int, default=0, help="filler text bytes per page")
    parser.add_argument("--access-log", action="store_true", help="print every request")
    args = parser.parse_args(argv)
    web = SyntheticWeb(args.sites, args.pages, args.seed, args.links, args.filler)
    serve_forever(web, args.host, args.port, access_log=args.access_log)


if __name__ == "__main__":
    main()
