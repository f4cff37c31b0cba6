"""Scrapy settings for the linkindex crawler: every default in one place.

`scrapy crawl links` reads this module through scrapy.cfg; `linkindex crawl` loads it
explicitly and overrides from its flags. Settings named LINKINDEX_* are ours.
"""

from core.schema import URL_MAX_CHARS
from crawler import spec as _spec

BOT_NAME = "linkindex"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- who we are, and manners ------------------------------------------------------
LINKINDEX_CONTACT_URL = "https://github.com/linkindex/linkindex/blob/main/README.md#the-crawler"
USER_AGENT = f"linkindex-bot/0.1 (+{LINKINDEX_CONTACT_URL})"
ROBOTSTXT_OBEY = True
# Polite per-host defaults for the open web; the demo and tests lower them for loopback.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50%
AUTOTHROTTLE_ENABLED = False
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
# Scrapy drops longer URLs silently (2083 by default); we store URLs up to this long.
URLLENGTH_LIMIT = URL_MAX_CHARS
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
LOG_INSTALL_ROOT_HANDLER = True

# --- how links flow ---------------------------------------------------------------
# The spider records 3xx responses itself (a redirect is an edge), sees every status,
# and keeps its own seen-set, so Scrapy's redirect, depth and dupefilter machinery is off.
REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
HTTPERROR_ALLOW_ALL = True
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
SPIDER_MIDDLEWARES = {"scrapy.spidermiddlewares.depth.DepthMiddleware": None}
# Breadth first: the spider gives each request priority -depth, and FIFO queues keep
# pages of one depth in discovery order.
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
# Scrapy 2.19 starts CONCURRENT_ITEMS asyncio tasks per response (measured: 100 → 1-8
# took a link-heavy crawl from 221 to 360-420 pages/s); we yield one item per page.
CONCURRENT_ITEMS = 4

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.PrivateAddressMiddleware": 50,
    # Scrapy's, but robots.txt as RFC 9309 says: 5xx and unreachable disallow all,
    # redirects followed, 500 KiB parsed (a cluster worker swaps in its own)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robotstxt.RobotsTxtMiddleware": 100,
    # before HttpProxyMiddleware (750), so robots.txt requests use the proxy too
    "crawler.middlewares.ProxyMiddleware": 740,
    # Scrapy's, but a response too large after decompression is recorded, not dropped
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.SizeLimitedCompressionMiddleware": 590,
}
TWISTED_DNS_RESOLVER = "crawler.resolver.PublicOnlyResolver"
ITEM_PIPELINES = {"pipelines.raw_parts.RawPartsPipeline": 300}
# Failures are pages rows counted by kind (crawler/failures.py): Scrapy's tracebacks and
# alarms about them become one INFO line each.
EXTENSIONS = {"crawler.extensions.CrawlProgress": 500, "crawler.extensions.QuietFailures": 0}

# --- linkindex --------------------------------------------------------------------
LINKINDEX_DATA = "data"  # DATA root (raw parts go to DATA/raw/<crawl_id>/)
# DATA on an object store (s3://bucket/prefix): LINKINDEX_DATA is then a local spool and
# each finished part is published there, then removed (core/mirror.py, Spool).
LINKINDEX_STORE = None
LINKINDEX_CRAWL_ID = None  # default: UTC time of the start, e.g. 20261121T053100Z
LINKINDEX_WORKER_ID = None  # default: <host>-<pid>-<random>, unique per process
# What to crawl: the fields of crawler.spec.CrawlSpec, with its defaults and checks.
LINKINDEX_SEEDS = list(_spec.DEFAULTS["seeds"])  # URLs
LINKINDEX_SEEDS_FILE = None  # one URL per line, '#' comments
LINKINDEX_SCOPE = _spec.DEFAULTS["scope"]  # one of crawler.spec.CRAWL_SCOPES
LINKINDEX_MAX_DEPTH = _spec.DEFAULTS["max_depth"]
LINKINDEX_MAX_PAGES = _spec.DEFAULTS["max_pages"]
LINKINDEX_MAX_PAGES_PER_DOMAIN = _spec.DEFAULTS["max_pages_per_domain"]
LINKINDEX_PROXY = None  # forward proxy for every request, e.g. http://127.0.0.1:8080
# Refuse private, loopback and link-local addresses unless allowed (tests, the demo).
LINKINDEX_ALLOW_PRIVATE = False
# A raw part is written when it holds this many edges, or this many seconds have passed.
LINKINDEX_PART_MAX_EDGES = 250_000
LINKINDEX_PART_MAX_SECONDS = 60.0
# Live progress line on stderr: "auto" = only when stderr is a terminal.
LINKINDEX_PROGRESS = "auto"
# Archive every parsed response (request + response records) to DATA/warc/<crawl_id>/,
# one WARC per raw part, pages.warc_file/warc_offset pointing at it (`--warc`).
LINKINDEX_WARC = False
# Each WARC record is its own gzip member at this zlib level (0 = plain .warc files).
# Low by default: level 9 (warcio's) costs ~2 ms per 43 KB page; see bench/RESULTS.md.
LINKINDEX_WARC_GZIP_LEVEL = 1
# Text kept on each side of a content link (edges.text_before / text_after), at most;
# 0 keeps none. Off unless asked (`--snippets`: SNIPPET_CHARS): it adds half to extraction
# time and bytes to each content link: 10 on the demo's web, more on real prose
# (bench/RESULTS.md, "link audit").
LINKINDEX_SNIPPET_CHARS = 0
# Addresses of named hosts, as an /etc/hosts line would give them ("host=address,
# host=address" or a dict): the crawler records pages.ip from these before asking DNS,
# also behind a proxy (a split-horizon network, the tests' synthetic web).
LINKINDEX_RESOLVE = {}
