"""Scrapy items: one item per fetched page, carrying its links as columns.

Never one item per link: per-item overhead in Scrapy is far larger than per-row
overhead in Arrow.
"""

from __future__ import annotations

import scrapy


class PageItem(scrapy.Item):
    # One row of core.schema.PAGES (crawl_id and fetched_at included).
    page = scrapy.Field()
    # One list per column of core.schema.EDGE_LINK_COLUMNS, all of equal length.
    links = scrapy.Field()
    # Only when the crawl archives (LINKINDEX_WARC): the core.warc.format.Evidence the
    # pipeline writes to WARC. Never written to Parquet.
    evidence = scrapy.Field()
    # Cluster mode only: the URL of the request's lease, acknowledged once the page's
    # rows are in a renamed Parquet part. Never written to Parquet.
    lease = scrapy.Field()
    # Cluster mode, a page not fetched (robots.txt, the private-address guard): its lease
    # is acknowledged "ignored" (its slot goes back), also only once its row is stored.
    lease_outcome = scrapy.Field()
