------------------------------------------------------------------------------
-- Security model (src/sql/90_security.sql): roles, privileges and the few
-- SECURITY DEFINER functions through which the registry is written. It runs
-- last, so that "ALL ... IN SCHEMA mlsys" covers every object of the script.
--
-- Three NOLOGIN group roles (created when missing; roles are cluster-wide, so
-- DROP EXTENSION leaves them), each a member of the one before:
--   mlsys_reader   score (mlsys.predict*, recommenders, predict_batch into
--                  mlsys.predictions, feedback labels) and read the registry
--                  and the monitoring data;
--   mlsys_trainer  train, tune, cross-validate, retrain, reproduce: registers
--                  versions, and deploys them through the training's deploy
--                  policy (best_score, most_recent) or a retrain's decision;
--   mlsys_admin    every privilege on every model (deploy, rollback, configure,
--                  schedule, prune and drop any of them); full rights on the
--                  registry tables.
-- PUBLIC gets nothing: no schema usage, no table, no function.
--
-- Nothing that reads user data is SECURITY DEFINER: training, scoring and
-- batch scoring read their relation with the caller's rights, column grants
-- and row-level security. Trainers cannot write mlsys.models,
-- mlsys.model_versions or mlsys.deployments directly; they go through
-- mlsys._register_version, mlsys._insert_deployment and mlsys._lock_model,
-- which run as the extension's owner, pin search_path, touch only registry
-- rows, and let a trainer deploy (or complete) only a version its own
-- transaction registered.
------------------------------------------------------------------------------

-- the outer-level role (SET ROLE or session user), unchanged inside SECURITY DEFINER
CREATE FUNCTION mlsys._outer_user() RETURNS name
    AS 'MODULE_PATHNAME', 'outer_user' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION mlsys._outer_user() IS 'The role acting outside any SECURITY DEFINER function: the SET ROLE role or the session user (internal).';
CREATE FUNCTION mlsys._xid_is_current(xid) RETURNS bool
    AS 'MODULE_PATHNAME', 'xid_is_current' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION mlsys._xid_is_current(xid) IS 'Whether a transaction id (a row''s xmin) is the current transaction or one of its subtransactions (internal).';

-- Per-model privileges. A model's owner (and members of the owning role)
-- and members of mlsys_admin hold every privilege on it; other roles hold
-- what mlsys.grant gave them (or a role they are a member of):
--   train   add versions (train, tune, train_recommender, import_model);
--   deploy  deploy, rollback, a training's deploy policy, retrain's deployment;
--   manage  configure, schedule, set_owner, drop_model, prune_versions, and
--           granting train, deploy and score;
--   score   score, explain and export a private model and read its rows in
--           the registry tables (every other privilege includes it).
-- The global roles stay the ceiling: training still needs mlsys_trainer.
CREATE TABLE mlsys.model_grants (
    model      text NOT NULL REFERENCES mlsys.models (model) ON DELETE CASCADE,
    role       regrole NOT NULL,
    privilege  text NOT NULL CHECK (privilege IN ('train', 'deploy', 'manage', 'score')),
    granted_by name NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, role, privilege)
);
COMMENT ON TABLE mlsys.model_grants IS 'Privileges on models granted with mlsys.grant (owners and mlsys_admin hold every privilege without a row).';
SELECT pg_catalog.pg_extension_config_dump('mlsys.model_grants', '');
-- a grant or revoke reaches every backend's answers about private models
CREATE TRIGGER registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mlsys.model_grants
    FOR EACH STATEMENT EXECUTE FUNCTION mlsys._registry_changed();

CREATE VIEW mlsys.model_privileges AS
SELECT g.model, g.role, g.privilege, g.granted_by, g.granted_at FROM mlsys.model_grants g;
COMMENT ON VIEW mlsys.model_privileges IS
'Privileges granted on models (model, role, privilege, granted_by, granted_at); owners and members of mlsys_admin hold every privilege without a row.';

-- does a role hold a privilege on a model (owner, admin, or granted)?
CREATE FUNCTION mlsys._has_model_privilege(p_model text, p_role name, p_privilege text) RETURNS bool
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_has_role(p_role, 'mlsys_admin', 'MEMBER')
        OR EXISTS (SELECT 1 FROM mlsys.models m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.owner::oid
                    WHERE m.model OPERATOR(pg_catalog.=) p_model
                      AND pg_catalog.pg_has_role(p_role, r.oid, 'MEMBER'))
        OR EXISTS (SELECT 1 FROM mlsys.model_grants g JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::oid
                    WHERE g.model OPERATOR(pg_catalog.=) p_model
                      AND (g.privilege OPERATOR(pg_catalog.=) p_privilege OR p_privilege OPERATOR(pg_catalog.=) 'score')
                      AND pg_catalog.pg_has_role(p_role, r.oid, 'MEMBER'))
$$;
COMMENT ON FUNCTION mlsys._has_model_privilege(text, name, text) IS
'Whether a role holds a privilege on a model: as a member of its owner or of mlsys_admin, or through mlsys.grant; any granted privilege includes score (internal).';

-- raise insufficient_privilege unless the acting role holds the privilege
CREATE FUNCTION mlsys._require_model_privilege(p_model text, p_privilege text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_outer name := mlsys._outer_user();
BEGIN
    IF mlsys._has_model_privilege(p_model, v_outer, p_privilege) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'permission denied for model "%"', p_model
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('This needs the %s privilege on model "%s", whose owner is %s.', p_privilege, p_model,
                                         (SELECT m.owner FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) p_model)),
              HINT = pg_catalog.format('The owner or a member of mlsys_admin can grant it: SELECT mlsys.grant(%L, %L, %L);',
                                       p_model, v_outer, p_privilege);
END $$;
COMMENT ON FUNCTION mlsys._require_model_privilege(text, text) IS
'Raises insufficient_privilege, naming the model, the privilege and the owner, unless the acting role holds it (internal).';

-- Called by mlsys._insert_deployment (SECURITY DEFINER): a deployment, by a
-- training's deploy policy, retrain, mlsys.deploy or an import, needs the
-- deploy privilege on the model.
CREATE FUNCTION mlsys._authorize_deployment(p_model text, p_version int) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM mlsys._require_model_privilege(p_model, 'deploy');
END $$;
COMMENT ON FUNCTION mlsys._authorize_deployment(text, int) IS 'Raises insufficient_privilege unless the acting role holds the deploy privilege on the model (internal).';

-- Private models ("private": true in mlsys.configure). Their rows in the
-- registry and monitoring tables are visible only to roles that may score
-- them (row-level security below, evaluated once per query through an
-- InitPlan); scoring, explain, export and reproduce check the same right
-- and raise insufficient_privilege. The model's name, owner, settings and
-- grants stay visible. The role checked is the current user: the rights of
-- whoever runs the query, as for table privileges.
CREATE FUNCTION mlsys._hidden_models() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT COALESCE(pg_catalog.array_agg(m.model), '{}'::text[]) FROM mlsys.models m
     WHERE m.settings OPERATOR(pg_catalog.@>) '{"private": true}'::jsonb
       AND NOT mlsys._has_model_privilege(m.model, CURRENT_USER, 'score')
$$;
COMMENT ON FUNCTION mlsys._hidden_models() IS
'The private models the current user may not score, whose registry rows row-level security hides (internal).';

CREATE FUNCTION mlsys._check_model_access(p_model text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_owner regrole;
BEGIN
    SELECT m.owner INTO v_owner FROM mlsys.models m
     WHERE m.model OPERATOR(pg_catalog.=) p_model AND m.settings OPERATOR(pg_catalog.@>) '{"private": true}'::jsonb;
    IF FOUND AND NOT mlsys._has_model_privilege(p_model, CURRENT_USER, 'score') THEN
        RAISE EXCEPTION 'permission denied for model "%"', p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Model "%s" is private: using or reading it needs the score privilege on it, and its owner is %s.',
                                             p_model, v_owner),
                  HINT = pg_catalog.format('The owner or a role granted manage on it can grant it: SELECT mlsys.grant(%L, %L, %L);',
                                           p_model, CURRENT_USER, 'score');
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._check_model_access(text) IS
'Raises insufficient_privilege when the model is private and the current user may not score it (internal).';

-- created_by / deployed_by name the acting role, also when the row is written
-- by a SECURITY DEFINER function (where current_user is the owner). A value
-- given explicitly (pg_restore, a copy) is kept.
CREATE FUNCTION mlsys._stamp_creator() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_outer name := mlsys._outer_user();
BEGIN
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'deployments' THEN
        IF NEW.deployed_by OPERATOR(pg_catalog.=) CURRENT_USER THEN
            NEW.deployed_by := v_outer;
        END IF;
    ELSIF NEW.created_by OPERATOR(pg_catalog.=) CURRENT_USER THEN
        NEW.created_by := v_outer;
    END IF;
    -- a new model belongs to the role that created it (only models have an owner)
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'models' THEN
        IF NEW.owner IS NULL THEN
            NEW.owner := pg_catalog.to_regrole(pg_catalog.quote_ident(v_outer));
        END IF;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION mlsys._stamp_creator() IS 'Trigger: records the acting role in created_by / deployed_by, and as the owner of a new model (internal).';

-- A model's owner (or a role granted manage on it) may give it away; admins
-- may give any model to anyone.
-- Owners are not admins and cannot write mlsys.models: this runs as the
-- extension's owner and checks the acting role itself.
CREATE FUNCTION mlsys.set_owner(model text, role regrole) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_owner regrole;
    v_outer name := mlsys._outer_user();
BEGIN
    IF set_owner.model IS NULL OR set_owner.role IS NULL THEN
        RAISE EXCEPTION 'model and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT m.owner INTO v_owner FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) set_owner.model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', set_owner.model USING ERRCODE = 'undefined_object';
    END IF;
    -- members of the owning role count as the owner; a dropped owner leaves it to admins
    IF NOT mlsys._has_model_privilege(set_owner.model, v_outer, 'manage') THEN
        RAISE EXCEPTION 'permission denied to change the owner of model "%"', set_owner.model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Model "%s" is owned by %s; only its owner, members of mlsys_admin and roles granted manage on it may give it to another role.',
                                             set_owner.model, v_owner),
                  HINT = 'Ask the owner or a member of mlsys_admin.';
    END IF;
    UPDATE mlsys.models m SET owner = set_owner.role WHERE m.model OPERATOR(pg_catalog.=) set_owner.model;
END $$;
COMMENT ON FUNCTION mlsys.set_owner(text, regrole) IS
'Gives a model to another role; allowed to the owner (and members of the owning role), roles granted manage on it, and mlsys_admin.';
-- Grant or revoke a privilege on a model. The owner and admins may change
-- any; a role granted manage may change train, deploy and score. Runs as the
-- extension's owner (the grants table is the registry's) and checks the
-- acting role itself.
CREATE FUNCTION mlsys._change_model_privilege(p_model text, p_role regrole, p_privilege text, p_grant bool)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_outer name := mlsys._outer_user();
    v_owner regrole;
BEGIN
    IF p_model IS NULL OR p_role IS NULL OR p_privilege IS NULL THEN
        RAISE EXCEPTION 'model, role and privilege must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_privilege NOT IN ('train', 'deploy', 'manage', 'score') THEN
        RAISE EXCEPTION 'unrecognized model privilege "%"', p_privilege
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The privileges on a model are train, deploy, manage and score.';
    END IF;
    SELECT m.owner INTO v_owner FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) p_model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', p_model USING ERRCODE = 'undefined_object';
    END IF;
    -- manage itself is the owner's (or an admin's) to give
    IF NOT (pg_catalog.pg_has_role(v_outer, 'mlsys_admin', 'MEMBER')
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                        WHERE r.oid OPERATOR(pg_catalog.=) v_owner::oid
                          AND pg_catalog.pg_has_role(v_outer, r.oid, 'MEMBER'))
            OR (p_privilege OPERATOR(pg_catalog.<>) 'manage'
                AND mlsys._has_model_privilege(p_model, v_outer, 'manage'))) THEN
        RAISE EXCEPTION 'permission denied to % % on model "%"',
                        CASE WHEN p_grant THEN 'grant' ELSE 'revoke' END, p_privilege, p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Model "%s" is owned by %s; %s.', p_model, v_owner,
                                             CASE WHEN p_privilege OPERATOR(pg_catalog.=) 'manage'
                                                  THEN 'only its owner and members of mlsys_admin may change who manages it'
                                                  ELSE 'changing its train, deploy and score privileges needs the manage privilege on it' END),
                  HINT = 'Ask the owner or a member of mlsys_admin.';
    END IF;
    IF p_grant THEN
        INSERT INTO mlsys.model_grants (model, role, privilege, granted_by)
        VALUES (p_model, p_role, p_privilege, v_outer)
        ON CONFLICT (model, role, privilege) DO NOTHING;
    ELSE
        DELETE FROM mlsys.model_grants g
         WHERE g.model OPERATOR(pg_catalog.=) p_model AND g.role OPERATOR(pg_catalog.=) p_role
           AND g.privilege OPERATOR(pg_catalog.=) p_privilege;
        IF NOT FOUND THEN
            RAISE NOTICE 'role % has no % privilege on model "%" to revoke', p_role, p_privilege, p_model;
        END IF;
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._change_model_privilege(text, regrole, text, bool) IS
'The work of mlsys.grant and mlsys.revoke, with the acting role''s right to do it checked (internal).';

CREATE FUNCTION mlsys.grant(model text, role regrole, privilege text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT mlsys._change_model_privilege($1, $2, $3, true)
$$;
COMMENT ON FUNCTION mlsys.grant(text, regrole, text) IS
'Grants a privilege on a model to a role: train (add versions), deploy (deploy, rollback, deploy policies, retrain''s deployment), manage (configure, set_owner, grant and revoke train, deploy and score) or score (use and read a private model; every other privilege includes it). Allowed to the owner and mlsys_admin, and except for manage to roles granted manage.';

CREATE FUNCTION mlsys.revoke(model text, role regrole, privilege text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT mlsys._change_model_privilege($1, $2, $3, false)
$$;
COMMENT ON FUNCTION mlsys.revoke(text, regrole, text) IS
'Revokes a privilege on a model granted with mlsys.grant (a NOTICE when the role did not hold it); allowed to whoever may grant it.';

CREATE TRIGGER stamp_creator BEFORE INSERT ON mlsys.models
    FOR EACH ROW EXECUTE FUNCTION mlsys._stamp_creator();
CREATE TRIGGER stamp_creator BEFORE INSERT ON mlsys.model_versions
    FOR EACH ROW EXECUTE FUNCTION mlsys._stamp_creator();
CREATE TRIGGER stamp_creator BEFORE INSERT ON mlsys.deployments
    FOR EACH ROW EXECUTE FUNCTION mlsys._stamp_creator();

-- Training stores a version's preprocessing with an UPDATE right after
-- registering it (src/train.c). Trainers hold UPDATE on that one column, and
-- only for a version their transaction registered.
CREATE FUNCTION mlsys._guard_version_update() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_catalog.has_table_privilege(CURRENT_USER, 'mlsys.model_versions', 'UPDATE')
       AND NOT EXISTS (SELECT 1 FROM mlsys.model_versions v
                        WHERE v.model OPERATOR(pg_catalog.=) OLD.model AND v.version OPERATOR(pg_catalog.=) OLD.version
                          AND mlsys._xid_is_current(v.xmin)) THEN
        RAISE EXCEPTION 'permission denied to update version % of model "%"', OLD.version, OLD.model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A registered version is immutable except to mlsys_admin.';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION mlsys._guard_version_update() IS 'Trigger: lets a trainer complete only a version its own transaction registered (internal).';
CREATE TRIGGER guard_version_update BEFORE UPDATE ON mlsys.model_versions
    FOR EACH ROW EXECUTE FUNCTION mlsys._guard_version_update();

-- Row-level security for private models on every table with a model column
-- but mlsys.models and mlsys.model_grants (names, owners and grants stay
-- visible): a RESTRICTIVE policy, so that it applies on top of whatever the
-- table's owner grants (for example tenants' policies on mlsys.predictions,
-- which must be restrictive too), and a permissive one that grants the rest.
-- A table whose owner had already enabled row-level security keeps its own
-- permissive policies as the only ones. The extension's owner, which the
-- SECURITY DEFINER functions and the log writers run as, is not subject to
-- any of them.
DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['model_versions', 'deployments', 'prediction_runs', 'predictions',
                                   'tuning_trials', 'recommendations', 'baselines', 'alerts', 'drift_history',
                                   'online_traffic', 'impressions', 'training_runs', 'retrain_decisions',
                                   'explain_samples'] LOOP
        IF NOT (SELECT c.relrowsecurity FROM pg_catalog.pg_class c
                 WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.format('mlsys.%I', v_table)::pg_catalog.regclass) THEN
            EXECUTE pg_catalog.format('ALTER TABLE mlsys.%I ENABLE ROW LEVEL SECURITY', v_table);
            EXECUTE pg_catalog.format('CREATE POLICY mlsys_access ON mlsys.%I USING (true)', v_table);
        END IF;
        EXECUTE pg_catalog.format('CREATE POLICY private_models ON mlsys.%I AS RESTRICTIVE '
                                  'USING (NOT (model OPERATOR(pg_catalog.=) ANY ((SELECT mlsys._hidden_models())::text[])))', v_table);
    END LOOP;
END $$;

-- the group roles
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'mlsys_reader') THEN
        CREATE ROLE mlsys_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'mlsys_trainer') THEN
        CREATE ROLE mlsys_trainer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'mlsys_admin') THEN
        CREATE ROLE mlsys_admin NOLOGIN;
    END IF;
    -- (quietly, when the roles already nest: mlsys installed in another database)
    IF NOT pg_catalog.pg_has_role('mlsys_trainer', 'mlsys_reader', 'MEMBER') THEN
        GRANT mlsys_reader TO mlsys_trainer;
    END IF;
    IF NOT pg_catalog.pg_has_role('mlsys_admin', 'mlsys_trainer', 'MEMBER') THEN
        GRANT mlsys_trainer TO mlsys_admin;
    END IF;
END $$;
COMMENT ON ROLE mlsys_reader IS 'mlsys: score models and read the registry and monitoring data.';
COMMENT ON ROLE mlsys_trainer IS 'mlsys: train, tune and retrain models (member of mlsys_reader).';
COMMENT ON ROLE mlsys_admin IS 'mlsys: deploy, roll back, configure, schedule and drop models (member of mlsys_trainer).';

-- registry written only through the functions below
ALTER FUNCTION mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text) SECURITY DEFINER;
ALTER FUNCTION mlsys._insert_deployment(text, int, text) SECURITY DEFINER;
ALTER FUNCTION mlsys._lock_model(text) SECURITY DEFINER;
-- owners and roles granted deploy or manage are not admins: these check the
-- acting role's privilege on the model and write the registry themselves
ALTER FUNCTION mlsys.rollback(text) SECURITY DEFINER;
ALTER FUNCTION mlsys._configure(text, jsonb, regclass) SECURITY DEFINER;
ALTER FUNCTION mlsys.drop_model(text) SECURITY DEFINER;
ALTER FUNCTION mlsys.prune_versions(text, int) SECURITY DEFINER;
-- the copy of the registry for Citus workers belongs to the extension's
-- owner: the trigger that keeps it writes as that owner, whoever changed the
-- registry
ALTER FUNCTION mlsys._replicate_registry() SECURITY DEFINER;

-- tables and sequences: nothing for PUBLIC
REVOKE ALL ON ALL TABLES IN SCHEMA mlsys FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA mlsys FROM PUBLIC;
GRANT USAGE ON SCHEMA mlsys TO mlsys_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA mlsys TO mlsys_reader;
GRANT INSERT ON mlsys.prediction_runs, mlsys.predictions TO mlsys_reader;
GRANT UPDATE (rows, finished_at) ON mlsys.prediction_runs TO mlsys_reader;
GRANT UPDATE (label, labeled_at) ON mlsys.predictions TO mlsys_reader;
GRANT USAGE ON SEQUENCE mlsys.prediction_runs_run_id_seq, mlsys.predictions_id_seq TO mlsys_reader;
GRANT INSERT, UPDATE ON mlsys.recommendations TO mlsys_reader;
GRANT UPDATE (clicked) ON mlsys.impressions TO mlsys_reader;
GRANT INSERT, UPDATE ON mlsys.training_runs, mlsys.tuning_trials TO mlsys_trainer;
GRANT INSERT ON mlsys.retrain_decisions TO mlsys_trainer;
GRANT UPDATE (preprocessing) ON mlsys.model_versions TO mlsys_trainer;
GRANT USAGE ON SEQUENCE mlsys.training_runs_id_seq, mlsys.tuning_trials_id_seq, mlsys.tuning_id_seq,
    mlsys.retrain_decisions_id_seq TO mlsys_trainer;
GRANT ALL ON ALL TABLES IN SCHEMA mlsys TO mlsys_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA mlsys TO mlsys_admin;

-- functions: nothing for PUBLIC; readers get everything but the functions
-- of trainers and admins (so a function added later defaults to readers, and
-- the table grants above still decide what it may write)
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA mlsys FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mlsys TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION
    mlsys.train(text, regclass, text, text[], text, jsonb, float8, int, text),
    mlsys.train_recommender(text, regclass, text, text, text, jsonb, float8, int, text),
    mlsys.cross_validate(regclass, text, text[], text, jsonb, int, int),
    mlsys.tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys._tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys.retrain(text), mlsys._retrain_now(text), mlsys._retrain(text, bigint),
    mlsys.reproduce(text, int),
    mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text),
    mlsys._insert_deployment(text, int, text), mlsys._lock_model(text),
    mlsys._run_start(text, text), mlsys._run_finish(bigint, text, text, text),
    mlsys.set_owner(text, regrole),
    mlsys.grant(text, regrole, text), mlsys.revoke(text, regrole, text),
    mlsys._change_model_privilege(text, regrole, text, bool),
    mlsys.deploy(text, int), mlsys.rollback(text),
    mlsys.configure(text, jsonb), mlsys._configure(text, jsonb, regclass),
    mlsys.drop_model(text), mlsys.prune_versions(text, int),
    mlsys.schedule(text, text, text), mlsys.unschedule(text, text), mlsys._run_job(text, text)
FROM mlsys_reader;
GRANT EXECUTE ON FUNCTION
    mlsys.train(text, regclass, text, text[], text, jsonb, float8, int, text),
    mlsys.train_recommender(text, regclass, text, text, text, jsonb, float8, int, text),
    mlsys.cross_validate(regclass, text, text[], text, jsonb, int, int),
    mlsys.tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys._tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys.retrain(text), mlsys._retrain_now(text), mlsys._retrain(text, bigint),
    mlsys.reproduce(text, int),
    mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text),
    mlsys._insert_deployment(text, int, text), mlsys._lock_model(text),
    mlsys._run_start(text, text), mlsys._run_finish(bigint, text, text, text),
    mlsys.set_owner(text, regrole),
    mlsys.grant(text, regrole, text), mlsys.revoke(text, regrole, text),
    mlsys._change_model_privilege(text, regrole, text, bool),
    -- checked per model: the owner and roles granted deploy or manage on it
    mlsys.deploy(text, int), mlsys.rollback(text),
    mlsys.configure(text, jsonb), mlsys._configure(text, jsonb, regclass),
    -- a job runs as the role that scheduled it (manage on the model), with
    -- that role's privileges on the model each time it runs
    mlsys.schedule(text, text, text), mlsys.unschedule(text, text), mlsys._run_job(text, text),
    -- deleting needs manage on the model
    mlsys.drop_model(text), mlsys.prune_versions(text, int)
TO mlsys_trainer;

-- C functions that query the registry and the user's relation through SPI run
-- with search_path pinned, like the SQL and PL/pgSQL functions: their
-- relation arguments are regclass (resolved by the caller) and stored
-- schema-qualified. Scoring pins it in C around the registry reads (cache.c).
ALTER FUNCTION mlsys.train(text, regclass, text, text[], text, jsonb, float8, int, text)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION mlsys.train_recommender(text, regclass, text, text, text, jsonb, float8, int, text)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION mlsys.cross_validate(regclass, text, text[], text, jsonb, int, int)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION mlsys.evaluate_recommender(text, regclass, int, text, text, text)
    SET search_path = pg_catalog, pg_temp;

-- Monitoring, export/import and the model cache (the same three roles):
-- training captures the drift baseline and mlsys.check writes alerts and
-- history, so both belong to trainers (scheduled checks run as the admin who
-- scheduled them); import registers a version through a SECURITY DEFINER
-- function like training; pruning deletes, so it is the admin's.
GRANT INSERT, UPDATE ON mlsys.baselines, mlsys.alerts, mlsys.drift_history TO mlsys_trainer;
GRANT USAGE ON SEQUENCE mlsys.check_id_seq, mlsys.alerts_id_seq, mlsys.drift_history_id_seq TO mlsys_trainer;
ALTER FUNCTION mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION
    mlsys.capture_baseline(text, int), mlsys._capture_baseline(text, int),
    mlsys.check(text), mlsys.resolve_alert(bigint),
    mlsys.import_model(text, jsonb),
    mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text),
    mlsys.prune(interval)
FROM mlsys_reader;
GRANT EXECUTE ON FUNCTION
    mlsys.capture_baseline(text, int), mlsys._capture_baseline(text, int),
    mlsys.check(text), mlsys.resolve_alert(bigint),
    mlsys.import_model(text, jsonb),
    mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text)
TO mlsys_trainer;
GRANT EXECUTE ON FUNCTION mlsys.prune(interval) TO mlsys_admin;
-- Citus: setting up the copy is the extension owner's (the function checks),
-- through admins; refilling one model's copy is internal
REVOKE EXECUTE ON FUNCTION mlsys.citus_setup(), mlsys._replicate_model(text) FROM mlsys_reader;
GRANT EXECUTE ON FUNCTION mlsys.citus_setup() TO mlsys_admin;
