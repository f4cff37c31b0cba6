"""The private-address corpus, crawled WITHOUT --allow-private through the hostile proxy.

Its start page is on a public IP literal (the guard lets it through without DNS; the
proxy, which is ours, answers it: nothing leaves loopback). The page links to every
private-address spelling and to redirects onto them. The guard must refuse each
spelling before any request reaches the proxy, and record it as a `refused:` row.
"""

from __future__ import annotations

from synthweb.hostile.cases_links import PRIVATE_SPELLINGS
from synthweb.hostile.corpus import Case, Expect, a, whole
from synthweb.hostile.steps import http, page, redirect

PUBLIC_HOST = "93.184.215.14"  # a public address: served by the proxy, never contacted
REFUSAL_START = f"http://{PUBLIC_HOST}/"
REFUSED = Expect(status=None, error="refused:", content_type=None, links=())


def refusal_cases() -> list[Case]:
    link_targets = [f"http://{s}/link" for s in PRIVATE_SPELLINGS]
    hops = [f"http://{PUBLIC_HOST}/redirect/{i}" for i in range(len(PRIVATE_SPELLINGS))]
    body = "\n".join(f'<a href="{url}">{url}</a>' for url in link_targets + hops)
    out = [Case("refusal start", "private", "links to every spelling and every redirect",
                REFUSAL_START, whole(lambda: http(page("refusal start", body))),
                Expect(title="refusal start", links=tuple(a(u) for u in link_targets + hops)),
                linked=False)]
    for i, spelling in enumerate(PRIVATE_SPELLINGS):
        target = f"http://{spelling}/redirect"
        out.append(Case(f"refused-redirect-{i:02d}", "private",
                        f"a redirect to {target}", hops[i],
                        whole(lambda target=target: redirect(target)),
                        Expect(status=302, links=((target, "redirect"),), redirect_to=target),
                        linked=False))
        out.append(Case(f"refused-link-{i:02d}", "private", f"a link to {link_targets[i]}",
                        link_targets[i], whole(lambda: http(page("reached", ""))), REFUSED,
                        linked=False))
        out.append(Case(f"refused-target-{i:02d}", "private", f"the redirect target {target}",
                        target, whole(lambda: http(page("reached", ""))), REFUSED,
                        linked=False))
    return out
