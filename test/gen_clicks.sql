-- test/gen_clicks.sql -- implicit-feedback clicks for the recommender
-- benchmarks at a shop's scale: :users users with :clicks clicks each over
-- :items items whose popularity follows Zipf's law (item i, counted from 0,
-- is drawn with probability proportional to 1/(i + 1)). Deterministic: the
-- draws come from hashes of (user, click), not from random().
-- Usage: psql -v users=50000 -v items=100000 -v clicks=20 -f test/gen_clicks.sql
-- Creates table clicks(user_id bigint, item_id bigint).
SET client_min_messages = warning;
DROP TABLE IF EXISTS clicks;
CREATE TABLE clicks AS
SELECT u::bigint AS user_id,
       -- u in [0, 1) from 52 hash bits; exp(u·ln(n + 1)) − 1 is Zipf(1) on 0..n−1
       least(floor(exp(((('x' || substr(md5(u::text || ':' || c::text), 1, 13))::bit(52)::bigint)::float8
                        / 4503599627370496.0) * ln(:items + 1.0)))::bigint - 1, :items - 1) AS item_id
  FROM generate_series(1, :users) u, generate_series(1, :clicks) c;
ANALYZE clicks;
