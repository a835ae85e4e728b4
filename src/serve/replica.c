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
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "serve/serve.h"

/*
 * The local relation that holds a table of mlsys_replica (SPI connected),
 * schema-qualified and quoted. On a Citus node it is the reference table's
 * shard: querying the reference table itself from a function that runs in
 * a shard's query would be a nested distributed query, which Citus
 * refuses. Elsewhere (no Citus, or no placement here) it is the table.
 * Remembered per table, and looked up again when the relation is gone.
 */
const char *
mlsys_replica_rel(const char *table)
{
	static const char *const tables[] = {"models", "model_versions", "live"};
	static char *names[lengthof(tables)];
	Oid			nsp = get_namespace_oid("mlsys_replica", false);
	int			t;
	char	   *name = NULL;

	for (t = 0; t < (int) lengthof(tables); t++)
		if (strcmp(tables[t], table) == 0)
			break;
	if (t == (int) lengthof(tables))
		elog(ERROR, "unknown table %s of mlsys_replica", table);
	if (names[t] != NULL && OidIsValid(get_relname_relid(strchr(names[t], '.') + 1, nsp)))
		return names[t];
	if (OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)))
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		arg = CStringGetTextDatum(psprintf("mlsys_replica.%s", table));
		bool		isnull;

		if (SPI_execute_with_args("SELECT s.shardid FROM pg_catalog.pg_dist_shard s "
								  "WHERE s.logicalrelid = $1::pg_catalog.regclass",
								  1, argtypes, &arg, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read pg_dist_shard");
		if (SPI_processed > 0)
		{
			int64		shardid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
															  SPI_tuptable->tupdesc, 1, &isnull));
			char	   *shard = psprintf("%s_" INT64_FORMAT, table, shardid);

			if (!isnull && OidIsValid(get_relname_relid(shard, nsp)))
				name = shard;
		}
	}
	if (name == NULL)
		name = pstrdup(table);
	if (names[t] != NULL)
		pfree(names[t]);
	names[t] = MemoryContextStrdup(TopMemoryContext, psprintf("mlsys_replica.%s", name));
	return names[t];
}

/* the copy's row of a model read from mlsys_replica: settings digest and live deployment (SPI connected) */
bool
mlsys_replica_row(Datum name_text, char **settings, int64 *deployment)
{
	Oid			argtypes[1] = {TEXTOID};
	bool		isnull;
	Datum		dep;

	if (SPI_execute_with_args(psprintf("SELECT pg_catalog.md5(m.settings::pg_catalog.text), l.deployment_id "
									   "FROM %s m LEFT JOIN %s l ON l.model = m.model WHERE m.model = $1",
									   mlsys_replica_rel("models"), mlsys_replica_rel("live")),
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
