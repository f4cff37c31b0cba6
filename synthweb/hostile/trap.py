"""A calendar trap: every month links to the next and the previous one, forever.

The server ends it after TRAP_PAGES months (so a crawl without limits still ends); a
crawl with sane default limits stops well before that.
"""

from __future__ import annotations

from synthweb.hostile.corpus import Case, Expect, whole
from synthweb.hostile.steps import http, page

TRAP_HOST = "cal.trap.example"  # its own registrable domain: a second seed
TRAP_PAGES = 1000
TRAP_START = f"http://{TRAP_HOST}/2026/01"


def month_url(n: int) -> str:
    year, month = divmod(n, 12)
    return f"http://{TRAP_HOST}/{2026 + year}/{month + 1:02d}"


def trap_cases() -> list[Case]:
    """One case per month the server serves (checked only for what each row holds)."""
    out = []
    for n in range(TRAP_PAGES):
        links = [month_url(n + 1)] if n + 1 < TRAP_PAGES else []
        if n:
            links.insert(0, month_url(n - 1))
        body = "".join(f'<a href="{url}">{url[-7:]}</a>' for url in links)
        out.append(Case(f"calendar {n}", "trap", "a month of the calendar trap", month_url(n),
                        whole(lambda body=body, n=n: http(page(f"month {n}", body))),
                        Expect(title=f"month {n}", links=tuple((u, "a") for u in links)),
                        linked=False, aux=True))
    return out
