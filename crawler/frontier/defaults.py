"""Every cluster-mode default, in one place (as scrapy-redis keeps its own).

A job's options (delay, margin, max attempts, seen filter) are fields of
crawler.spec.CrawlSpec, whose defaults these are."""

KEY_PREFIX = "linkindex"
JOBS_KEY = "linkindex:jobs"  # every submitted job, scored by submit time (ms)
REDIS_URL_ENV = "LINKINDEX_REDIS_URL"
REDIS_PARAMS = {
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "health_check_interval": 30,
}

DELAY_SECONDS = 1.0  # per-domain delay between fetches, across all workers
# A robots.txt Crawl-delay longer than this skips its domain: its pages are recorded
# with the error "skipped: crawl-delay N s over the cap M s", not fetched (a delay of
# 100000000 s would otherwise park the domain, and the job, for years).
MAX_CRAWL_DELAY_SECONDS = 60.0
# Added to the delay when a domain's next fetch is timed: a popped request reaches the
# wire a little after its pop, and that jitter must not bring two fetches closer.
MARGIN_SECONDS = 0.1
MAX_ATTEMPTS = 3  # leases lapsing this often make a request failed, not retried
LEASE_SECONDS = 30.0  # a worker silent this long is dead; its leases return
HEARTBEAT_SECONDS = 2.0
# A worker's rates (pages/s fetched, stored, queued) are measured over this much time.
RATE_WINDOW_SECONDS = 10.0
# With nothing queued, a worker asks again this often (a pop is one cheap round trip);
# at 1 s, two workers crawled no faster than one (bench/cluster.py).
IDLE_POLL_SECONDS = 0.05
BATCH = 16  # at most this many requests leased per round trip
SENT_CACHE = 2_000_000  # links a worker remembers having sent (a cache; ~150 MB at most)
# Redis outage: retry after this many seconds, doubling up to the cap.
BACKOFF_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 15.0
ROBOTS_WAIT_SECONDS = 30.0  # wait for another worker's robots.txt fetch before fetching it
ROBOTS_MAX_BYTES = 500 * 1024  # Google's robots.txt limit

SEEN_MODES = ("exact", "bloom")  # exact 8-byte fingerprints, or a Bloom filter
SEEN_MODE = SEEN_MODES[0]
EXPECTED_URLS = 10_000_000  # sizes the seen filter
BLOOM_ERROR_RATE = 0.001
