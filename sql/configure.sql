-- mlsys.configure: per-model settings, validated, merged, reset with null
CREATE TABLE cfg_src AS SELECT g::float8 AS x, 2 * g + 1::float8 AS y FROM generate_series(1, 50) g;
SELECT model, version FROM mlsys.train('cfg', 'cfg_src', 'y');
SELECT mlsys.configure('cfg', '{}');
SELECT mlsys.configure('cfg', '{"psi_threshold": 0.3, "relation": "cfg_src", "window": "1 day", "features": {"x": {"metric": "ks", "threshold": 0.2}}}');
-- merged, and null restores the default
SELECT mlsys.configure('cfg', '{"psi_threshold": null, "min_improvement": 0.05}');
SELECT mlsys._setting('cfg', 'psi_threshold') AS psi_default, mlsys._setting('cfg', 'relation') AS relation,
       mlsys._setting('cfg', 'min_improvement') AS margin;
-- bad input
\set SHOW_CONTEXT never
SELECT mlsys.configure('cfg', '{"bogus": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"relation": "no_such_table"}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"relation": 5}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"window": "-1 day"}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"psi_threshold": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"min_rows": 1.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"metric": "bleu"}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"features": {"x": {"metric": "zz"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('cfg', '{"features": {"x": {"limit": 1}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('no_such_model', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
-- nothing changed by the failed calls
SELECT settings FROM mlsys.models WHERE model = 'cfg';
DROP TABLE cfg_src;
