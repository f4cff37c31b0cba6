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
# A request whose domain's send slot is further off than this goes back to the front of
# its queue instead of waiting in the worker (a long Crawl-delay learnt after its pop).
SEND_WAIT_MAX_SECONDS = 10.0
ROBOTS_WAIT_SECONDS = 30.0  # wait for another worker's robots.txt fetch before fetching it
ROBOTS_MAX_BYTES = 500 * 1024  # Google's robots.txt limit

# exact 8-byte fingerprints; a Bloom filter sized once; or a scalable Bloom filter
# (layers added as it fills: no size limit, nothing allocated up front).
SEEN_MODES = ("exact", "bloom", "scalable")
SEEN_MODE = SEEN_MODES[0]
EXPECTED_URLS = 10_000_000  # sizes the seen filter (over all of a job's shards)
BLOOM_ERROR_RATE = 0.001
# A scalable filter's next layer holds this many times the last one's URLs, at this
# fraction of its error rate (Almeida et al. 2007: the rates sum to under the target).
SCALABLE_GROWTH = 2
SCALABLE_TIGHTENING = 0.5
BLOOM_MAX_BITS = 2**32  # one Redis string: 512 MB

# A job's frontier is split into this many shards by a stable hash of the registrable
# domain; each shard is its own hash tag, so on Redis Cluster it can live on its own node.
SHARDS = 1
MAX_SHARDS = 1024
# Failed requests keep their reason in Redis up to this many per shard; past it they are
# only counted (every failed page is a row with its error in the raw parts anyway).
FAILED_RECORD_MAX = 100_000
# robots.txt bodies are stored zlib-compressed (base64) above this size.
ROBOTS_COMPRESS_BYTES = 256

# A worker that cannot reach Redis for this long exits non-zero (an orchestrator
# restarts it) instead of waiting forever.
OUTAGE_MAX_SECONDS = 600.0
HEALTH_FILE_ENV = "LINKINDEX_HEALTH_FILE"
# `job status` measures at most this many of a job's keys (MEMORY USAGE each, ~10 µs)
# and scales the total from them: a 1B-URL job has millions of seen-filter sets.
MEMORY_KEYS_MEASURED = 100_000  # touched at every heartbeat that reached Redis
