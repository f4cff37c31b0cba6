"""Cluster mode: a crawl frontier shared by many workers through Redis.

Built on scrapy-redis's extension points (its Scheduler, SCHEDULER_QUEUE_CLASS,
DUPEFILTER_CLASS and connection helpers), with what it lacks added here: keys
namespaced by job, per-domain queues with ready times popped by one server-side
script, leases acknowledged only once a page's rows are on disk, an 8-byte seen
filter, JSON requests, and job control. One module per extension point:

    defaults     every default, in one place
    connection   the Redis URL (settings or environment) and outage backoff
    keys         the names of a job's keys
    fingerprint  8-byte URL fingerprints; exact-set and Bloom seen filters
    requests     requests as small JSON documents (never pickle)
    frontier     the Python face of the Lua scripts in scripts/
    client       one worker's side: its outbox, backoff and sent-links cache
    queue        SCHEDULER_QUEUE_CLASS over the per-domain queues
    dupefilter   DUPEFILTER_CLASS over the seen filter
    scheduler    the Scheduler: leases, batching, heartbeats, hand-back on stop
    robots       robots.txt fetched once per job and shared through Redis; a
                 Crawl-delay over the job's cap skips its domain
    spider       what the `links` spider does differently in cluster mode
    jobs         submit, status, pause, resume, stop, purge
    worker       run a worker process
"""
