"""Common Crawl's web graph as a source of referring domains (`linkindex import-cc-graph`).

- ``remote``: files named by URL fetched whole to a local folder, with timeouts, retries
  with back-off, and resumption by HTTP range where a download stopped;
- ``formats``: the release's vertices, edges and ranks files read as Arrow batches, each
  checked as it streams (order, uniqueness, self-loops, ids in range, the ranks header);
- ``importer``: the import in resumable steps, into ``DATA/ccgraph/<release>/``:
  ``vertices.parquet`` (names and ranks) and ``links/bucket=K/`` (domain pairs bucketed
  and sorted by the linked domain), then ``DATA/ccgraph/ACTIVE`` names the release;
- ``hostlevel`` and ``shards``: a host-level release (``--level host``), its shards
  read by a pool of processes and aggregated to registrable domains, into the same
  layout.
"""
