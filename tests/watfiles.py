"""Common Crawl-like WAT files for import-job tests, with the rows they must give.

    truth = write_wat_files(folder, files=4, pages=200, links=12)
    truth.pages       # {page URL: file name}: every page, each in one file
    truth.edges       # sorted (src_url, dst_url, anchor) of every storable link
    truth.names       # the files' names, in order

Pages are `http://s<F>.example/p<I>`; half of them carry `Head.Base`, and their relative
links resolve against it. Each page also lists links the importer must not store
(`javascript:`, `#top`, `SCRIPT@/src`, a CSS `href`), and each file holds the request
metadata records a real WAT file has. The expected URLs are spelled out here by string
concatenation, not computed with the product's URL code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from warcdata import wat, wat_envelope, write_warc


@dataclass
class WatTruth:
    names: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)


def write_wat_files(folder: Path, files: int = 4, pages: int = 200, links: int = 12,
                    seed: int = 7) -> WatTruth:
    rng = random.Random(seed)
    truth = WatTruth()
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        name = f"CC-MAIN-test-{f:05d}.warc.wat.gz"
        records = []
        for i in range(pages):
            site = f"http://s{f}.example"
            url = f"{site}/p{i}"
            head: dict = {"Title": f"page {f}/{i}"}
            base = None
            if i % 2:
                base = f"{site}/dir{i % 5}/"
                head["Base"] = base
            entries: list[dict] = [{"path": "SCRIPT@/src", "url": "/app.js"},
                                   {"path": "STYLE/#text", "href": "/bg.png"},
                                   {"path": "A@/href", "url": "javascript:void(0)"},
                                   {"path": "A@/href", "url": "#top", "text": "top"}]
            for k in range(links):
                anchor = f"anchor {rng.randrange(1000)}"
                if k % 3 == 0:  # relative: against Head.Base when there is one
                    href = f"rel{k}"
                    dst = (base or f"{site}/") + href
                else:
                    dst = f"http://t{rng.randrange(50)}.example/x{rng.randrange(100)}"
                    href = dst
                entries.append({"path": "A@/href", "url": href, "text": anchor})
                truth.edges.append((url, dst, anchor))
            records.append(wat(url, wat_envelope(url, warc_type="request")))
            records.append(wat(url, wat_envelope(url, html={"Head": head, "Links": entries})))
            truth.pages[url] = name
        write_warc(folder / name, records)
        truth.names.append(name)
    truth.edges.sort()
    return truth
