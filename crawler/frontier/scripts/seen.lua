-- Whether the seen filter has a URL (Scrapy's dupefilter asks for requests that come
-- another way than the add script). ARGV: P, mode, seen_a, seen_b. Returns 1 or 0.
if seen(ARGV[2], ARGV[3], ARGV[4]) then return 1 end
return 0
