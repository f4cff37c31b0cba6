"""`linkindex report` (one self-contained HTML file) and `linkindex serve` (the local
web UI): parsing and wiring only; the views are report/'s."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from pathlib import Path
from typing import Any

from core.errors import LinkindexError

DEFAULT_PORT = 8765


def add_parsers(sub: Any, data_arg: Any) -> None:
    """The `report` and `serve` subcommands."""
    from linkindex.cli import standard_filter_args

    p = sub.add_parser(
        "report", help="write a target's backlink report: one HTML file that opens offline",
        description="Overview, charts (history, new and lost, anchor mix, domain ranks, "
                    "link kinds, positions, rel) and tables (referring domains, anchors, "
                    "top pages, recent new and lost links, the link gap against --compare), "
                    "each table's whole answer inside as a CSV (docs/report.md).")
    p.add_argument("target", help="a domain, host, URL or URL prefix (see --scope)")
    p.add_argument("--compare", nargs="+", default=[], metavar="OTHER",
                   help="competitors: adds the link gap against them")
    p.add_argument("-o", "--output", type=Path, default=Path("report.html"),
                   metavar="FILE.html", help="where to write it (default: report.html)")
    data_arg(p)
    standard_filter_args(p)

    p = sub.add_parser(
        "serve", help="a local, read-only web UI over the live index",
        description="Serves the report's views for any target, every table sorted, "
                    "filtered and paged on the server, and every query of the catalogue "
                    "with its parameters as form fields (docs/report.md). A new build "
                    "shows on the next request.")
    data_arg(p)
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"the port (default {DEFAULT_PORT}; 0: any free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only)")


def cmd_report(args: argparse.Namespace) -> int:
    from linkindex.cli import filters_of
    from report.html import write_report
    from report.profile import ViewRequest

    if args.output.suffix.lower() not in (".html", ".htm"):
        raise LinkindexError(f"-o {args.output}: the report is HTML: name a .html file")
    request = ViewRequest(args.target, args.scope, filters_of(args), tuple(args.compare))
    size = write_report(args.data, request, args.output)
    print(f"wrote the report of {args.target} to {args.output} ({size / 1e6:.1f} MB, "
          "self-contained: open it in any browser, offline)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from queries.live import resolve
    from report.web import LOOPBACK_HOSTS, make_app

    resolve(args.data)  # no index: one line now, not an error page later
    listener = _listen(args.host, args.port)
    host, port = listener.getsockname()[:2]
    loopback = _is_loopback(args.host)
    app = make_app(args.data, allowed_hosts=list(LOOPBACK_HOSTS) if loopback else ["*"])
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {args.store if getattr(args, 'store', None) else args.data} "
          f"read-only on http://{shown}:{port}/ (Ctrl-C stops it)", flush=True)
    if not loopback:
        print(f"note: listening on {args.host}: reachable from other machines", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[listener])
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, or one clear line (port taken, no such address)."""
    if not 0 <= port <= 65535:
        raise LinkindexError(f"bad port {port}: use 0 to 65535")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        raise LinkindexError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener
