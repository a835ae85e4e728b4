------------------------------------------------------------------------------
-- Scoring on Citus workers (src/sql/85_citus.sql).
--
-- Citus runs mlsys.predict and the other scoring functions of a query on a
-- distributed table on its workers, next to the rows, where the registry
-- tables are empty. mlsys.citus_setup() creates the schema mlsys_replica
-- with a copy of what scoring needs (models and their settings, versions,
-- the live version of each model) as Citus reference tables: every
-- node holds a copy, and a write on the coordinator reaches all of them in
-- its own transaction (Citus commits reference tables with two-phase commit),
-- so a deployment that commits is on every worker and one that fails is
-- nowhere. Row triggers on the registry keep the copy; they do nothing until
-- citus_setup() ran. The copy is not part of the extension: Citus cannot
-- distribute extension-owned tables with triggers and views, so these are
-- plain tables owned by the extension's owner.
--
-- The model cache (src/serve/cache.c) reads the copy when the model is not
-- in the local registry (a worker), and checks the copy's row of the model
-- once per statement, since relcache invalidations do not cross nodes.
------------------------------------------------------------------------------

-- copy one model's versions and live version into mlsys_replica, or only its
-- row when it is private: a private model's parameters stay in the registry,
-- behind its row-level security, and are scored on the coordinator only
CREATE FUNCTION mlsys._replicate_model(p_model text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM mlsys_replica.live l WHERE l.model OPERATOR(pg_catalog.=) p_model;
    DELETE FROM mlsys_replica.model_versions v WHERE v.model OPERATOR(pg_catalog.=) p_model;
    DELETE FROM mlsys_replica.models m WHERE m.model OPERATOR(pg_catalog.=) p_model;
    INSERT INTO mlsys_replica.models (model, settings)
    SELECT m.model, m.settings FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) p_model;
    IF NOT FOUND OR mlsys._setting(p_model, 'private') OPERATOR(pg_catalog.=) 'true'::jsonb THEN
        RETURN;
    END IF;
    INSERT INTO mlsys_replica.model_versions (model, version, algorithm, params, feature_columns, feature_lengths,
                                              classes, hyperparams, target_type, preprocessing, profile)
    SELECT v.model, v.version, v.algorithm, v.params, v.feature_columns, v.feature_lengths,
           v.classes, v.hyperparams, v.target_type, v.preprocessing, v.profile
      FROM mlsys.model_versions v WHERE v.model OPERATOR(pg_catalog.=) p_model;
    INSERT INTO mlsys_replica.live (model, version, deployment_id)
    SELECT d.model, d.version, d.id FROM mlsys.deployments d
     WHERE d.model OPERATOR(pg_catalog.=) p_model ORDER BY d.id DESC LIMIT 1;
END $$;
COMMENT ON FUNCTION mlsys._replicate_model(text) IS
'Copies a model''s row, versions and live version into mlsys_replica (only its row when it is private) (internal).';

-- keep mlsys_replica in step with one registry row change (a no-op before
-- citus_setup); runs as the extension's owner, who owns the copy
CREATE FUNCTION mlsys._replicate_registry() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_model text;
BEGIN
    IF pg_catalog.to_regclass('mlsys_replica.live') IS NULL THEN
        RETURN NULL;
    END IF;
    v_model := CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN OLD.model ELSE NEW.model END;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'models' THEN
        IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE'
           AND OLD.settings OPERATOR(pg_catalog.=) NEW.settings THEN
            RETURN NULL;     -- last_version or the owner: nothing a worker reads
        END IF;
        PERFORM mlsys._replicate_model(v_model);
    ELSIF mlsys._setting(v_model, 'private') OPERATOR(pg_catalog.=) 'true'::jsonb THEN
        RETURN NULL;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'model_versions' THEN
        DELETE FROM mlsys_replica.model_versions v
         WHERE v.model OPERATOR(pg_catalog.=) v_model
           AND v.version OPERATOR(pg_catalog.=) CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN OLD.version ELSE NEW.version END;
        IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN
            INSERT INTO mlsys_replica.model_versions (model, version, algorithm, params, feature_columns, feature_lengths,
                                                      classes, hyperparams, target_type, preprocessing, profile)
            VALUES (NEW.model, NEW.version, NEW.algorithm, NEW.params, NEW.feature_columns, NEW.feature_lengths,
                    NEW.classes, NEW.hyperparams, NEW.target_type, NEW.preprocessing, NEW.profile);
        END IF;
    ELSE
        -- deployments: the live version is the newest deployment left
        DELETE FROM mlsys_replica.live l WHERE l.model OPERATOR(pg_catalog.=) v_model;
        INSERT INTO mlsys_replica.live (model, version, deployment_id)
        SELECT d.model, d.version, d.id FROM mlsys.deployments d
         WHERE d.model OPERATOR(pg_catalog.=) v_model ORDER BY d.id DESC LIMIT 1;
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION mlsys._replicate_registry() IS
'Trigger: copies a registry change into mlsys_replica, the Citus reference tables scoring reads on workers, once mlsys.citus_setup() created them (internal).';

CREATE TRIGGER replicate AFTER INSERT OR UPDATE OR DELETE ON mlsys.models
    FOR EACH ROW EXECUTE FUNCTION mlsys._replicate_registry();
CREATE TRIGGER replicate AFTER INSERT OR UPDATE OR DELETE ON mlsys.model_versions
    FOR EACH ROW EXECUTE FUNCTION mlsys._replicate_registry();
CREATE TRIGGER replicate AFTER INSERT OR DELETE ON mlsys.deployments
    FOR EACH ROW EXECUTE FUNCTION mlsys._replicate_registry();

-- Create (or refill) mlsys_replica and, with Citus, make its tables
-- reference tables. Run by the extension's owner on the coordinator.
CREATE FUNCTION mlsys.citus_setup() RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_owner regrole := (SELECT e.extowner::regrole FROM pg_catalog.pg_extension e
                         WHERE e.extname OPERATOR(pg_catalog.=) 'mlsys');
    v_citus bool := EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus');
    v_table text;
    v_models bigint;
    v_versions bigint;
BEGIN
    IF NOT pg_catalog.pg_has_role(CURRENT_USER, v_owner::oid, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to set up mlsys for Citus'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('The copy of the registry belongs to the extension''s owner, %s.', v_owner),
                  HINT = pg_catalog.format('Run it as %s on the coordinator.', v_owner);
    END IF;
    IF pg_catalog.to_regclass('mlsys_replica.live') IS NULL THEN
        CREATE SCHEMA IF NOT EXISTS mlsys_replica;
        CREATE TABLE mlsys_replica.models (
            model    text PRIMARY KEY,
            settings jsonb NOT NULL
        );
        CREATE TABLE mlsys_replica.model_versions (
            model           text NOT NULL,
            version         int NOT NULL,
            algorithm       text NOT NULL,
            params          bytea NOT NULL,
            feature_columns text[] NOT NULL,
            feature_lengths int[] NOT NULL,
            classes         text[],
            hyperparams     jsonb NOT NULL,
            target_type     text,
            preprocessing   jsonb,
            profile         jsonb,
            PRIMARY KEY (model, version)
        );
        CREATE TABLE mlsys_replica.live (
            model         text PRIMARY KEY,
            version       int NOT NULL,
            deployment_id bigint NOT NULL
        );
        IF v_citus THEN
            FOREACH v_table IN ARRAY ARRAY['models', 'model_versions', 'live'] LOOP
                EXECUTE 'SELECT create_reference_table($1)' USING pg_catalog.format('mlsys_replica.%I', v_table);
            END LOOP;
        END IF;
        GRANT USAGE ON SCHEMA mlsys_replica TO mlsys_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA mlsys_replica TO mlsys_reader;
    END IF;
    -- (re)fill from the registry, in this transaction
    DELETE FROM mlsys_replica.live;
    DELETE FROM mlsys_replica.model_versions;
    DELETE FROM mlsys_replica.models;
    PERFORM mlsys._replicate_model(m.model) FROM mlsys.models m;
    SELECT pg_catalog.count(*) INTO v_models FROM mlsys_replica.models;
    SELECT pg_catalog.count(*) INTO v_versions FROM mlsys_replica.model_versions;
    RETURN pg_catalog.format('%s models and %s versions copied to mlsys_replica%s', v_models, v_versions,
                             CASE WHEN v_citus THEN ' (Citus reference tables)' ELSE ' (no Citus: plain tables)' END);
END $$;
COMMENT ON FUNCTION mlsys.citus_setup() IS
'Creates (or refills) mlsys_replica: the models, versions and live versions that scoring needs on Citus workers (private models: their name only), as reference tables kept by triggers on the registry; run once on the coordinator by the extension''s owner.';
