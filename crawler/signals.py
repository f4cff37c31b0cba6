"""The project's own Scrapy signals: how the crawler and the pipelines talk without
importing each other's internals (Scrapy's own signals live in `scrapy.signals`)."""

# Sent by the cluster scheduler when nothing is queued anywhere: the pipeline writes
# what it buffers, so the job's last pages are not held back by the part's age limit.
frontier_empty = object()

# Sent by the pipeline once pages' rows are in renamed Parquet parts, with
# `outcomes=[(lease, "done" | "failed: …" | "ignored"), …]`: only then may their leases
# be acknowledged.
pages_stored = object()
