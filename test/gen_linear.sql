-- Generated data for benchmarks: :rows rows of 16 features in a float8[]
-- column x, a target y with known coefficients 1..16 scaled by 0.1 and noise,
-- and a binary label (y above its mean).
-- Usage: psql -v rows=1000000 -f test/gen_linear.sql
DROP TABLE IF EXISTS bench;
SELECT setseed(0.2026);
CREATE TABLE bench AS
SELECT i::bigint AS id, x,
       1.5 + (SELECT sum(x[k] * k * 0.1) FROM generate_series(1, 16) k) + (random() - 0.5) AS y
FROM (SELECT i, ARRAY(SELECT random() FROM generate_series(1, 16) WHERE i > 0) AS x
      FROM generate_series(1, :rows) i) s;
-- 8.3 is the mean of y: a balanced binary label (a stored generated column
-- rewrites the table, so it stays free of dead tuples)
ALTER TABLE bench ADD COLUMN label bool GENERATED ALWAYS AS (y > 8.3) STORED;
VACUUM ANALYZE bench;
