"""`linkindex serve`: a local, read-only web UI over the live index (FastAPI).

Pages: ``/`` (a target's profile: the report's header, overview, charts and tables),
``/query`` (any query of the catalogue, its macro's parameters as form fields). Their
tables fill from ``/api/rows`` one page at a time, sorted, searched and paged on the
server (``report.results``); ``/api/csv`` downloads a table's whole answer as the bytes
`linkindex export` writes. Only GET routes exist; every value reaches SQL as a bound
parameter (``run_query``). Each request resolves the live generation again, so a new
build shows on the next request, without a restart.

Why FastAPI: a well-kept ASGI framework (Starlette underneath, run by uvicorn) whose
query-parameter handling, responses and middleware this needs and nothing more.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from core.errors import LinkindexError
from core.storage import Storage
from queries import QUERIES, STANDARD_OPTIONS
from queries.catalogue import column_docs
from queries.export import csv_bytes
from queries.live import LiveIndex
from queries.options import option_type, own_options
from report.html import TableView, asset, render
from report.params import call_from, call_params, view_request_from
from report.profile import call_of, mark_of, view_of
from report.results import QueryCall, page_of, result

__all__ = ["LOOPBACK_HOSTS", "make_app"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# Plotly sets styles inline; nothing else comes from anywhere but this server.
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
_TYPES = {"linkindex.css": "text/css", "linkindex.js": "text/javascript",
          "plotly.min.js": "text/javascript"}


def make_app(data: Path | Storage, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The UI over DATA. `allowed_hosts`: the Host headers answered (default: loopback
    names only, so a web page elsewhere cannot reach it through DNS rebinding)."""
    app = FastAPI(title="linkindex", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware,
                       allowed_hosts=allowed_hosts or list(LOOPBACK_HOSTS))

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        try:
            response = await call_next(request)
        except Exception as exc:  # a bug: one line to the user and to the log, no traceback
            line = f"internal error: {type(exc).__name__}: {exc}"
            print(f"linkindex serve: {request.url.path}: {line}", file=sys.stderr, flush=True)
            response = (JSONResponse({"error": line}, status_code=500)
                        if request.url.path.startswith("/api/")
                        else HTMLResponse(render("view.html.j2", inline=False, title="linkindex",
                                                 params={}, form=True, view=None, tables=[],
                                                 error=line), status_code=500))
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(template, inline=False, **context), status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def profile(request: Request) -> HTMLResponse:
        params = dict(request.query_params)
        context: dict[str, Any] = {"title": "linkindex", "params": params, "form": True,
                                   "view": None, "tables": [], "error": None}
        if not params.get("target"):
            return page("view.html.j2", **context)
        try:
            view_request = view_request_from(params)
            view = view_of(data, view_request)
            tables = [served_table(data, call_of(view_request, spec), spec.key, spec.title,
                                   spec.note, view.live) for spec in view.tables]
        except LinkindexError as exc:
            return page("view.html.j2", 400, **{**context, "error": str(exc)})
        return page("view.html.j2", **{**context, "title": f"linkindex: {view_request.target}",
                                       "view": view, "tables": tables})

    @app.get("/query", response_class=HTMLResponse)
    def query(request: Request) -> HTMLResponse:
        params = dict(request.query_params)
        name = params.get("name") or "backlinks"
        spec = QUERIES.get(name)
        context: dict[str, Any] = {"title": f"linkindex: {name}", "params": params,
                                   "queries": sorted(QUERIES), "name": name, "spec": spec,
                                   "own": [], "table": None, "error": None}
        if spec is None:
            return page("query.html.j2", 400, **{**context, "name": "",
                                                 "error": f"unknown query {name!r}"})
        context["own"] = [(option, option_type(spec, option), spec.options[option])
                          for option in own_options(spec, STANDARD_OPTIONS)]
        args = _args(spec, params)
        if args is None:
            return page("query.html.j2", **context)
        try:
            call = call_from({**params, "query": name}, args)
            context["table"] = served_table(data, call, name, f"{name}({', '.join(args)})", "")
        except LinkindexError as exc:
            return page("query.html.j2", 400, **{**context, "error": str(exc)})
        return page("query.html.j2", **context)

    @app.get("/api/rows")
    def rows(request: Request) -> JSONResponse:
        params = request.query_params
        try:
            call = call_from(params, params.getlist("arg"))
            answer = page_of(result(data, call), sort=params.get("sort") or None,
                             descending=bool(params.get("desc")), search=params.get("q", ""),
                             page=_number(params.get("page"), "page", 1),
                             size=_number(params.get("size"), "size", 50))
        except LinkindexError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({
            "columns": answer.columns, "rows": answer.rows,
            "marks": [mark_of(call.query, record) for record in answer.records],
            "total": answer.total, "matched": answer.matched, "page": answer.page,
            "pages": answer.pages, "size": answer.size})

    @app.get("/api/csv")
    def csv(request: Request) -> Response:
        params = request.query_params
        try:
            call = call_from(params, params.getlist("arg"))
            body = csv_bytes(result(data, call))
        except LinkindexError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{call.query}.csv"'})

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in _TYPES:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(asset(name), media_type=_TYPES[name],
                        headers={"Cache-Control": "max-age=3600"})

    return app


def served_table(data: Path | Storage, call: QueryCall, key: str, title: str,
                 note: str, live: LiveIndex | None = None) -> TableView:
    """A table whose rows the page fetches from /api/rows (its columns known now: the
    answer is computed once and cached for the pages that follow)."""
    columns = result(data, call, live).column_names
    query = urlencode(call_params(call))
    return TableView(key, title, note, columns, column_docs(call.query),
                     source=f"/api/rows?{query}", csv_url=f"/api/csv?{query}")


def _args(spec: Any, params: dict[str, str]) -> list[str] | None:
    """The query's positional arguments from the form (a list one comma-separated), or
    None while any is missing."""
    values: list[str] = []
    for i, arg in enumerate(spec.args):
        text = params.get(arg, "").strip()
        if not text:
            return None
        if spec.variadic and i == len(spec.args) - 1:
            values += [item.strip() for item in text.split(",") if item.strip()]
        else:
            values.append(text)
    return values


def _number(text: str | None, name: str, default: int) -> int:
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise LinkindexError(f"bad {name} {text!r}: use a whole number") from None
