-- bucket_of(domain, buckets)
--
-- The bucket that holds the links pointing at `domain`: the first 32 bits of the
-- MD5 of the domain, modulo the number of buckets. The same number as
-- core.layout.bucket_of in Python (MD5 is stable across versions; DuckDB's hash() is not);
-- tests/test_build.py checks that they agree.
--
-- The index keeps edges in edges/bucket=<n>/ folders; a query that names its
-- bucket as a constant reads only that folder.
--
-- Parameters: domain VARCHAR (a registrable domain), buckets INTEGER (manifest "buckets";
--             inside a linkindex session it is index_buckets()).
-- Returns:    UBIGINT in 0 .. buckets - 1.

CREATE OR REPLACE TEMP MACRO bucket_of(domain, buckets) AS
    ('0x' || substr(md5(domain), 1, 8))::UBIGINT % buckets;
