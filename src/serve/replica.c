/*
 * replica.c — scoring on Citus workers: the model cache's view of
 * mlsys_replica, the copy of the registry that mlsys.citus_setup() makes as
 * Citus reference tables (src/sql/85_citus.sql).
 *
 * A worker's registry is empty, so cache.c loads a model there from the copy
 * and keeps what the copy's row of the model was (a digest of its settings
 * and its live deployment's id). Relcache invalidations do not cross nodes:
 * an entry read from the copy is compared with that row once per statement,
 * and reloaded when a deployment, a rollback or a setting changed it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "serve/serve.h"

/* the copy's row of a model read from mlsys_replica: settings digest and live deployment (SPI connected) */
bool
mlsys_replica_row(Datum name_text, char **settings, int64 *deployment)
{
	Oid			argtypes[1] = {TEXTOID};
	bool		isnull;
	Datum		dep;

	if (SPI_execute_with_args("SELECT pg_catalog.md5(m.settings::pg_catalog.text), l.deployment_id "
							  "FROM mlsys_replica.models m LEFT JOIN mlsys_replica.live l ON l.model = m.model "
							  "WHERE m.model = $1",
							  1, argtypes, &name_text, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys_replica.models");
	if (SPI_processed == 0)
		return false;
	*settings = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	dep = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*deployment = isnull ? 0 : DatumGetInt64(dep);
	return *settings != NULL;
}

/*
 * A model read from mlsys_replica: is the copy's row of it still what this
 * entry was loaded from? Asked once per statement: relcache invalidations
 * do not cross nodes.
 */
bool
mlsys_replica_fresh(CachedModel *m)
{
	int			pinned;
	bool		latest = !IsInParallelMode();
	bool		fresh;
	char	   *settings;
	int64		deployment;

	if (m->replica_lxid == MLSYS_LXID && m->replica_stmt == GetCurrentStatementStartTimestamp())
		return true;
	if (latest)
		PushActiveSnapshot(GetLatestSnapshot());
	SPI_connect();
	pinned = mlsys_pin_search_path();
	fresh = mlsys_replica_row(CStringGetTextDatum(m->name), &settings, &deployment) &&
		strcmp(settings, m->replica_settings) == 0 &&
		(m->requested != 0 || deployment == m->replica_deployment);
	mlsys_unpin_search_path(pinned);
	SPI_finish();
	if (latest)
		PopActiveSnapshot();
	if (fresh)
	{
		m->replica_lxid = MLSYS_LXID;
		m->replica_stmt = GetCurrentStatementStartTimestamp();
	}
	return fresh;
}
