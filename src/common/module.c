/*
 * module.c — module entry point, settings, and the aggregate and result
 * helpers shared by every layer.
 *
 * _PG_init defines every mlsys.* setting, so that the settings exist (and
 * typos in the prefix are rejected) whatever the first call of a session is.
 * Subsystems register their own hooks on first use (the model cache its
 * invalidation callback). OpenBLAS is a module of its own, loaded on first
 * use (blas_load.c).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

#include "common/common.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* internal: the training run (mlsys.training_runs.id) the current transaction belongs to */
static char *mlsys_run_id = NULL;

/* mlsys.model_cache_size: memory (kB) a backend's model cache may keep */
int			mlsys_model_cache_kb = 131072;

/* mlsys.capture_baseline: does training capture the drift baseline? */
bool		mlsys_capture_baseline_on_train = true;

/* mlsys.default_recommender: the recommender used when model is null */
char	   *mlsys_default_recommender = NULL;

void
_PG_init(void)
{
	DefineCustomStringVariable("mlsys.run_id",
							   "Internal: the training run the current transaction belongs to.",
							   "Set by mlsys.retrain and scheduled jobs so that the versions they register are logged under their run.",
							   &mlsys_run_id, "", PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("mlsys.model_cache_size",
							"Memory each backend may keep for cached models.",
							"Least recently used models beyond it are evicted; a model in use by a running statement never is.",
							&mlsys_model_cache_kb, 131072, 64, INT_MAX / 2, PGC_USERSET,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomBoolVariable("mlsys.capture_baseline",
							 "Whether training captures the drift baseline of the new version.",
							 "Training gathers it in its evaluation pass. With it off, run mlsys.capture_baseline(model, version) before mlsys.drift needs it.",
							 &mlsys_capture_baseline_on_train, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("mlsys.default_recommender",
							   "Recommender used by the recommendation functions when model is null.",
							   "Empty means the one recommender that has a deployment.",
							   &mlsys_default_recommender, "", PGC_USERSET, 0, NULL, NULL, NULL);
	/* online logging's settings, and with shared_preload_libraries its ring and launcher */
	logring_define();
	/* every mlsys.* setting is defined above: reject typos such as mlsys.default_recomender */
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("mlsys");
#endif
}

/*
 * Refuse a training up front when its memory estimate (bytes) exceeds
 * maintenance_work_mem, the limit PostgreSQL applies to other maintenance
 * work such as CREATE INDEX: a clear error with a hint instead of a backend
 * killed by the kernel's out-of-memory killer.
 */
void
mlsys_check_training_memory(double bytes, const char *what)
{
	double		limit = (double) maintenance_work_mem * 1024.0;

	if (bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs about %.1f MB of memory, more than maintenance_work_mem (%.1f MB)",
						what, bytes / (1024.0 * 1024.0), limit / (1024.0 * 1024.0)),
				 errhint("Raise maintenance_work_mem for this session (SET maintenance_work_mem = '...'), or use fewer features, classes or factors.")));
}

/*
 * Check the arguments of a Newton pass's transition function (binary or
 * multinomial): (state, y, x, seed, test_size, params) for training or
 * (state, y, x, seed, folds, fold, params) for cross-validation.
 */
void
mlsys_check_pass_args(FunctionCallInfo fcinfo, bool by_fold)
{
	if (!by_fold)
	{
		if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("seed, cuts and parameters must not be null")));
		return;
	}
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed, cuts, fold and parameters must not be null")));
	if (PG_GETARG_INT32(5) < 1 || PG_GETARG_INT32(5) > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fold must be between 1 and 1000")));
}

/*
 * Are the transition function's arguments first .. last (0 is the state) the
 * same in every row of the aggregate: constants or parameters of the query
 * (never columns, per-row expressions or subquery outputs)? A transition
 * function can then check and convert them on its first row only.
 */
bool
mlsys_agg_args_stable(FunctionCallInfo fcinfo, int first, int last)
{
	Aggref	   *ag = AggGetAggref(fcinfo);
	ListCell   *lc;
	int			i = 1;

	if (ag == NULL)
		return false;
	foreach(lc, ag->args)
	{
		Node	   *e = (Node *) ((TargetEntry *) lfirst(lc))->expr;

		if (i >= first && i <= last &&
			!(IsA(e, Const) || (IsA(e, Param) && ((Param *) e)->paramkind == PARAM_EXTERN)))
			return false;
		i++;
	}
	return i > last;
}

/* the aggregate context, or an error when an aggregate support function is called directly */
MemoryContext
mlsys_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called as part of an aggregate", fname)));
	return aggcxt;
}

/*
 * The NULL cases shared by the combine functions of bytea-state aggregates
 * (call after mlsys_agg_context): with a NULL second state the first is the
 * result; with a NULL first state, a copy of the second (the executor moves a
 * new result into the aggregate context; the input itself is never returned).
 * Returns true when *result is decided, false when both states must be merged.
 */
bool
mlsys_combine_trivial(FunctionCallInfo fcinfo, Datum *result)
{
	if (PG_ARGISNULL(1))
	{
		fcinfo->isnull = PG_ARGISNULL(0);
		*result = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
		return true;
	}
	if (PG_ARGISNULL(0))
	{
		struct varlena *b = PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
		struct varlena *copy = palloc(VARSIZE(b));

		memcpy(copy, b, VARSIZE(b));
		*result = PointerGetDatum(copy);
		return true;
	}
	return false;
}

/* a one-dimensional float8[] of n values, which the caller fills */
ArrayType *
mlsys_float8_array_alloc(int n)
{
	ArrayType  *a;
	Size		size = ARR_OVERHEAD_NONULLS(1) + sizeof(double) * (Size) n;

	a = palloc(size);
	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT8OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	return a;
}

/* a one-dimensional float8[] holding n values */
ArrayType *
mlsys_float8_array(const double *values, int n)
{
	ArrayType  *a = mlsys_float8_array_alloc(n);

	memcpy(ARR_DATA_PTR(a), values, sizeof(double) * (Size) n);
	return a;
}

/* start returning rows from a set-returning (RETURNS TABLE) C function */
Tuplestorestate *
mlsys_begin_rows(FunctionCallInfo fcinfo, TupleDesc *desc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	MemoryContext oldcxt;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcxt);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;
	*desc = tupdesc;
	return store;
}

/* return a single row from a set-returning (RETURNS TABLE) C function */
void
mlsys_return_one_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	tupdesc;
	Tuplestorestate *store = mlsys_begin_rows(fcinfo, &tupdesc);

	tuplestore_putvalues(store, tupdesc, values, nulls);
}
