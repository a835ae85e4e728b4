/*
 * cache.c — the backend-local model cache and its invalidation.
 *
 * A cached model is one parsed model version (parameters and feature spec) in
 * its own memory context under CacheMemoryContext, keyed by (model name,
 * requested version), where requested version 0 means "the live version".
 *
 * Invalidation without a per-call query: statement-level triggers on
 * mlsys.deployments and mlsys.model_versions call mlsys._registry_changed(),
 * which queues a relcache invalidation for that table. PostgreSQL delivers it
 * to every backend at commit (and to hot standbys through WAL); our relcache
 * callback then bumps cache_generation, and every entry loaded under an older
 * generation is reloaded on its next lookup. If the writing transaction
 * aborts, PostgreSQL replays the invalidation locally, so a model loaded from
 * uncommitted registry rows is dropped too. The callback reads no catalogs.
 *
 * Snapshots: the registry is read under the latest snapshot, like the
 * catalogs, so what is cached is what is committed now, whatever the caller's
 * isolation level. In parallel mode no new snapshot may be taken; a model
 * loaded there (under the query's snapshot) is trusted for the rest of that
 * transaction only.
 *
 * Pinning: a scoring call site pins the model it uses for as long as it
 * serves one statement (see scoring.c), so a reload in the middle of a
 * statement never frees a model still in use and never mixes versions within
 * it. A model replaced while pinned is detached from the hash and freed at its
 * last unpin.
 *
 * Size: each entry records the memory its context holds; after a load, least
 * recently used entries are evicted until the cache is within
 * mlsys.model_cache_size (unpinned ones only, so a statement in flight keeps
 * the version it started with; a pinned model may keep the cache above the
 * limit until it is released). mlsys.warm() preloads models for a new
 * connection; mlsys.cached_models() shows what a backend holds.
 *
 * Private models: the cache is shared by every role a backend runs as (SET
 * ROLE, SECURITY DEFINER functions, pooled connections), so a private model
 * is served only to a role mlsys._check_model_access allowed: asked at load
 * before any of its rows is read, and for each new role. The answers hold
 * until a grant, an owner, the model's settings or a role membership
 * changes: a statement trigger on mlsys.model_grants (like the registry's)
 * and a syscache callback on pg_authid and pg_auth_members bump
 * access_generation, and every answer older than it is asked again. Asking
 * per statement instead cost a query per single-row call.
 *
 * Citus workers: a query on a distributed table scores on the workers,
 * whose registry is empty. There the model is read from mlsys_replica (see
 * src/sql/85_citus.sql), Citus reference tables that every deployment
 * writes in its own transaction; such an entry (replica) checks the copy's
 * row of its model once per statement, since relcache invalidations do not
 * cross nodes, and is reloaded when a deployment or a setting changed it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "storage/sinval.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "funcapi.h"

#include "serve/serve.h"

typedef struct CacheKey
{
	char		name[NAMEDATALEN];
	int32		requested;
} CacheKey;

typedef struct CacheEntry
{
	CacheKey	key;
	CachedModel *model;
} CacheEntry;

static HTAB *model_cache = NULL;
static uint64 cache_generation = 1;
static uint64 access_generation = 1;
static uint64 lru_clock = 0;
static Oid	deployments_oid = InvalidOid;
static Oid	versions_oid = InvalidOid;
static Oid	models_oid = InvalidOid;
static Oid	grants_oid = InvalidOid;

/* relcache callback: any change to a registry table makes every entry stale */
static void
registry_invalidated(Datum arg, Oid relid)
{
	if (relid == InvalidOid || deployments_oid == InvalidOid ||
		relid == deployments_oid || relid == versions_oid || relid == models_oid)
	{
		cache_generation++;
		access_generation++;
		/* the tables may have been dropped and recreated: look them up again */
		deployments_oid = InvalidOid;
		versions_oid = InvalidOid;
		models_oid = InvalidOid;
		grants_oid = InvalidOid;
	}
	else if (relid == grants_oid)
		access_generation++;
}

/* syscache callback: a role or a membership changed, so may who holds a grant */
static void
roles_invalidated(Datum arg, int cacheid, uint32 hashvalue)
{
	access_generation++;
}

/*
 * Register the relcache callback on the cache's first use in a process:
 * nothing is cached before then, so no invalidation can be missed.
 */
static void
cache_register_callback(void)
{
	static bool registered = false;

	if (!registered)
	{
		CacheRegisterRelcacheCallback(registry_invalidated, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, roles_invalidated, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, roles_invalidated, (Datum) 0);
		registered = true;
	}
}

void
mlsys_cache_pin(CachedModel *m)
{
	m->pins++;
}

void
mlsys_cache_unpin(CachedModel *m)
{
	Assert(m->pins > 0);
	if (--m->pins == 0 && m->detached)
		MemoryContextDelete(m->cxt);
}

/* first column of the first row of the last SPI query, or NULL */
static bool
spi_first_value(Datum *value)
{
	bool		isnull;

	if (SPI_processed == 0)
		return false;
	*value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull;
}

/* where a model is read: the registry, or on a Citus worker its copy */
#define REGISTRY(replica, table) ((replica) ? mlsys_replica_rel(table) : "mlsys." table)

/* raise "model does not exist" unless the registry (or its copy) has the name (SPI connected) */
static void
model_must_exist(const char *name, Datum name_text, bool replica)
{
	Oid			argtypes[1] = {TEXTOID};

	if (SPI_execute_with_args(psprintf("SELECT 1 FROM %s WHERE model = $1", REGISTRY(replica, "models")),
							  1, argtypes, &name_text, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
}

/*
 * How a live recommender serves (its "serve" setting) and where its
 * precomputed lists are (SPI connected). Settings changes reach every
 * backend as registry changes do: a trigger on mlsys.models. Writes to
 * mlsys.recommendations do not: the lists are looked up per call.
 */
static void
cache_load_serving(CachedModel *m, Datum name_text)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		d;
	Oid			nsp = get_namespace_oid("mlsys", false);

	if (SPI_execute_with_args("SELECT m.settings ->> 'serve' FROM mlsys.models m WHERE m.model = $1",
							  1, argtypes, &name_text, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.models");
	/* a worker holds no precomputed lists: it scores live */
	m->serve_precomputed = !m->replica && spi_first_value(&d) &&
		strcmp(TextDatumGetCString(d), "precomputed") == 0;
	/* absent in a database whose extension scripts are older than this library */
	m->recs_relid = get_relname_relid("recommendations", nsp);
	m->recs_index = get_relname_relid("recommendations_pkey", nsp);
	if (!OidIsValid(m->recs_relid) || !OidIsValid(m->recs_index))
		m->serve_precomputed = false;
}

/*
 * The model's online logging settings (SPI connected): they reach every
 * backend as "serve" does. Only the live version is logged: a call that
 * names a version (predict_batch, retrain's scoring, a baseline capture)
 * is not online traffic.
 */
static void
cache_load_logging(CachedModel *m, Datum name_text)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		d;

	if (SPI_execute_with_args(psprintf("SELECT CASE WHEN pg_catalog.jsonb_typeof(m.settings -> 'log_sample') = 'number' "
									   "THEN (m.settings ->> 'log_sample')::pg_catalog.float8 END, "
									   "m.settings ->> 'log_entity' FROM %s m WHERE m.model = $1",
									   REGISTRY(m->replica, "models")),
							  1, argtypes, &name_text, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.models");
	m->log_sample = 0;
	m->log_entity = NULL;
	if (spi_first_value(&d))
		m->log_sample = Min(Max(DatumGetFloat8(d), 0.0), 1.0);
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		e = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		/* SPI switched to its own context: keep the name with the model */
		if (!isnull)
			m->log_entity = MemoryContextStrdup(m->cxt, TextDatumGetCString(e));
	}
}

/*
 * Is the model private (SPI connected)? If so, raise insufficient_privilege
 * unless the current user may use it. Settings changes reach every backend
 * through the trigger on mlsys.models, as "serve" does. *replica tells
 * whether the model is read from mlsys_replica: not in the registry, and
 * the copy exists (a Citus worker). A private model's parameters are not
 * copied: it is scored on the coordinator only.
 */
static bool
cache_check_private(const char *name, Datum name_text, bool *replica)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		d;
	bool		found;

	if (SPI_execute_with_args("SELECT m.settings @> '{\"private\": true}' FROM mlsys.models m WHERE m.model = $1",
							  1, argtypes, &name_text, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.models");
	found = SPI_processed > 0;
	*replica = !found && OidIsValid(get_namespace_oid("mlsys_replica", true));
	if (*replica)
	{
		if (SPI_execute_with_args(psprintf("SELECT m.settings @> '{\"private\": true}' FROM %s m WHERE m.model = $1",
										   mlsys_replica_rel("models")),
								  1, argtypes, &name_text, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read mlsys_replica.models");
		if (spi_first_value(&d) && DatumGetBool(d))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("private model \"%s\" cannot be scored on a Citus worker", name),
					 errdetail("A private model's parameters stay in the coordinator's registry."),
					 errhint("Score it on the coordinator (for example from a local copy of the rows), or make it not private.")));
		return false;
	}
	if (!spi_first_value(&d) || !DatumGetBool(d))
		return false;
	mlsys_check_model_access(name_text);
	return true;
}

/* remember that the current role may use the model (until access_generation moves) */
static void
cache_access_granted(CachedModel *m)
{
	if (m->access_generation != access_generation)
	{
		m->naccess = 0;
		m->access_generation = access_generation;
	}
	if (m->naccess == MLSYS_ACCESS_ROLES)
		m->naccess = 0;			/* many roles take turns: start again */
	m->access_roles[m->naccess++] = GetUserId();
}

/* may the current role use this private model, as far as the cache knows? */
bool
mlsys_cache_access_known(const CachedModel *m)
{
	Oid			role = GetUserId();
	int			i;

	if (m->access_generation != access_generation)
		return false;
	for (i = 0; i < m->naccess; i++)
		if (m->access_roles[i] == role)
			return true;
	return false;
}

/*
 * Check a cached private model for the current role, unless the cache knows
 * it may: another role, a revoked privilege or a changed membership is
 * asked again at its first call (invalidations arrive at the start of
 * every lookup), and no row pays for it.
 */
static void
cache_check_access(CachedModel *m)
{
	int			pinned;
	bool		latest = !IsInParallelMode();

	if (mlsys_cache_access_known(m))
		return;
	if (latest)
		PushActiveSnapshot(GetLatestSnapshot());
	SPI_connect();
	pinned = mlsys_pin_search_path();
	mlsys_check_model_access(CStringGetTextDatum(m->name));
	mlsys_unpin_search_path(pinned);
	SPI_finish();
	if (latest)
		PopActiveSnapshot();
	cache_access_granted(m);
}

/* load one model version from the registry into a new memory context */
static CachedModel *
cache_load(const char *name, int32 requested)
{
	MemoryContext cxt,
				oldcxt;
	CachedModel *m;
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	Datum		d;
	int32		version = requested;
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	char	   *algorithm;
	const ModelFamily *family;
	int			pinned;

	bool		latest = !IsInParallelMode();
	bool		private_model;
	bool		replica;

	/* lives in the caller's context until fully loaded, so an error frees it */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "mlsys cached model",
								ALLOCSET_SMALL_SIZES);
	if (latest)
		PushActiveSnapshot(GetLatestSnapshot());
	SPI_connect();
	pinned = mlsys_pin_search_path();	/* the caller's operators cannot hijack these queries */
	if (deployments_oid == InvalidOid)
	{
		Oid			nsp = get_namespace_oid("mlsys", false);

		deployments_oid = get_relname_relid("deployments", nsp);
		versions_oid = get_relname_relid("model_versions", nsp);
		models_oid = get_relname_relid("models", nsp);
		grants_oid = get_relname_relid("model_grants", nsp);
	}
	args[0] = CStringGetTextDatum(name);
	/* before any of its rows: a private model's are hidden from other roles */
	private_model = cache_check_private(name, args[0], &replica);
	if (requested == 0)
	{
		if (SPI_execute_with_args(replica ?
								  psprintf("SELECT l.version FROM %s l WHERE l.model = $1", mlsys_replica_rel("live")) :
								  "SELECT d.version FROM mlsys.deployments d "
								  "WHERE d.model = $1 ORDER BY d.id DESC LIMIT 1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the deployments");
		if (!spi_first_value(&d))
		{
			model_must_exist(name, args[0], replica);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" has no deployed version", name),
					 errhint("Deploy a version with mlsys.deploy('%s', version), or train with deploy => 'most_recent'.",
							 name)));
		}
		version = DatumGetInt32(d);
	}
	args[1] = Int32GetDatum(version);
	if (SPI_execute_with_args(psprintf("SELECT v.algorithm, v.params, v.feature_columns, v.feature_lengths, "
									   "v.classes, v.hyperparams ->> 'positive_class', v.target_type, v.preprocessing "
									   "FROM %s v WHERE v.model = $1 AND v.version = $2",
									   REGISTRY(replica, "model_versions")),
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model versions");
	if (SPI_processed == 0)
	{
		model_must_exist(name, args[0], replica);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, name)));
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	oldcxt = MemoryContextSwitchTo(cxt);
	m = palloc0(sizeof(CachedModel));
	strlcpy(m->name, name, NAMEDATALEN);
	m->requested = requested;
	m->version = version;
	m->cxt = cxt;
	m->private_model = private_model;
	if (private_model)
		cache_access_granted(m);
	m->replica = replica;
	algorithm = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
	family = mlsys_family_by_algorithm(algorithm);
	if (family == NULL || family->load == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("version %d of model \"%s\" uses algorithm \"%s\", which this build of mlsys cannot score",
						version, name, algorithm)));
	/* the family verifies and parses its blob into the model's context */
	{
		Datum		bd = SPI_getbinval(tup, desc, 2, &isnull);
		bytea	   *blob = DatumGetByteaPP(bd);

		family->load(blob, &m->loaded);
		/* the family copied what it keeps: the detoasted copy would only take room */
		if ((Pointer) blob != DatumGetPointer(bd))
			pfree(blob);
	}
	m->loaded.family = family;
	if (m->loaded.nfeat == 0)
	{
		/* a recommender (recommend.c): factors only, no feature spec */
		m->als = (AlsModel *) m->loaded.model;
		if (requested == 0)
			cache_load_serving(m, args[0]);
		goto loaded;
	}
	if (mlsys_family_by_kind(m->loaded.kind) != family)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model parameters are corrupted"),
				 errdetail("Version %d of model \"%s\" holds parameters of another algorithm.", version, name)));
	m->linear = (LinearModel *) m->loaded.model;
	if (m->loaded.nclasses > 0)
	{
		Datum		cd = SPI_getbinval(tup, desc, 5, &isnull);
		Datum	   *elems;
		bool	   *nulls;
		char	   *pos,
				   *ttype;
		int			i;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("classifier version %d of model \"%s\" has no classes", version, name)));
		deconstruct_array(DatumGetArrayTypeP(cd), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &m->nclasses);
		if (m->nclasses != m->loaded.nclasses)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("classifier version %d of model \"%s\" has %d classes, its parameters another number",
							version, name, m->nclasses)));
		m->classes = palloc(sizeof(char *) * m->nclasses);
		for (i = 0; i < m->nclasses; i++)
			m->classes[i] = nulls[i] ? "" : TextDatumGetCString(elems[i]);
		pos = SPI_getvalue(tup, desc, 6);
		m->positive = (pos != NULL && strcmp(pos, m->classes[0]) == 0) ? 0 : 1;
		ttype = SPI_getvalue(tup, desc, 7);
		m->numeric_labels = ttype != NULL &&
			(strcmp(ttype, "boolean") == 0 || strcmp(ttype, "smallint") == 0 ||
			 strcmp(ttype, "integer") == 0 || strcmp(ttype, "bigint") == 0);
		if (m->numeric_labels)
		{
			m->label_values = palloc(sizeof(double) * m->nclasses);
			for (i = 0; i < m->nclasses; i++)
				m->label_values[i] = strcmp(m->classes[i], "true") == 0 ? 1.0 :
					strcmp(m->classes[i], "false") == 0 ? 0.0 : strtod(m->classes[i], NULL);
		}
	}
	{
		bool		pp_null;
		Datum		pp = SPI_getbinval(tup, desc, 8, &pp_null);

		m->spec = features_from_arrays(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)),
									   DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
									   pp_null ? NULL : DatumGetJsonbP(pp));
	}
	if (m->spec->nfeat != m->loaded.nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model parameters are corrupted"),
				 errdetail("Version %d of model \"%s\" has %d coefficients for %d features.",
						   version, name, m->loaded.nfeat, m->spec->nfeat)));
loaded:
	if (requested == 0)
		cache_load_logging(m, args[0]);
	if (replica)
	{
		char	   *settings;

		if (!mlsys_replica_row(args[0], &settings, &m->replica_deployment))
			settings = "";
		m->replica_settings = pstrdup(settings);	/* in the model's context */
		m->replica_lxid = MLSYS_LXID;
		m->replica_stmt = GetCurrentStatementStartTimestamp();
	}
	m->latest = latest;
	m->lxid = MLSYS_LXID;
	MemoryContextSwitchTo(oldcxt);
	mlsys_unpin_search_path(pinned);
	SPI_finish();
	if (latest)
		PopActiveSnapshot();

	MemoryContextSetParent(cxt, CacheMemoryContext);
	return m;
}

static void cache_enforce_limit(CachedModel *keep);

/*
 * The cached model for (name, version), loading or reloading it when the
 * registry changed since it was loaded. version 0 means the live version.
 */
CachedModel *
mlsys_cache_get(const char *name, int32 version)
{
	CacheKey	key;
	CacheEntry *entry;
	CachedModel *old;
	bool		found;
	uint64		generation;

	cache_register_callback();
	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	if (version < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be a positive number")));

	/* see registry changes committed by other backends */
	AcceptInvalidationMessages();

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(CacheKey);
		ctl.entrysize = sizeof(CacheEntry);
		ctl.hcxt = CacheMemoryContext;
		model_cache = hash_create("mlsys model cache", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	strlcpy(key.name, name, NAMEDATALEN);
	key.requested = version;
	entry = hash_search(model_cache, &key, HASH_ENTER, &found);
	if (!found)
		entry->model = NULL;
	if (entry->model != NULL && entry->model->generation == cache_generation &&
		(entry->model->latest || entry->model->lxid == MLSYS_LXID))
	{
		if (!entry->model->replica || mlsys_replica_fresh(entry->model))
		{
			if (entry->model->private_model)
				cache_check_access(entry->model);
			entry->model->last_used = ++lru_clock;
			return entry->model;
		}
	}

	old = entry->model;
	entry->model = NULL;
	if (old != NULL)
	{
		if (old->pins == 0)
			MemoryContextDelete(old->cxt);
		else
			old->detached = true;
	}
	/* invalidations that arrive while loading must make the result stale */
	generation = cache_generation;
	PG_TRY();
	{
		entry->model = cache_load(name, version);
	}
	PG_CATCH();
	{
		/* a failed load leaves no entry behind (the hash is keyed by user input) */
		hash_search(model_cache, &key, HASH_REMOVE, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	entry->model->generation = generation;
	entry->model->last_used = ++lru_clock;
	entry->model->bytes = MemoryContextMemAllocated(entry->model->cxt, true);
	old = entry->model;
	cache_enforce_limit(old);
	return old;
}

/*
 * Evict least recently used models until the cache holds at most
 * mlsys.model_cache_size, never one that is pinned (a running statement uses
 * it) and never keep (the model just loaded, which the caller is about to use).
 */
static void
cache_enforce_limit(CachedModel *keep)
{
	Size		limit = (Size) mlsys_model_cache_kb * 1024;

	for (;;)
	{
		HASH_SEQ_STATUS seq;
		CacheEntry *e,
				   *victim = NULL;
		Size		total = 0;

		hash_seq_init(&seq, model_cache);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			if (e->model == NULL)
				continue;
			total += e->model->bytes;
			if (e->model != keep && e->model->pins == 0 &&
				(victim == NULL || e->model->last_used < victim->model->last_used))
				victim = e;
		}
		if (total <= limit || victim == NULL)
			return;
		MemoryContextDelete(victim->model->cxt);
		hash_search(model_cache, &victim->key, HASH_REMOVE, NULL);
	}
}

PG_FUNCTION_INFO_V1(cached_models);
/*
 * mlsys.cached_models() RETURNS TABLE (model text, requested int, version int,
 * bytes bigint, pins int): this backend's model cache.
 */
Datum
cached_models(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *store = mlsys_begin_rows(fcinfo, &tupdesc);
	HASH_SEQ_STATUS seq;
	CacheEntry *e;

	if (model_cache == NULL)
		return (Datum) 0;
	hash_seq_init(&seq, model_cache);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		if (e->model == NULL)
			continue;
		values[0] = CStringGetTextDatum(e->model->name);
		values[1] = Int32GetDatum(e->model->requested);
		values[2] = Int32GetDatum(e->model->version);
		values[3] = Int64GetDatum((int64) e->model->bytes);
		values[4] = Int32GetDatum(e->model->pins);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(warm_models);
/*
 * mlsys.warm(models text[] DEFAULT NULL) RETURNS int: load the live versions
 * of the given models (NULL: every deployed model) into this backend's cache,
 * for a connection pool's connect query; returns how many are cached.
 */
Datum
warm_models(PG_FUNCTION_ARGS)
{
	int			n = 0;

	if (!PG_ARGISNULL(0))
	{
		Datum	   *elems;
		bool	   *nulls;
		int			count,
					i;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &count);
		for (i = 0; i < count; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("model names must not be null")));
			mlsys_cache_get(TextDatumGetCString(elems[i]), 0);
			n++;
		}
	}
	else
	{
		MemoryContext outer = CurrentMemoryContext;
		List	   *names = NIL;
		ListCell   *lc;
		uint64		i;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT DISTINCT d.model FROM mlsys.deployments d ORDER BY 1", true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read mlsys.deployments");
		for (i = 0; i < SPI_processed; i++)
		{
			/* the list outlives SPI_finish: build it in the caller's context */
			char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			MemoryContext spi = MemoryContextSwitchTo(outer);

			names = lappend(names, pstrdup(name));
			MemoryContextSwitchTo(spi);
		}
		SPI_finish();
		foreach(lc, names)
		{
			mlsys_cache_get((char *) lfirst(lc), 0);
			n++;
		}
	}
	/* a limit lowered since the last load applies now */
	if (model_cache != NULL)
		cache_enforce_limit(NULL);
	PG_RETURN_INT32(n);
}

/* bumped by every registry change: callers may remember lookups until it moves */
uint64
mlsys_cache_generation(void)
{
	cache_register_callback();
	return cache_generation;
}

PG_FUNCTION_INFO_V1(registry_changed);
/* trigger: queue a cache invalidation for the changed registry table */
Datum
registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "registry_changed: not called by trigger manager");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
