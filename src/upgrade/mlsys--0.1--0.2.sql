-- mlsys 0.1 -> 0.2 (ALTER EXTENSION mlsys UPDATE). Every object added or
-- changed after 0.1 comes here as well as into the install script built from
-- src/mlsys.sql and src/sql/; test/t/009_upgrade.pl checks that an upgraded
-- installation and a fresh one have the same objects.
\echo Use "ALTER EXTENSION mlsys UPDATE" to load this file. \quit

-- Scheduling from any database
CREATE FUNCTION mlsys._require_pg_cron(p_there text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_cron_db text := pg_catalog.current_setting('cron.database_name', true);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron')
       AND v_cron_db IS NOT NULL AND v_cron_db <> pg_catalog.current_database() THEN
        RAISE EXCEPTION 'pg_cron keeps its jobs in database "%", not in "%"', v_cron_db, pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pg_cron''s jobs can be created and read only in the database named by cron.database_name.',
                  HINT = pg_catalog.format('Run this in database "%s": %s', v_cron_db, p_there);
    END IF;
    PERFORM mlsys._require_pg_cron();
END $$;
COMMENT ON FUNCTION mlsys._require_pg_cron(text) IS 'Raises an error whose hint is the statement to run in pg_cron''s database when called from another one, else as mlsys._require_pg_cron() (internal).';

CREATE OR REPLACE FUNCTION mlsys.schedule(model text, schedule text, action text DEFAULT 'retrain') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_job bigint;
BEGIN
    IF schedule.model IS NULL OR schedule.schedule IS NULL OR schedule.action IS NULL THEN
        RAISE EXCEPTION 'model, schedule and action must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF schedule.action NOT IN ('retrain', 'check', 'retrain_if_drifted') THEN
        RAISE EXCEPTION 'unrecognized action "%"', schedule.action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are retrain, check and retrain_if_drifted.';
    END IF;
    PERFORM 1 FROM mlsys.models m WHERE m.model = schedule.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', schedule.model USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM mlsys._require_pg_cron(pg_catalog.format('SELECT cron.schedule_in_database(%L, %L, %L, %L);',
        mlsys._job_name(schedule.model, schedule.action), schedule.schedule,
        pg_catalog.format('SELECT mlsys._run_job(%L, %L)', schedule.model, schedule.action),
        pg_catalog.current_database()));
    IF schedule.action <> 'retrain' AND pg_catalog.to_regprocedure('mlsys.check(text)') IS NULL THEN
        RAISE EXCEPTION 'function mlsys.check(text) does not exist'
            USING ERRCODE = 'undefined_function',
                  HINT = 'The check and retrain_if_drifted actions need the monitoring functions of mlsys.';
    END IF;
    -- same name again: pg_cron updates the existing job
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO v_job
      USING mlsys._job_name(schedule.model, schedule.action), schedule.schedule,
            pg_catalog.format('SELECT mlsys._run_job(%L, %L)', schedule.model, schedule.action);
    RETURN v_job;
END $$;
COMMENT ON FUNCTION mlsys.schedule(text, text, text) IS
'Schedules a model action (retrain, check or retrain_if_drifted) with pg_cron under the job name mlsys:<model>:<action>; returns the job id.';

CREATE OR REPLACE FUNCTION mlsys.unschedule(model text, action text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_job bigint;
    v_count int := 0;
BEGIN
    IF unschedule.model IS NULL THEN
        RAISE EXCEPTION 'model must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF unschedule.action IS NOT NULL AND unschedule.action NOT IN ('retrain', 'check', 'retrain_if_drifted') THEN
        RAISE EXCEPTION 'unrecognized action "%"', unschedule.action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are retrain, check and retrain_if_drifted.';
    END IF;
    PERFORM mlsys._require_pg_cron(pg_catalog.format(
        'SELECT cron.unschedule(jobid) FROM cron.job WHERE database = %L AND jobname IN (%s);',
        pg_catalog.current_database(),
        (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(mlsys._job_name(unschedule.model, a)), ', ')
           FROM pg_catalog.unnest(CASE WHEN unschedule.action IS NULL THEN ARRAY['retrain', 'check', 'retrain_if_drifted']
                                          ELSE ARRAY[unschedule.action] END) a)));
    FOR v_job IN EXECUTE 'SELECT j.jobid FROM cron.job j WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
        USING (SELECT pg_catalog.array_agg(mlsys._job_name(unschedule.model, a))
                 FROM pg_catalog.unnest(CASE WHEN unschedule.action IS NULL THEN ARRAY['retrain', 'check', 'retrain_if_drifted']
                                                ELSE ARRAY[unschedule.action] END) a)
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING v_job;
        v_count := v_count + 1;
    END LOOP;
    IF v_count = 0 THEN
        RAISE NOTICE 'model "%" has no scheduled %', unschedule.model, COALESCE(unschedule.action, 'action');
    END IF;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.unschedule(text, text) IS 'Removes the pg_cron jobs of a model (one action, or all when action is NULL); returns how many.';

CREATE OR REPLACE FUNCTION mlsys.schedules()
RETURNS TABLE (jobid bigint, model text, action text, schedule text, active bool, command text,
               last_status text, last_start timestamptz, last_end timestamptz, last_message text,
               runs bigint, last_training_status text, last_training_error text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM mlsys._require_pg_cron(pg_catalog.format(
        'SELECT jobid, jobname, schedule, active, command FROM cron.job WHERE database = %L AND jobname LIKE %L ORDER BY jobname;',
        pg_catalog.current_database(), 'mlsys:%'));
    RETURN QUERY EXECUTE $q$
        SELECT j.jobid, m[1], m[2], j.schedule, j.active, j.command,
               d.status, d.start_time, d.end_time, d.return_message,
               (SELECT pg_catalog.count(*) FROM cron.job_run_details x WHERE x.jobid OPERATOR(pg_catalog.=) j.jobid),
               t.status, t.error
          FROM cron.job j
         CROSS JOIN LATERAL pg_catalog.regexp_match(j.jobname, '^mlsys:(.*):(retrain|check|retrain_if_drifted)$') m
          LEFT JOIN LATERAL (SELECT x.status, x.start_time, x.end_time, x.return_message
                               FROM cron.job_run_details x WHERE x.jobid OPERATOR(pg_catalog.=) j.jobid
                              ORDER BY x.runid DESC LIMIT 1) d ON true
          LEFT JOIN LATERAL (SELECT r.status, r.error FROM mlsys.training_runs r
                              WHERE r.model OPERATOR(pg_catalog.=) m[1] AND r.kind OPERATOR(pg_catalog.=) 'scheduled'
                              ORDER BY r.id DESC LIMIT 1) t ON true
         ORDER BY m[1], m[2]
    $q$;
END $$;
COMMENT ON FUNCTION mlsys.schedules() IS
'The pg_cron jobs of mlsys with their last run (cron.job_run_details) and the last scheduled training run of their model.';

-- grants as the install script gives them (90_security.sql): a new function
-- is for readers unless it is listed there for trainers or admins
REVOKE EXECUTE ON FUNCTION mlsys._require_pg_cron(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._require_pg_cron(text) TO mlsys_reader;
