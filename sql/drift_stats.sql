-- two-sample drift statistics against values computed by hand, against
-- independent SQL formulas (window functions, percentile_cont, width_bucket)
-- on small samples, and in parallel plans against the serial result
SET extra_float_digits = 0;

-- numeric samples, one per grp; c = false: reference, true: current
CREATE TABLE dsn (grp int, v float8, c bool);
-- 1: by hand. ref = 1 2 2 3 5, cur = 0.5 2 2 7 (ties, duplicates), plus a NULL
-- value and a NULL flag, which belong to neither sample
INSERT INTO dsn VALUES (1, 1, false), (1, 2, false), (1, 2, false), (1, 3, false), (1, 5, false),
    (1, 0.5, true), (1, 2, true), (1, 2, true), (1, 7, true), (1, NULL, true), (1, NULL, false), (1, 4, NULL);
-- 2: a single-value reference
INSERT INTO dsn SELECT 2, 3, false UNION ALL SELECT 2, g, true FROM generate_series(1, 5) g;
-- 3: one value repeated in both samples: no drift at all
INSERT INTO dsn VALUES (3, 2, false), (3, 2, false), (3, 2, false), (3, 2, true);
-- 4: very different sizes (1000 against 3), many ties
INSERT INTO dsn SELECT 4, (g * 37 % 101) / 10.0, false FROM generate_series(1, 1000) g
    UNION ALL VALUES (4, 2.5, true), (4, 9.9, true), (4, 12, true);
-- 5: small integers, heavy ties, shifted
INSERT INTO dsn SELECT 5, g % 7, false FROM generate_series(1, 200) g
    UNION ALL SELECT 5, g % 5 + 2, true FROM generate_series(1, 50) g;
-- 6: negative and positive values, different spread
INSERT INTO dsn SELECT 6, round((sin(g) * 3)::numeric, 6), false FROM generate_series(1, 300) g
    UNION ALL SELECT 6, round((cos(g) * 4 + 0.5)::numeric, 6), true FROM generate_series(1, 120) g;

-- by hand (group 1): F_ref - F_cur at 0.5 1 2 3 5 7 is -.25 -.05 -.15 .05 .25 0, so
-- D = 0.25; lambda = sqrt(5*4/9) * 0.25, Q(lambda) = 0.999066588976776 (scipy 1.10
-- kstwobign.sf); Wasserstein = .25*.5 + .05*1 + .15*1 + .05*2 + .25*2 = 0.925
SELECT (mlsys.ks_test(v, c)).statistic = 0.25 AS ks_d,
       abs((mlsys.ks_test(v, c)).p_value - 0.999066588976776) < 1e-12 AS ks_p,
       abs(mlsys.wasserstein(v, c) - 0.925) < 1e-15 AS wasserstein
FROM dsn WHERE grp = 1;
-- PSI by hand (group 1, 3 bins): reference quantiles 1/3 and 2/3 by
-- percentile_cont: h = 4/3 -> 2, h = 8/3 -> 2 + (3 - 2) * 2/3 = 2.667; bins
-- [-inf, 2) [2, 2.667) [2.667, inf): ref 1 2 2 = 1/5 2/5 2/5, cur 1 2 1 = 1/4 2/4 1/4
SELECT abs(mlsys.psi(v, c, 3) - ((0.25 - 0.2) * ln(0.25 / 0.2) + (0.5 - 0.4) * ln(0.5 / 0.4)
                                 + (0.25 - 0.4) * ln(0.25 / 0.4))) < 1e-15 AS psi_3_bins
FROM dsn WHERE grp = 1;
-- 10 bins (the default): edges 1.4 1.8 2 2 2 2.4 2.8 3.4 4.2 merge to 1.4 1.8 2 2.4 2.8 3.4 4.2;
-- ref per bin 1 0 0 2 0 1 0 1 and cur 1 0 0 2 0 0 0 1, an empty bin's share counting 0.0001
SELECT abs(mlsys.psi(v, c) - mlsys.psi(v, c, 10)) = 0 AS default_is_10,
       abs(mlsys.psi(v, c) - ((0.25 - 0.2) * ln(0.25 / 0.2) + (0.5 - 0.4) * ln(0.5 / 0.4)
                              + (0.0001 - 0.2) * ln(0.0001 / 0.2) + (0.25 - 0.2) * ln(0.25 / 0.2))) < 1e-15 AS psi_10_bins
FROM dsn WHERE grp = 1;

-- the same statistics by independent SQL formulas over every group
CREATE VIEW dsn_ref AS
WITH d AS (SELECT grp, v, c FROM dsn WHERE v IS NOT NULL AND c IS NOT NULL),
n AS (SELECT grp, count(*) FILTER (WHERE NOT c) AS nr, count(*) FILTER (WHERE c) AS nc FROM d GROUP BY grp),
-- empirical CDFs at every distinct value, exact (numeric)
pts AS (SELECT grp, v AS x, count(*) FILTER (WHERE NOT c) AS r, count(*) FILTER (WHERE c) AS k FROM d GROUP BY grp, v),
cdf AS (SELECT grp, x, sum(r) OVER w / nr AS fr, sum(k) OVER w / nc AS fc,
               lead(x) OVER w AS nx, nr, nc
        FROM pts JOIN n USING (grp) WINDOW w AS (PARTITION BY grp ORDER BY x)),
ks AS (SELECT grp, max(abs(fr - fc))::float8 AS d, coalesce(sum(abs(fr - fc) * (nx::numeric - x::numeric)), 0)::float8 AS w,
              sqrt(min(nr) * min(nc) / (min(nr) + min(nc))::float8) AS en FROM cdf GROUP BY grp),
-- Kolmogorov's Q(lambda) = 2 sum (-1)^(k-1) exp(-2 k^2 lambda^2)
kq AS (SELECT grp, CASE WHEN d = 0 THEN 1 ELSE
              (SELECT 2 * sum((-1) ^ (k - 1) * exp(-2.0 * k * k * (en * d) ^ 2)) FROM generate_series(1, 3000) k
               WHERE 2.0 * k * k * (en * d) ^ 2 < 700) END AS p
       FROM ks),
-- PSI: reference quantiles by percentile_cont, equal edges merged, bins by width_bucket
q AS (SELECT grp, percentile_cont((SELECT array_agg(k::float8 / 10 ORDER BY k) FROM generate_series(1, 9) k))
                  WITHIN GROUP (ORDER BY v) AS qs FROM d WHERE NOT c GROUP BY grp),
e AS (SELECT grp, ARRAY(SELECT DISTINCT x FROM unnest(qs) x ORDER BY x) AS edges FROM q),
bins AS (SELECT grp, generate_series(0, cardinality(edges)) AS bin FROM e),
binned AS (SELECT grp, width_bucket(v, edges) AS bin, c FROM d JOIN e USING (grp)),
shares AS (SELECT b.grp, b.bin,
                  count(x.c) FILTER (WHERE NOT x.c) AS cr, count(x.c) FILTER (WHERE x.c) AS cc
           FROM bins b LEFT JOIN binned x USING (grp, bin) GROUP BY b.grp, b.bin),
psi AS (SELECT grp, sum((pc - pr) * ln(pc / pr)) AS psi
        FROM (SELECT grp, CASE WHEN cr = 0 THEN 0.0001 ELSE cr::float8 / nr END AS pr,
                          CASE WHEN cc = 0 THEN 0.0001 ELSE cc::float8 / nc END AS pc
              FROM shares JOIN n USING (grp)) s GROUP BY grp)
SELECT grp, ks.d, kq.p, ks.w, psi.psi FROM ks JOIN kq USING (grp) JOIN psi USING (grp);

SELECT grp, round((mlsys.ks_test(v, c)).statistic::numeric, 10) AS ks,
       round((mlsys.ks_test(v, c)).p_value::numeric, 10) AS ks_p,
       round(mlsys.wasserstein(v, c)::numeric, 10) AS wasserstein,
       round(mlsys.psi(v, c)::numeric, 10) AS psi,
       round(mlsys.psi(v, c, 4)::numeric, 10) AS psi_4
FROM dsn GROUP BY grp ORDER BY grp;

SELECT grp, abs(a.ks - r.d) < 1e-12 AS ks_ok, abs(a.p - r.p) < 1e-9 AS ks_p_ok,
       abs(a.w - r.w) <= 1e-12 * greatest(1, r.w) AS wasserstein_ok,
       abs(a.psi - r.psi) <= 1e-12 * greatest(1, r.psi) AS psi_ok
FROM (SELECT grp, (mlsys.ks_test(v, c)).statistic AS ks, (mlsys.ks_test(v, c)).p_value AS p,
             mlsys.wasserstein(v, c) AS w, mlsys.psi(v, c) AS psi
      FROM dsn GROUP BY grp) a JOIN dsn_ref r USING (grp) ORDER BY grp;

-- identical samples (group 3): D = 0, p = 1, distance 0, PSI 0
SELECT mlsys.ks_test(v, c), mlsys.wasserstein(v, c), mlsys.psi(v, c) FROM dsn WHERE grp = 3;
-- an empty sample gives NULL (no rows, only reference, only current, only NULLs)
SELECT mlsys.ks_test(v, c) IS NULL AS ks, mlsys.wasserstein(v, c) IS NULL AS w, mlsys.psi(v, c) IS NULL AS psi
FROM dsn WHERE false;
SELECT mlsys.ks_test(v, false) IS NULL AS ks, mlsys.wasserstein(v, true) IS NULL AS w,
       mlsys.psi(v, false) IS NULL AS psi FROM dsn;
SELECT mlsys.ks_test(NULL::float8, c) IS NULL AS ks FROM dsn;
-- infinities order as the extremes in ks_test: ref -inf 0 1, cur 1 2 inf,
-- F_ref - F_cur at -inf 0 1 2 inf = 1/3 2/3 2/3 1/3 0
SELECT abs((mlsys.ks_test(v, c)).statistic - 2.0 / 3) < 1e-15 AS ks_infinity
FROM (VALUES ('-infinity'::float8, false), (0, false), (1, false), (1, true), (2, true), ('infinity', true)) s(v, c);
-- -0 and +0 are one value
SELECT (mlsys.ks_test(v, c)).statistic AS ks_signed_zero FROM (VALUES ('-0'::float8, false), ('0', true)) s(v, c);
-- a window aggregate: the final function runs on a growing state and leaves it intact
SELECT i, round(mlsys.wasserstein(v, c) OVER (ORDER BY i)::numeric, 6) AS w, (mlsys.ks_test(v, c) OVER (ORDER BY i)).statistic AS ks
FROM (VALUES (1, 1.0::float8, false), (2, 3, true), (3, 2, false), (4, 5, true)) s(i, v, c) ORDER BY i;

-- categorical samples
CREATE TABLE dsc (grp int, cat text, c bool);
-- 1: ref a a a b c, cur a b b d, plus a NULL category and a NULL flag (skipped)
INSERT INTO dsc VALUES (1, 'a', false), (1, 'a', false), (1, 'a', false), (1, 'b', false), (1, 'c', false),
    (1, 'a', true), (1, 'b', true), (1, 'b', true), (1, 'd', true), (1, NULL, true), (1, 'c', NULL);
-- 2: one category in both samples
INSERT INTO dsc SELECT 2, 'x', g > 4 FROM generate_series(1, 6) g;
-- 3: very different sizes, 5 categories against 2 of them
INSERT INTO dsc SELECT 3, 'k' || (g % 5), false FROM generate_series(1, 1000) g
    UNION ALL VALUES (3, 'k1', true), (3, 'k1', true), (3, 'k3', true);
-- 4: a 2 x 2 table: ref a x 10, b x 20; cur a x 30, b x 5
INSERT INTO dsc SELECT 4, CASE WHEN g <= 10 THEN 'a' ELSE 'b' END, false FROM generate_series(1, 30) g
    UNION ALL SELECT 4, CASE WHEN g <= 30 THEN 'a' ELSE 'b' END, true FROM generate_series(1, 35) g;
-- 5: disjoint categories, empty strings and case count as categories
INSERT INTO dsc VALUES (5, '', false), (5, '', false), (5, 'B', true), (5, 'b', true);
-- 6: many categories (table growth), current a shifted copy of the reference
INSERT INTO dsc SELECT 6, 'cat' || (g % 300), false FROM generate_series(1, 3000) g
    UNION ALL SELECT 6, 'cat' || ((g + 7) % 330), true FROM generate_series(1, 2000) g;

-- by hand (group 1): p = (3/5, 1/5, 1/5, 0), q = (1/4, 2/4, 0, 1/4) over a b c d;
-- L-inf = |3/5 - 1/4| = 0.35; chi2 on [[3 1 1 0] [1 2 0 1]] = 3.2625 with dof 3,
-- p = 0.352896141903457 (scipy 1.10 chi2_contingency, correction=False)
SELECT abs(mlsys.linf_distance(cat, c) - 0.35) < 1e-15 AS linf,
       abs((mlsys.chi2_test(cat, c)).statistic - 3.2625) < 1e-12 AS chi2,
       abs((mlsys.chi2_test(cat, c)).p_value - 0.352896141903457) < 1e-12 AS chi2_p,
       (mlsys.chi2_test(cat, c)).dof,
       abs(mlsys.js_distance(cat, c) - sqrt((0.6 * log(2, 0.6 / 0.425) + 0.2 * log(2, 0.2 / 0.35) + 0.2 * log(2, 0.2 / 0.1)
                                            + 0.25 * log(2, 0.25 / 0.425) + 0.5 * log(2, 0.5 / 0.35) + 0.25 * log(2, 0.25 / 0.125)) / 2)) < 1e-15 AS js
FROM dsc WHERE grp = 1;
-- 2 x 2 (group 4): chi2 = 65 (10*5 - 20*30)^2 / (30*35*40*25) = 18.7261904761905, dof 1,
-- p = 1.5089565704354248e-05 (scipy 1.10 chi2_contingency, correction=False)
SELECT abs((mlsys.chi2_test(cat, c)).statistic - 65.0 * (10 * 5 - 20 * 30) ^ 2 / (30 * 35 * 40 * 25)) < 1e-12 AS chi2,
       abs((mlsys.chi2_test(cat, c)).p_value / 1.5089565704354248e-05 - 1) < 1e-10 AS chi2_p
FROM dsc WHERE grp = 4;

-- independent SQL formulas; the chi-square p-value in closed form for even dof,
-- Q = exp(-x/2) sum_{i < dof/2} (x/2)^i / i!
CREATE VIEW dsc_ref AS
WITH d AS (SELECT grp, cat, c FROM dsc WHERE cat IS NOT NULL AND c IS NOT NULL),
n AS (SELECT grp, count(*) FILTER (WHERE NOT c) AS nr, count(*) FILTER (WHERE c) AS nc FROM d GROUP BY grp),
t AS (SELECT grp, cat, count(*) FILTER (WHERE NOT c) AS r, count(*) FILTER (WHERE c) AS k FROM d GROUP BY grp, cat),
f AS (SELECT grp, r, k, nr, nc, r::float8 / nr AS p, k::float8 / nc AS q FROM t JOIN n USING (grp)),
s AS (SELECT grp, max(abs(p - q)) AS linf,
             sqrt(sum(CASE WHEN p > 0 THEN p * ln(p / ((p + q) / 2)) ELSE 0 END
                      + CASE WHEN q > 0 THEN q * ln(q / ((p + q) / 2)) ELSE 0 END) / ln(2) / 2) AS js,
             sum((r - nr * (r + k)::float8 / (nr + nc)) ^ 2 / (nr * (r + k)::float8 / (nr + nc))
                 + (k - nc * (r + k)::float8 / (nr + nc)) ^ 2 / (nc * (r + k)::float8 / (nr + nc))) AS chi2,
             count(*) - 1 AS dof
      FROM f GROUP BY grp)
SELECT grp, linf, js, chi2, dof,
       CASE WHEN dof % 2 = 0 THEN exp(-chi2 / 2) * (SELECT sum((chi2 / 2) ^ i / factorial(i)::float8)
                                                    FROM generate_series(0, dof / 2 - 1) i) END AS p_even
FROM s;

SELECT grp, round(mlsys.js_distance(cat, c)::numeric, 10) AS js, round(mlsys.linf_distance(cat, c)::numeric, 10) AS linf,
       round((mlsys.chi2_test(cat, c)).statistic::numeric, 8) AS chi2,
       round((mlsys.chi2_test(cat, c)).p_value::numeric, 10) AS chi2_p, (mlsys.chi2_test(cat, c)).dof
FROM dsc GROUP BY grp ORDER BY grp;

SELECT grp, abs(a.js - r.js) < 1e-12 AS js_ok, abs(a.linf - r.linf) < 1e-15 AS linf_ok,
       abs(a.chi2 - r.chi2) <= 1e-12 * greatest(1, r.chi2) AS chi2_ok, a.dof = r.dof AS dof_ok,
       CASE WHEN r.dof = 0 THEN a.p = 1 AND a.chi2 = 0
            WHEN r.dof % 2 = 0 THEN abs(a.p - r.p_even) <= 1e-12 * r.p_even END AS p_even_ok
FROM (SELECT grp, mlsys.js_distance(cat, c) AS js, mlsys.linf_distance(cat, c) AS linf,
             (mlsys.chi2_test(cat, c)).statistic AS chi2, (mlsys.chi2_test(cat, c)).p_value AS p,
             (mlsys.chi2_test(cat, c)).dof
      FROM dsc GROUP BY grp) a JOIN dsc_ref r USING (grp) ORDER BY grp;
-- disjoint supports (group 5): JS distance 1, L-inf 1
SELECT mlsys.js_distance(cat, c), mlsys.linf_distance(cat, c) FROM dsc WHERE grp = 5;
-- an empty sample gives NULL
SELECT mlsys.js_distance(cat, c) IS NULL AS js, mlsys.chi2_test(cat, c) IS NULL AS chi2,
       mlsys.linf_distance(cat, c) IS NULL AS linf FROM dsc WHERE grp = 2 AND NOT c;

-- parallel plans: partial states from workers combine to exactly the serial result
CREATE TABLE dsp AS
SELECT (g * 7919 % 10007) / 100.0 + g % 3 AS v, g % 4 = 0 AS c, 'k' || (g * 31 % 13) || CASE WHEN g % 4 = 0 THEN 'x' ELSE '' END AS cat
FROM generate_series(1, 60000) g;
ANALYZE dsp;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE dsp_serial AS
SELECT mlsys.ks_test(v, c) AS ks, mlsys.wasserstein(v, c) AS w, mlsys.psi(v, c) AS psi, mlsys.psi(v, c, 17) AS psi17,
       mlsys.js_distance(cat, c) AS js, mlsys.chi2_test(cat, c) AS chi2, mlsys.linf_distance(cat, c) AS linf FROM dsp;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT mlsys.ks_test(v, c), mlsys.wasserstein(v, c), mlsys.psi(v, c), mlsys.psi(v, c, 17),
       mlsys.js_distance(cat, c), mlsys.chi2_test(cat, c), mlsys.linf_distance(cat, c) FROM dsp;
CREATE FUNCTION drift_workers_launched(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
    RETURN (plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Workers Launched')::int;
END $$;
SELECT drift_workers_launched('SELECT mlsys.psi(v, c), mlsys.js_distance(cat, c) FROM dsp') > 0 AS workers_ran;
SELECT p.ks = s.ks AS ks, p.w = s.w AS wasserstein, p.psi = s.psi AS psi, p.psi17 = s.psi17 AS psi17,
       p.js = s.js AS js, p.chi2 = s.chi2 AS chi2, p.linf = s.linf AS linf
FROM (SELECT mlsys.ks_test(v, c) AS ks, mlsys.wasserstein(v, c) AS w, mlsys.psi(v, c) AS psi, mlsys.psi(v, c, 17) AS psi17,
             mlsys.js_distance(cat, c) AS js, mlsys.chi2_test(cat, c) AS chi2, mlsys.linf_distance(cat, c) AS linf FROM dsp) p,
     dsp_serial s;
-- and the serial result is the independent formula's
SELECT abs((s.ks).statistic - r.d) < 1e-12 AS ks_ok, abs(s.w - r.w) < 1e-9 AS wasserstein_ok, abs(s.psi - r.psi) < 1e-12 AS psi_ok
FROM dsp_serial s, LATERAL (
    WITH pts AS (SELECT v AS x, count(*) FILTER (WHERE NOT c) AS r, count(*) FILTER (WHERE c) AS k FROM dsp GROUP BY v),
    n AS (SELECT count(*) FILTER (WHERE NOT c) AS nr, count(*) FILTER (WHERE c) AS nc FROM dsp),
    cdf AS (SELECT x, sum(r) OVER w / nr AS fr, sum(k) OVER w / nc AS fc, lead(x) OVER w AS nx FROM pts, n WINDOW w AS (ORDER BY x)),
    e AS (SELECT ARRAY(SELECT DISTINCT x FROM unnest(percentile_cont((SELECT array_agg(k::float8 / 10 ORDER BY k) FROM generate_series(1, 9) k))
                       WITHIN GROUP (ORDER BY v)) x ORDER BY x) AS edges FROM dsp WHERE NOT c),
    b AS (SELECT width_bucket(v, edges) AS bin, count(*) FILTER (WHERE NOT c)::float8 / min(nr) AS pr,
                 count(*) FILTER (WHERE c)::float8 / min(nc) AS pc FROM dsp, e, n GROUP BY 1)
    SELECT (SELECT max(abs(fr - fc))::float8 FROM cdf) AS d,
           (SELECT sum(abs(fr - fc) * (nx::numeric - x::numeric))::float8 FROM cdf) AS w,
           (SELECT sum((pc - pr) * ln(pc / pr)) FROM b) AS psi) r;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- bad input
\set SHOW_CONTEXT never
-- invalid input: NaN
SELECT mlsys.ks_test(v, true) FROM (VALUES ('NaN'::float8)) s(v);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.wasserstein(v, false) FROM (VALUES (1::float8), ('NaN')) s(v);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.psi(v, false, 5) FROM (VALUES ('NaN'::float8)) s(v);
\echo :LAST_ERROR_SQLSTATE
-- invalid input: infinity where a distance or a quantile needs finite values
SELECT mlsys.wasserstein(v, true) FROM (VALUES ('infinity'::float8)) s(v);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.psi(v, false) FROM (VALUES ('-infinity'::float8)) s(v);
\echo :LAST_ERROR_SQLSTATE
-- invalid input: bins out of range, NULL, or not the same in every row
SELECT mlsys.psi(v, c, 1) FROM dsn;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.psi(v, c, 1001) FROM dsn;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.psi(v, c, -5) FROM dsn;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.psi(v, c, NULL) FROM dsn;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.psi(v, c, 2 + grp) FROM dsn;
\echo :LAST_ERROR_SQLSTATE
-- invalid call: a support function outside an aggregate
SELECT mlsys._ks_accum(NULL, 1, true);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._category_combine(NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
-- invalid state: a forged bytea is rejected, not read
SELECT mlsys._psi_final('\x0000000000000000'::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._js_distance_final('\x00'::bytea);
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

DROP FUNCTION drift_workers_launched(text);
DROP VIEW dsn_ref;
DROP VIEW dsc_ref;
DROP TABLE dsn, dsc, dsp, dsp_serial;
