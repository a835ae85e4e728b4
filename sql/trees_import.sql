-- boosted trees in the model document, and XGBoost JSON models imported:
-- documents in the shape Booster.save_model writes (XGBoost 1.7 and 2.x),
-- predictions checked against leaves picked by hand and added in float4
-- arithmetic as XGBoost adds them; what cannot be scored is refused with a
-- class-22 error that registers nothing; export → import is bit for bit

-- the SQLSTATE, message and detail of an import, or 'imported'
CREATE FUNCTION pg_temp.try_import(p_model text, p_doc jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
BEGIN
    PERFORM mlsys.import_model(p_model, p_doc);
    RETURN 'imported';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ' ' || SQLERRM || coalesce(' (' || nullif(v_detail, '') || ')', '');
END $$;

-- an XGBoost tree as Booster.save_model writes it: arrays indexed by node
-- (left child -1 for a leaf; a leaf's value in split_conditions); parents
-- derived from the children, the root's 2147483647 as XGBoost writes it
CREATE FUNCTION pg_temp.xtree(l int[], r int[], f int[], c float8[], dl int[], h float8[],
                              v2 bool DEFAULT false) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'tree_param', jsonb_build_object('num_nodes', cardinality(l)::text, 'num_feature', '0',
                                         'num_deleted', '0', 'size_leaf_vector', CASE WHEN v2 THEN '1' ELSE '0' END),
        'id', 0,
        'left_children', to_jsonb(l), 'right_children', to_jsonb(r),
        'parents', (SELECT jsonb_agg(coalesce((SELECT min(j) - 1 FROM generate_subscripts(l, 1) j
                                               WHERE l[j] = i - 1 OR r[j] = i - 1), 2147483647) ORDER BY i)
                    FROM generate_subscripts(l, 1) i),
        'split_indices', to_jsonb(f), 'split_conditions', to_jsonb(c), 'default_left', to_jsonb(dl),
        'base_weights', to_jsonb(c), 'sum_hessian', to_jsonb(h),
        'loss_changes', (SELECT jsonb_agg(CASE WHEN l[i] = -1 THEN 0 ELSE 2.5 END ORDER BY i)
                         FROM generate_subscripts(l, 1) i),
        'split_type', (SELECT jsonb_agg(0) FROM generate_subscripts(l, 1)),
        'categories', '[]'::jsonb, 'categories_nodes', '[]'::jsonb,
        'categories_segments', '[]'::jsonb, 'categories_sizes', '[]'::jsonb)
$$;

-- a whole model: version, objective, base_score, features, trees and their outputs
CREATE FUNCTION pg_temp.xmodel(ver int[], objective text, base_score text, nfeat int, nclass int,
                               names text[], trees jsonb[], info int[]) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'version', to_jsonb(ver),
        'learner', jsonb_build_object(
            'attributes', '{}'::jsonb,
            'feature_names', to_jsonb(coalesce(names, '{}'::text[])),
            'feature_types', '[]'::jsonb,
            'gradient_booster', jsonb_build_object(
                'name', 'gbtree',
                'model', jsonb_build_object(
                    'gbtree_model_param', jsonb_build_object('num_parallel_tree', '1',
                                                             'num_trees', cardinality(trees)::text),
                    'iteration_indptr', CASE WHEN ver[1] >= 2 THEN '[0]'::jsonb END,
                    'tree_info', to_jsonb(info),
                    'trees', to_jsonb(trees))),
            'learner_model_param', jsonb_build_object('base_score', base_score, 'boost_from_average', '1',
                                                      'num_class', nclass::text, 'num_feature', nfeat::text,
                                                      'num_target', '1'),
            'objective', CASE WHEN objective LIKE 'multi:%'
                              THEN jsonb_build_object('name', objective, 'softmax_multiclass_param',
                                                      jsonb_build_object('num_class', nclass::text))
                              ELSE jsonb_build_object('name', objective, 'reg_loss_param',
                                                      jsonb_build_object('scale_pos_weight', '1')) END))
$$;

------------------------------------------------------------------------------
-- regression, XGBoost 1.7: the document as save_model writes it
------------------------------------------------------------------------------
-- tree 0: x1 < 0.1 (missing: left) ? (x2 < -0.25 (missing: right) ? 0.1 : -0.3) : 0.7
-- tree 1: x2 < 1.5 (missing: right) ? 0.05 : -0.15
SELECT mlsys.import_model('ti_reg', $${"learner":{"attributes":{},"feature_names":["x1","x2"],"feature_types":["float","float"],
 "gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"2","size_leaf_vector":"0"},
  "tree_info":[0,0],"trees":[
  {"base_weights":[-1E-1,2E-1,7E-1,1E-1,-3E-1],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],
   "default_left":[1,0,0,0,0],"id":0,"left_children":[1,3,-1,-1,-1],"loss_changes":[4.0771936E2,9.347772E1,0E0,0E0,0E0],
   "parents":[2147483647,0,0,1,1],"right_children":[2,4,-1,-1,-1],"split_conditions":[1E-1,-2.5E-1,7E-1,1E-1,-3E-1],
   "split_indices":[0,1,0,0,0],"split_type":[0,0,0,0,0],"sum_hessian":[2E2,1.15E2,8.5E1,5.9E1,5.6E1],
   "tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"5","size_leaf_vector":"0"}},
  {"base_weights":[0E0,5E-2,-1.5E-1],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],
   "default_left":[0,0,0],"id":1,"left_children":[1,-1,-1],"loss_changes":[2.1315294E2,0E0,0E0],
   "parents":[2147483647,0,0],"right_children":[2,-1,-1],"split_conditions":[1.5E0,5E-2,-1.5E-1],
   "split_indices":[1,0,0],"split_type":[0,0,0],"sum_hessian":[2E2,8E1,1.2E2],
   "tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"3","size_leaf_vector":"0"}}]},"name":"gbtree"},
 "learner_model_param":{"base_score":"5E-1","boost_from_average":"1","num_class":"0","num_feature":"2","num_target":"1"},
 "objective":{"name":"reg:squarederror","reg_loss_param":{"scale_pos_weight":"1"}}},"version":[1,7,4]}$$) AS version;

-- the registered version: boosted_trees, scalar float8 features named by
-- feature_names, NULL features missing, nothing it cannot know
SELECT v.algorithm, m.task, v.feature_columns, v.feature_lengths, v.features, v.classes, v.target_type,
       v.preprocessing, v.hyperparams, v.relation = '' AS no_relation, v.metrics, v.profile IS NULL AS no_profile,
       v.train_rows, v.data_fingerprint = '' AS no_fingerprint,
       v.extension_version = (SELECT extversion FROM pg_extension WHERE extname = 'mlsys') AS this_extension,
       mlsys.live_version('ti_reg') AS live
FROM mlsys.model_versions v JOIN mlsys.models m USING (model) WHERE v.model = 'ti_reg';

-- rows and the leaves they reach, by hand; the expected value adds them in
-- float4 from the base margin 0.5, as XGBoost does
CREATE TABLE ti_rows (id int, x1 float8, x2 float8, leaf0 float4, leaf1 float4);
INSERT INTO ti_rows VALUES
    -- x1 = 0.1 is not below the float4 threshold 0.1 (it is below the float8 0.1000000015)
    (1, 0.1, 0, 0.7, 0.05),
    -- x1 missing goes left; x2 = -1 < -0.25 and < 1.5
    (2, NULL, -1, 0.1, 0.05),
    -- x2 missing goes right in both trees
    (3, -2, NULL, -0.3, -0.15),
    (4, NULL, NULL, -0.3, -0.15),
    (5, 5, 2, 0.7, -0.15),
    -- 0.0999999999 rounds to the float4 0.1 too: right
    (6, 0.0999999999, 1.5, 0.7, -0.15),
    -- 0.09999999 is below it: left, then x2 = -0.25 is not below -0.25
    (7, 0.09999999, -0.25, -0.3, 0.05);
SELECT id, mlsys.predict('ti_reg', r) AS predict,
       mlsys.predict('ti_reg', r) = ((0.5::float4 + leaf0) + leaf1)::float8 AS exact,
       mlsys.predict('ti_reg', ARRAY[x1, x2]) = mlsys.predict('ti_reg', r) AS same_by_array
FROM ti_rows r ORDER BY id;
-- the explanation of an imported model adds up to its prediction (TreeSHAP
-- sums in float8, XGBoost in float4: equal to 1e-6)
SELECT id, abs(sum(e.contribution) - ((0.5::float4 + leaf0) + leaf1)::float8) < 1e-6 AS adds_up,
       count(*) AS terms
FROM ti_rows r, LATERAL mlsys.explain('ti_reg', r) e GROUP BY id, leaf0, leaf1 ORDER BY id;
-- in float8, row 1 would go left: 0.1 is below the float4 threshold
SELECT 0.1::float8 < 0.1::float4::float8 AS float8_would_go_left;

------------------------------------------------------------------------------
-- regression: the same model in XGBoost 2.x shape (size_leaf_vector 1,
-- iteration_indptr), XGBoost 3.0; feature_names absent: f0, f1
------------------------------------------------------------------------------
CREATE TEMP TABLE ti_trees AS SELECT
    pg_temp.xtree('{1,3,-1,-1,-1}', '{2,4,-1,-1,-1}', '{0,1,0,0,0}', '{0.1,-0.25,0.7,0.1,-0.3}',
                  '{1,0,0,0,0}', '{200,115,85,59,56}', true) AS t0,
    pg_temp.xtree('{1,-1,-1}', '{2,-1,-1}', '{1,0,0}', '{1.5,0.05,-0.15}', '{0,0,0}', '{200,80,120}', true) AS t1;
SELECT mlsys.import_model('ti_reg2', pg_temp.xmodel('{2,1,3}', 'reg:squarederror', '5E-1', 2, 0, NULL,
                                                    ARRAY[t0, t1], '{0,0}')) AS version FROM ti_trees;
SELECT mlsys.import_model('ti_reg3', pg_temp.xmodel('{3,0,2}', 'reg:squarederror', '5E-1', 2, 0, NULL,
                                                    ARRAY[t0, t1], '{0,0}')) AS version FROM ti_trees;
SELECT v.model, v.feature_columns, v.hyperparams->>'xgboost_version' AS xgboost_version
FROM mlsys.model_versions v WHERE v.model IN ('ti_reg2', 'ti_reg3') ORDER BY 1;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE mlsys.predict('ti_reg2', ARRAY[x1, x2]) = ((0.5::float4 + leaf0) + leaf1)::float8) AS exact_2x,
       count(*) FILTER (WHERE mlsys.predict('ti_reg3', ARRAY[x1, x2]) = ((0.5::float4 + leaf0) + leaf1)::float8) AS exact_30
FROM ti_rows;

-- a tree the pruner left nodes in: nodes 3 and 4 deleted (unreachable,
-- split index 2147483647), num_deleted says 2; they are dropped
SELECT mlsys.import_model('ti_pruned', pg_temp.xmodel('{1,7,6}', 'reg:squarederror', '1E0', 2, 0, '{p,q}',
    ARRAY[pg_temp.xtree('{1,-1,-1,-1,-1}', '{2,-1,-1,-1,-1}', '{1,0,0,2147483647,2147483647}',
                        '{0.5,-1,2,0,0}', '{1,0,0,1,1}', '{10,4,6,0,0}')
          || '{"tree_param": {"num_nodes": "5", "num_feature": "2", "num_deleted": "2", "size_leaf_vector": "0"}}'],
    '{0}')) AS version;
SELECT mlsys.predict('ti_pruned', ARRAY[0, 0]) AS below, mlsys.predict('ti_pruned', ARRAY[0, 1]) AS above,
       mlsys.predict('ti_pruned', ARRAY[NULL, NULL]::float8[]) AS missing_left,
       jsonb_array_length(mlsys.export_model('ti_pruned')->'parameters'->'trees'->0->'nodes') AS nodes_kept;

------------------------------------------------------------------------------
-- binary, XGBoost 2.x: an estimated base_score (0.35), no feature_names
------------------------------------------------------------------------------
-- tree 0: f2 < 3 (missing: right) ? 0.4 : (f0 < -1 (missing: left) ? -0.6 : 0.25)
-- tree 1: f1 < 0 (missing: left) ? -0.2 : 0.3
SELECT mlsys.import_model('ti_bin', pg_temp.xmodel('{2,0,3}', 'binary:logistic', '3.5E-1', 3, 0, NULL,
    ARRAY[pg_temp.xtree('{1,-1,3,-1,-1}', '{2,-1,4,-1,-1}', '{2,0,0,0,0}', '{3,0.4,-1,-0.6,0.25}',
                        '{0,0,1,0,0}', '{100,40,60,25,35}', true),
          pg_temp.xtree('{1,-1,-1}', '{2,-1,-1}', '{1,0,0}', '{0,-0.2,0.3}', '{1,0,0}', '{100,45,55}', true)],
    '{0,0}')) AS version;
SELECT v.features, v.classes, v.target_type, v.hyperparams FROM mlsys.model_versions v WHERE v.model = 'ti_bin';
CREATE TABLE ti_brows (id int, f0 float8, f1 float8, f2 float8, leaf0 float4, leaf1 float4);
INSERT INTO ti_brows VALUES
    (1, 0, 1, 1, 0.4, 0.3),
    (2, -2, NULL, 5, -0.6, -0.2),
    (3, NULL, -1, NULL, -0.6, -0.2),
    (4, 3, 0, 4, 0.25, 0.3),
    (5, NULL, NULL, NULL, -0.6, -0.2);
-- the base margin is logit(0.35) in float4: -log(1/b - 1)
WITH e AS (
    SELECT r.*, (((-ln((1::float4 / 0.35::float4 - 1::float4)::float8))::float4 + leaf0) + leaf1)::float8 AS margin
    FROM ti_brows r)
SELECT id, round((mlsys.predict_proba('ti_bin', ARRAY[f0, f1, f2]))[2]::numeric, 6) AS p,
       abs((mlsys.predict_proba('ti_bin', ARRAY[f0, f1, f2]))[2] - 1 / (1 + exp(-margin))) < 1e-12 AS p_exact,
       abs((mlsys.predict_proba('ti_bin', ARRAY[f0, f1, f2]))[1] - 1 / (1 + exp(margin))) < 1e-12 AS p0_exact,
       mlsys.predict_label('ti_bin', ARRAY[f0, f1, f2]) AS label,
       mlsys.predict_label('ti_bin', ARRAY[f0, f1, f2]) = (margin >= 0)::int::text AS label_right
FROM e ORDER BY id;
-- the default base_score 0.5 (XGBoost 1.7) is a base margin of 0
SELECT mlsys.import_model('ti_bin05', pg_temp.xmodel('{1,7,6}', 'binary:logistic', '5E-1', 3, 0, NULL,
    ARRAY[pg_temp.xtree('{-1}', '{-1}', '{0}', '{0.75}', '{0}', '{10}')], '{0}')) AS version;
SELECT (mlsys.predict_proba('ti_bin05', ARRAY[1, 2, 3]))[2] = 1 / (1 + exp(-0.75::float8)) AS sigmoid_of_leaf,
       mlsys.export_model('ti_bin05')->'parameters'->'base_margin' AS base_margin;

------------------------------------------------------------------------------
-- multiclass: multi:softprob (1.7) and multi:softmax (2.x), 3 classes, two
-- rounds of three trees (tree_info 0 1 2 0 1 2), base margin 0.5 per class
------------------------------------------------------------------------------
CREATE TEMP TABLE ti_mtrees AS
SELECT array_agg(pg_temp.xtree('{1,-1,-1}', '{2,-1,-1}', ARRAY[f, 0, 0], ARRAY[thr, a, b]::float8[],
                               ARRAY[dl, 0, 0], '{30,10,20}') ORDER BY t) AS trees
FROM (VALUES (0, 0, 0.0, 1, 0.3, -0.1), (1, 0, 0.0, 0, -0.2, 0.4), (2, 1, 2.0, 1, 0.1, 0.1),
             (3, 1, 1.0, 0, 0.25, -0.05), (4, 0, -1.0, 1, 0.0, 0.15), (5, 0, 0.5, 0, -0.3, 0.2))
     AS s(t, f, thr, dl, a, b);
SELECT mlsys.import_model('ti_multi', pg_temp.xmodel('{1,7,4}', 'multi:softprob', '5E-1', 2, 3, '{u,v}',
                                                     trees, '{0,1,2,0,1,2}')) AS version FROM ti_mtrees;
SELECT mlsys.import_model('ti_multi2', pg_temp.xmodel('{2,1,0}', 'multi:softmax', '5E-1', 2, 3, '{u,v}',
                                                      trees, '{0,1,2,0,1,2}')) AS version FROM ti_mtrees;
SELECT model, classes, target_type, hyperparams->>'objective' AS objective
FROM mlsys.model_versions WHERE model IN ('ti_multi', 'ti_multi2') ORDER BY model;
-- per row, each class's two leaves by hand (trees k and k + 3)
CREATE TABLE ti_mrows (id int, u float8, v float8, l0 float4[], l1 float4[]);
INSERT INTO ti_mrows VALUES
    -- u = -1: t0 u<0 → 0.3, t1 u<0 → -0.2, t2 v<2 → 0.1 | t3 v<1 → 0.25, t4 u<-1 no → 0.15, t5 u<0.5 → -0.3
    (1, -1, 0, '{0.3,-0.2,0.1}', '{0.25,0.15,-0.3}'),
    -- u = 1, v missing: t0 → -0.1, t1 → 0.4, t2 missing left → 0.1 | t3 missing right → -0.05, t4 → 0.15, t5 → 0.2
    (2, 1, NULL, '{-0.1,0.4,0.1}', '{-0.05,0.15,0.2}'),
    -- both missing: t0 left 0.3, t1 right 0.4, t2 left 0.1 | t3 right -0.05, t4 left 0, t5 right 0.2
    (3, NULL, NULL, '{0.3,0.4,0.1}', '{-0.05,0,0.2}');
WITH m AS (
    SELECT id, u, v, ARRAY[((0.5::float4 + l0[1]) + l1[1])::float8, ((0.5::float4 + l0[2]) + l1[2])::float8,
                           ((0.5::float4 + l0[3]) + l1[3])::float8] AS z
    FROM ti_mrows),
p AS (
    SELECT id, u, v, z, ARRAY[exp(z[1]) / (exp(z[1]) + exp(z[2]) + exp(z[3])),
                              exp(z[2]) / (exp(z[1]) + exp(z[2]) + exp(z[3])),
                              exp(z[3]) / (exp(z[1]) + exp(z[2]) + exp(z[3]))] AS expected
    FROM m)
SELECT id, (SELECT array_agg(round(x::numeric, 6)) FROM unnest(mlsys.predict_proba('ti_multi', ARRAY[u, v])) x) AS proba,
       (SELECT bool_and(abs(a - b) < 1e-12) FROM unnest(mlsys.predict_proba('ti_multi', ARRAY[u, v]), expected) AS t(a, b)) AS proba_exact,
       mlsys.predict_label('ti_multi', ARRAY[u, v]) AS label,
       mlsys.predict_label('ti_multi', ARRAY[u, v]) = (array_position(expected, (SELECT max(x) FROM unnest(expected) x)) - 1)::text AS label_right,
       mlsys.predict_proba('ti_multi2', ARRAY[u, v]) = mlsys.predict_proba('ti_multi', ARRAY[u, v]) AS softmax_same
FROM p ORDER BY id;

------------------------------------------------------------------------------
-- export → import of an imported model: "float32": true, float4 numbers,
-- the same blob and predictions
------------------------------------------------------------------------------
SELECT d->'parameters'->'float32' AS float32, d->'parameters'->'base_margin' AS base_margin,
       d->'parameters'->'trees'->0->'nodes'->0 AS root, d->'parameters'->'trees'->0->'nodes'->2 AS leaf,
       d->'preprocessing' AS preprocessing
FROM (SELECT mlsys.export_model('ti_reg') AS d) s;
SELECT mlsys.import_model('ti_reg_copy', mlsys.export_model('ti_reg')) AS version;
SELECT mlsys.import_model('ti_bin_copy', mlsys.export_model('ti_bin')) AS version;
SELECT mlsys.import_model('ti_multi_copy', mlsys.export_model('ti_multi')) AS version;
SELECT a.model, a.params = b.params AS same_blob, a.features = b.features AS same_features,
       a.preprocessing = b.preprocessing AS same_preprocessing, a.classes IS NOT DISTINCT FROM b.classes AS same_classes
FROM mlsys.model_versions a JOIN mlsys.model_versions b ON b.model = a.model || '_copy'
WHERE a.model IN ('ti_reg', 'ti_bin', 'ti_multi') ORDER BY a.model;
SELECT count(*) FILTER (WHERE mlsys.predict('ti_reg', r) = mlsys.predict('ti_reg_copy', r)) = count(*) AS reg_equal
FROM ti_rows r;
-- export → import → export: the same document but for its source
SELECT mlsys.export_model('ti_multi') - 'source' = mlsys.export_model('ti_multi_copy') - 'source' AS same_document;

------------------------------------------------------------------------------
-- a trained boosted-trees version: export → import, bit for bit
------------------------------------------------------------------------------
CREATE TABLE ti_train AS
SELECT i AS id, sin(i) * 3 AS a, (i % 7)::float8 AS b, CASE WHEN i % 5 = 0 THEN NULL ELSE cos(i * 1.3) END AS c
FROM generate_series(1, 400) i;
ALTER TABLE ti_train ADD COLUMN y float8, ADD COLUMN k int;
UPDATE ti_train SET y = a * 2 + b - coalesce(c, 0.5) + (id % 3) * 0.1,
                    k = CASE WHEN a + coalesce(c, 0) > 1 THEN 2 WHEN a > -1 THEN 1 ELSE 0 END;
SELECT version FROM mlsys.train('ti_gbt', 'ti_train', 'y', ARRAY['a', 'b', 'c'], 'boosted_trees',
                                '{"n_trees": 15, "max_depth": 3}');
SELECT version FROM mlsys.train('ti_gbt_multi', 'ti_train', 'k', ARRAY['a', 'b', 'c'], 'boosted_trees',
                                '{"n_trees": 6, "max_depth": 2}');
SELECT d->'parameters'->'float32' AS float32, jsonb_array_length(d->'parameters'->'trees') AS trees,
       jsonb_array_length(d->'parameters'->'base_margin') AS margins
FROM (SELECT mlsys.export_model('ti_gbt') AS d) s;
SELECT mlsys.import_model('ti_gbt_copy', mlsys.export_model('ti_gbt')) AS version;
SELECT mlsys.import_model('ti_gbt_multi_copy', mlsys.export_model('ti_gbt_multi')) AS version;
SELECT a.model, a.params = b.params AS same_blob, a.metrics = b.metrics AS same_metrics,
       a.data_fingerprint = b.data_fingerprint AS same_fingerprint
FROM mlsys.model_versions a JOIN mlsys.model_versions b ON b.model = a.model || '_copy'
WHERE a.model IN ('ti_gbt', 'ti_gbt_multi') ORDER BY a.model;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE mlsys.predict('ti_gbt', t) = mlsys.predict('ti_gbt_copy', t)) AS equal,
       count(*) FILTER (WHERE mlsys.predict_proba('ti_gbt_multi', t) = mlsys.predict_proba('ti_gbt_multi_copy', t)) AS equal_proba
FROM ti_train t;

------------------------------------------------------------------------------
-- refused XGBoost models: each error, and nothing registered
------------------------------------------------------------------------------
CREATE TEMP TABLE ti_base AS
SELECT pg_temp.xmodel('{1,7,4}', 'reg:squarederror', '5E-1', 2, 0, '{x1,x2}', ARRAY[t0, t1], '{0,0}') AS d
FROM ti_trees;
-- the first tree's path in the document
CREATE FUNCTION pg_temp.t0(key text) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY['learner', 'gradient_booster', 'model', 'trees', '0', key]
$$;
SELECT 'unchanged' AS what, pg_temp.try_import('ti_bad', d) AS result FROM ti_base
UNION ALL
-- a categorical split (split_type 1) and a categorical feature
SELECT 'categorical split', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('split_type'), '[1,0,0,0,0]')) FROM ti_base
UNION ALL
SELECT 'categorical nodes', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, pg_temp.t0('categories_nodes'), '[0]'),
                                                          pg_temp.t0('split_type'), '[0,0,0,0,0]')) FROM ti_base
UNION ALL
SELECT 'categorical feature', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,feature_types}', '["float","c"]')) FROM ti_base
UNION ALL
-- other boosters
SELECT 'gblinear', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,gradient_booster}',
                                                   '{"name": "gblinear", "model": {"weights": [0.5, -1, 0]}}')) FROM ti_base
UNION ALL
SELECT 'dart', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,gradient_booster}',
           jsonb_build_object('name', 'dart', 'gbtree', d->'learner'->'gradient_booster', 'weight_drop', '[1, 1]'::jsonb))) FROM ti_base
UNION ALL
-- other objectives
SELECT 'objective', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,objective,name}', '"reg:pseudohubererror"')) FROM ti_base
UNION ALL
SELECT 'logitraw', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,objective,name}', '"binary:logitraw"')) FROM ti_base
UNION ALL
-- vector leaves, several targets, two classes, a newer XGBoost
SELECT 'vector leaves', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('tree_param') || '{size_leaf_vector}', '"3"')) FROM ti_base
UNION ALL
SELECT 'num_target', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,learner_model_param,num_target}', '"2"')) FROM ti_base
UNION ALL
SELECT 'two classes', pg_temp.try_import('ti_bad', pg_temp.xmodel('{1,7,4}', 'multi:softprob', '5E-1', 2, 2, NULL,
                                                                   ARRAY[t0, t1], '{0,1}')) FROM ti_trees
UNION ALL
SELECT 'version 3.1', pg_temp.try_import('ti_bad', jsonb_set(d, '{version}', '[3, 1, 0]')) FROM ti_base
UNION ALL
SELECT 'version 0.90', pg_temp.try_import('ti_bad', jsonb_set(d, '{version}', '[0, 90, 0]')) FROM ti_base
UNION ALL
-- forged trees: a child pointing back, a cycle, two parents, a right child
-- that is not after the left one, an unreachable node, an unknown feature
SELECT 'child points back', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, pg_temp.t0('left_children'), '[1,0,-1,-1,-1]'),
                                                                pg_temp.t0('right_children'), '[2,1,-1,-1,-1]')) FROM ti_base
UNION ALL
SELECT 'cycle', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, pg_temp.t0('left_children'), '[1,1,-1,-1,-1]'),
                                                    pg_temp.t0('right_children'), '[2,2,-1,-1,-1]')) FROM ti_base
UNION ALL
SELECT 'two parents', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, pg_temp.t0('left_children'), '[1,3,3,-1,-1]'),
                                                          pg_temp.t0('right_children'), '[2,4,4,-1,-1]')) FROM ti_base
UNION ALL
SELECT 'right not after left', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, pg_temp.t0('left_children'), '[2,3,-1,-1,-1]'),
                                                                   pg_temp.t0('right_children'), '[1,4,-1,-1,-1]')) FROM ti_base
UNION ALL
SELECT 'unreachable node', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, pg_temp.t0('left_children'), '[1,-1,-1,-1,-1]'),
                                                               pg_temp.t0('right_children'), '[2,-1,-1,-1,-1]')) FROM ti_base
UNION ALL
SELECT 'feature out of range', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('split_indices'), '[0,2,0,0,0]')) FROM ti_base
UNION ALL
SELECT 'negative feature', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('split_indices'), '[-1,1,0,0,0]')) FROM ti_base
UNION ALL
SELECT 'child out of range', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('left_children'), '[1,5,-1,-1,-1]')) FROM ti_base
UNION ALL
SELECT 'wrong parent', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('parents'), '[2147483647,0,0,2,1]')) FROM ti_base
UNION ALL
-- numbers: a NaN leaf (XGBoost's NaN is no JSON number), one beyond float4
SELECT 'NaN leaf', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('split_conditions'), '[0.1,-0.25,"NaN",0.1,-0.3]')) FROM ti_base
UNION ALL
SELECT 'leaf beyond float4', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('split_conditions'), '[0.1,-0.25,1e39,0.1,-0.3]')) FROM ti_base
UNION ALL
SELECT 'negative cover', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('sum_hessian'), '[200,115,85,-1,56]')) FROM ti_base
UNION ALL
SELECT 'binary base_score', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, '{learner,objective,name}', '"binary:logistic"'),
                                                                '{learner,learner_model_param,base_score}', '"1.5"')) FROM ti_base
UNION ALL
SELECT 'base_score text', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,learner_model_param,base_score}', '"half"')) FROM ti_base
UNION ALL
-- shapes: lengths, tree_info, counts, feature names
SELECT 'short array', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('default_left'), '[1,0,0]')) FROM ti_base
UNION ALL
SELECT 'default_left 2', pg_temp.try_import('ti_bad', jsonb_set(d, pg_temp.t0('default_left'), '[2,0,0,0,0]')) FROM ti_base
UNION ALL
SELECT 'tree_info', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,gradient_booster,model,tree_info}', '[0,1]')) FROM ti_base
UNION ALL
SELECT 'num_trees', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,gradient_booster,model,gbtree_model_param,num_trees}', '"3"')) FROM ti_base
UNION ALL
SELECT 'no trees', pg_temp.try_import('ti_bad', jsonb_set(jsonb_set(d, '{learner,gradient_booster,model,trees}', '[]'),
                                                       '{learner,gradient_booster,model,tree_info}', '[]')) FROM ti_base
UNION ALL
SELECT 'feature names', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,feature_names}', '["x1","x1"]')) FROM ti_base
UNION ALL
SELECT 'feature count', pg_temp.try_import('ti_bad', jsonb_set(d, '{learner,learner_model_param,num_feature}', '"5000"')) FROM ti_base
UNION ALL
SELECT 'no learner_model_param', pg_temp.try_import('ti_bad', d #- '{learner,learner_model_param}') FROM ti_base
UNION ALL
SELECT 'no version', pg_temp.try_import('ti_bad', d - 'version') FROM ti_base;
-- the first one, unchanged, was imported; no refused one was
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'ti_bad';
SELECT count(*) AS runs FROM mlsys.training_runs WHERE model = 'ti_bad';

------------------------------------------------------------------------------
-- refused mlsys documents of boosted trees: forged parameters
------------------------------------------------------------------------------
CREATE TEMP TABLE ti_doc AS SELECT mlsys.export_model('ti_reg') AS d;
CREATE FUNCTION pg_temp.n0(i int, key text) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY['parameters', 'trees', '0', 'nodes', i::text, key]
$$;
SELECT 'unchanged' AS what, pg_temp.try_import('ti_bad_doc', d) AS result FROM ti_doc
UNION ALL
SELECT 'child points back', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(1, 'left'), '0')) FROM ti_doc
UNION ALL
SELECT 'cycle', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(0, 'right'), '0')) FROM ti_doc
UNION ALL
SELECT 'two parents', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(1, 'left'), '2')) FROM ti_doc
UNION ALL
SELECT 'child out of range', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(1, 'right'), '5')) FROM ti_doc
UNION ALL
SELECT 'unknown feature', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(0, 'split'), '"x3"')) FROM ti_doc
UNION ALL
SELECT 'NaN leaf', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(2, 'leaf'), '"NaN"')) FROM ti_doc
UNION ALL
SELECT 'leaf and split', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(2, 'split'), '"x1"')) FROM ti_doc
UNION ALL
SELECT 'missing side', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(0, 'missing'), '"up"')) FROM ti_doc
UNION ALL
SELECT 'float32 text', pg_temp.try_import('ti_bad_doc', jsonb_set(d, '{parameters,float32}', '"yes"')) FROM ti_doc
UNION ALL
SELECT 'float32 leaf beyond float4', pg_temp.try_import('ti_bad_doc', jsonb_set(d, pg_temp.n0(2, 'leaf'), '1e39')) FROM ti_doc
UNION ALL
SELECT 'output', pg_temp.try_import('ti_bad_doc', jsonb_set(d, '{parameters,trees,1,output}', '1')) FROM ti_doc
UNION ALL
SELECT 'base margins', pg_temp.try_import('ti_bad_doc', jsonb_set(d, '{parameters,base_margin}', '[0.5, 0.5]')) FROM ti_doc
UNION ALL
SELECT 'threshold', pg_temp.try_import('ti_bad_doc', jsonb_set(d, '{parameters,threshold}', '2')) FROM ti_doc
UNION ALL
SELECT 'no trees', pg_temp.try_import('ti_bad_doc', jsonb_set(d, '{parameters,trees}', '[]')) FROM ti_doc
UNION ALL
SELECT 'empty tree', pg_temp.try_import('ti_bad_doc', jsonb_set(d, '{parameters,trees,1,nodes}', '[]')) FROM ti_doc;
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'ti_bad_doc';

-- an imported version has no training relation: no drift baseline to take from it
SELECT mlsys.capture_baseline('ti_bin');
-- nor a spec to retrain or reproduce
SELECT * FROM mlsys.retrain('ti_bin');
SELECT * FROM mlsys.reproduce('ti_bin', 1);

DO $$ BEGIN PERFORM mlsys.drop_model(model) FROM mlsys.models WHERE model LIKE 'ti\_%'; END $$;
DROP TABLE ti_rows, ti_brows, ti_mrows, ti_train;
