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
--   mlsys_admin    deploy, rollback, configure, schedule, prune and drop; full
--                  rights on the registry tables.
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

-- Called by mlsys._insert_deployment (SECURITY DEFINER). A deployment is
-- allowed to a role that may insert into mlsys.deployments itself (admins),
-- or of a version the current transaction registered (a trainer's deploy
-- policy, a retrain's decision).
CREATE FUNCTION mlsys._authorize_deployment(p_model text, p_version int) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.has_table_privilege(mlsys._outer_user(), 'mlsys.deployments', 'INSERT') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM mlsys.model_versions v
                    WHERE v.model OPERATOR(pg_catalog.=) p_model AND v.version OPERATOR(pg_catalog.=) p_version
                      AND mlsys._xid_is_current(v.xmin)) THEN
        RAISE EXCEPTION 'permission denied to deploy version % of model "%"', p_version, p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Trainers deploy only the versions their own transaction trains, through the deploy policy.',
                  HINT = 'Ask a member of mlsys_admin to run mlsys.deploy.';
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._authorize_deployment(text, int) IS 'Raises insufficient_privilege unless the acting role may deploy this version (internal).';

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

-- A model's owner may give it away; admins may give any model to anyone.
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
    IF NOT (pg_catalog.pg_has_role(v_outer, 'mlsys_admin', 'MEMBER')
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                        WHERE r.oid OPERATOR(pg_catalog.=) v_owner::oid
                          AND pg_catalog.pg_has_role(v_outer, r.oid, 'MEMBER'))) THEN
        RAISE EXCEPTION 'permission denied to change the owner of model "%"', set_owner.model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Model "%s" is owned by %s; only its owner and members of mlsys_admin may give it to another role.',
                                             set_owner.model, v_owner),
                  HINT = 'Ask the owner or a member of mlsys_admin.';
    END IF;
    UPDATE mlsys.models m SET owner = set_owner.role WHERE m.model OPERATOR(pg_catalog.=) set_owner.model;
END $$;
COMMENT ON FUNCTION mlsys.set_owner(text, regrole) IS
'Gives a model to another role; allowed to the owner (and members of the owning role) and to mlsys_admin.';
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
    mlsys.set_owner(text, regrole)
TO mlsys_trainer;
GRANT EXECUTE ON FUNCTION
    mlsys.deploy(text, int), mlsys.rollback(text),
    mlsys.configure(text, jsonb), mlsys._configure(text, jsonb, regclass),
    mlsys.drop_model(text), mlsys.prune_versions(text, int),
    mlsys.schedule(text, text, text), mlsys.unschedule(text, text), mlsys._run_job(text, text)
TO mlsys_admin;

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
