/*
 * explain.c — why a model scores a row as it does: mlsys.explain, each
 * feature's contribution to one prediction, and mlsys.feature_importance,
 * what each source column weighs in a version overall.
 *
 * An explanation is the family's explain callback (family.h) on the feature
 * vector mlsys.predict would score, through the same call site (scoring.c):
 * one row per expanded feature and one "<bias>" row per raw output (the
 * value, the positive class's log-odds, or each class's margin), adding up
 * to that output. Linear models measure a feature from its training mean,
 * which the version's profile holds (model_versions.profile -> 'features');
 * the call site keeps those means until the registry changes.
 *
 * Feature importance sums the expanded features of each source column: the
 * trees' split gain (feature_gain), and the mean absolute contribution over
 * the sample of training rows registration kept (mlsys.explain_samples,
 * written by train/explain_sample.c).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "serve/serve.h"

/* a call site's explanation state (ScoreCall's extra slot) */
typedef struct ExplainCall
{
	CachedModel *model;			/* the model the means belong to */
	uint64		generation;		/* the registry generation they were read in */
	double	   *mean;			/* nfeat training means, or NULL: none */
	double	   *contrib;		/* nout × (nfeat + 1) */
	int			cap;			/* its length */
} ExplainCall;

/* a double from a JSON number (NaN when not a finite number) */
static double
json_number(JsonbValue *v)
{
	double		d;

	if (v == NULL || v->type != jbvNumeric)
		return get_float8_nan();
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
										   NumericGetDatum(v->val.numeric)));
	return isfinite(d) ? d : get_float8_nan();
}

/*
 * The training mean of each expanded feature of a version, from its profile,
 * allocated in cxt; NULL unless the profile has a finite mean for every
 * feature, in model order under the spec's names (an imported version may
 * have no profile). Connects to SPI itself.
 */
static double *
profile_means(const CachedModel *m, MemoryContext cxt)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	Datum		d;
	bool		isnull;
	double	   *mean = NULL;
	int			pinned,
				j;

	args[0] = CStringGetTextDatum(m->name);
	args[1] = Int32GetDatum(m->version);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pinned = mlsys_pin_search_path();
	/* on a Citus worker the version is in the registry's copy */
	if (SPI_execute_with_args(m->replica ?
							  psprintf("SELECT v.profile -> 'features' FROM %s v "
									   "WHERE v.model = $1 AND v.version = $2", mlsys_replica_rel("model_versions")) :
							  "SELECT v.profile -> 'features' FROM mlsys.model_versions v "
							  "WHERE v.model = $1 AND v.version = $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.model_versions");
	if (SPI_processed == 1)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			Jsonb	   *features = DatumGetJsonbP(d);
			int			n = JB_ROOT_IS_ARRAY(features) && !JB_ROOT_IS_SCALAR(features) ?
				(int) JB_ROOT_COUNT(features) : -1;

			if (n == m->spec->nfeat)
			{
				mean = MemoryContextAlloc(cxt, sizeof(double) * n);
				for (j = 0; j < n && mean != NULL; j++)
				{
					JsonbValue *f = getIthJsonbValueFromContainer(&features->root, j);
					JsonbValue *name = NULL;

					mean[j] = get_float8_nan();
					if (f != NULL && f->type == jbvBinary && JsonContainerIsObject(f->val.binary.data))
					{
						name = getKeyJsonValueFromContainer(f->val.binary.data, "name", 4, NULL);
						mean[j] = json_number(getKeyJsonValueFromContainer(f->val.binary.data,
																		   "mean", 4, NULL));
					}
					/* a profile of other features, or a mean missing: none at all */
					if (isnan(mean[j]) || name == NULL || name->type != jbvString ||
						name->val.string.len != (int) strlen(m->spec->names[j]) ||
						memcmp(name->val.string.val, m->spec->names[j], name->val.string.len) != 0)
					{
						pfree(mean);
						mean = NULL;
					}
				}
			}
		}
	}
	mlsys_unpin_search_path(pinned);
	SPI_finish();
	return mean;
}

/* the outputs an explanation has: each class's margin for multiclass, else one */
static inline int
explain_outputs(const CachedModel *m)
{
	return m->nclasses > 2 ? m->nclasses : 1;
}

/* the family must explain; recommenders were refused by the call site already */
static void
require_explain(const CachedModel *m)
{
	if (m->loaded.family->explain == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" cannot be explained", m->name),
				 errdetail("Models of the %s family have no explanation.", m->loaded.family->name)));
}

/* contributions for x into contrib (nout × (nfeat + 1)); errors when not finite */
static void
explain_vector(const CachedModel *m, const double *x, const double *mean, double *contrib)
{
	int			n = explain_outputs(m) * (m->spec->nfeat + 1),
				i;

	m->loaded.family->explain(&m->loaded, x, mean, contrib);
	for (i = 0; i < n; i++)
		if (!isfinite(contrib[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("explanation of model \"%s\" is out of range for type double precision",
							m->name)));
}

/*
 * mlsys.explain for the call site of fcinfo: the features of argument argno
 * read as input, the version from argument version_arg (-1: the live one).
 */
static Datum
explain_call(FunctionCallInfo fcinfo, int version_arg, int argno, ScoreInput input)
{
	ScoreCall  *sc = mlsys_score_call(fcinfo, version_arg);
	CachedModel *m = mlsys_score_call_cached(sc);
	ExplainCall **slot = (ExplainCall **) mlsys_score_call_extra(sc);
	ExplainCall *ec = *slot;
	const double *x;
	int			nout,
				p,
				k,
				j;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	require_explain(m);
	x = mlsys_score_call_read(sc, fcinfo, argno, input);
	nout = explain_outputs(m);
	p = m->spec->nfeat;
	if (ec == NULL)
		*slot = ec = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ExplainCall));
	if (ec->model != m || ec->generation != mlsys_cache_generation())
	{
		if (ec->mean != NULL)
			pfree(ec->mean);
		ec->mean = NULL;
		ec->model = NULL;
		ec->mean = profile_means(m, fcinfo->flinfo->fn_mcxt);
		ec->model = m;
		ec->generation = mlsys_cache_generation();
	}
	if (ec->cap < nout * (p + 1))
	{
		if (ec->contrib != NULL)
			pfree(ec->contrib);
		ec->contrib = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * nout * (p + 1));
		ec->cap = nout * (p + 1);
	}
	explain_vector(m, x, ec->mean, ec->contrib);

	store = mlsys_begin_rows(fcinfo, &tupdesc);
	for (k = 0; k < nout; k++)
	{
		/* regression: no class; binary: the positive class; multiclass: each */
		nulls[0] = m->nclasses == 0;
		if (m->nclasses > 2)
			values[0] = CStringGetTextDatum(m->classes[k]);
		else if (m->nclasses == 2)
			values[0] = CStringGetTextDatum(m->classes[m->positive]);
		for (j = 0; j <= p; j++)
		{
			values[1] = CStringGetTextDatum(j < p ? m->spec->names[j] : "<bias>");
			values[2] = Float8GetDatum(ec->contrib[(Size) k * (p + 1) + j]);
			tuplestore_putvalues(store, tupdesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/*
 * mlsys.explain(model text, [version int,] features record | float8[] | jsonb)
 *   RETURNS TABLE (class text, feature text, contribution float8)
 * one C function per input kind and version argument, like mlsys.predict
 */
#define EXPLAINER(fname, version_arg, argno, input) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	return explain_call(fcinfo, version_arg, argno, input); \
}

EXPLAINER(explain_record, -1, 1, SCORE_INPUT_ROW)
EXPLAINER(explain_array, -1, 1, SCORE_INPUT_ARRAY)
EXPLAINER(explain_jsonb, -1, 1, SCORE_INPUT_JSONB)
EXPLAINER(explain_record_version, 1, 2, SCORE_INPUT_ROW)
EXPLAINER(explain_array_version, 1, 2, SCORE_INPUT_ARRAY)
EXPLAINER(explain_jsonb_version, 1, 2, SCORE_INPUT_JSONB)

/*
 * The sample of training rows registration kept for a version (nrows ×
 * nfeat values in the current context), or NULL when it has none.
 */
static double *
explain_sample(const CachedModel *m, int *nrows)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	double	   *rows = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	int			pinned;

	args[0] = CStringGetTextDatum(m->name);
	args[1] = Int32GetDatum(m->version);
	*nrows = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pinned = mlsys_pin_search_path();
	if (SPI_execute_with_args("SELECT s.nrows, s.features FROM mlsys.explain_samples s "
							  "WHERE s.model = $1 AND s.version = $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.explain_samples");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		nd = SPI_getbinval(tup, desc, 1, &isnull);
		int			n = isnull ? 0 : DatumGetInt32(nd);
		Datum		fd = SPI_getbinval(tup, desc, 2, &isnull);
		ArrayType  *a = isnull ? NULL : DatumGetArrayTypeP(fd);

		if (a == NULL || n <= 0 || ARR_NDIM(a) != 1 || ARR_HASNULL(a) ||
			ARR_ELEMTYPE(a) != FLOAT8OID ||
			ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != (int64) n * m->spec->nfeat)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("explanation sample of version %d of model \"%s\" is corrupted",
							m->version, m->name),
					 errdetail("It must hold nrows feature vectors of %d values each.",
							   m->spec->nfeat)));
		rows = MemoryContextAlloc(cxt, sizeof(double) * n * (Size) m->spec->nfeat);
		memcpy(rows, ARR_DATA_PTR(a), sizeof(double) * n * (Size) m->spec->nfeat);
		*nrows = n;
	}
	mlsys_unpin_search_path(pinned);
	SPI_finish();
	return rows;
}

/*
 * The rows of mlsys.feature_importance for m (pinned by the caller): per
 * source column its features' total split gain, and the mean over the
 * version's sample of |the column's summed contribution|, summed over the
 * classes of a multiclass model.
 */
static void
importance_rows(FunctionCallInfo fcinfo, const CachedModel *m)
{
	const FeatureSpec *spec = m->spec;
	int			p = spec->nfeat,
				nout = explain_outputs(m),
				nrows = 0,
				r,
				k,
				c,
				j;
	double	   *gain = palloc0(sizeof(double) * p);
	double	   *imp = palloc0(sizeof(double) * (Size) nout * spec->ncolumns);
	double	   *rows = NULL;
	bool		has_gain;
	TupleDesc	tupdesc;
	Tuplestorestate *store;

	has_gain = m->loaded.family->feature_gain != NULL &&
		m->loaded.family->feature_gain(&m->loaded, gain);
	if (m->loaded.family->explain != NULL)
		rows = explain_sample(m, &nrows);
	if (rows != NULL)
	{
		double	   *mean = profile_means(m, CurrentMemoryContext);
		double	   *contrib = palloc(sizeof(double) * nout * (Size) (p + 1));

		for (r = 0; r < nrows; r++)
		{
			CHECK_FOR_INTERRUPTS();
			explain_vector(m, rows + (Size) r * p, mean, contrib);
			for (k = 0; k < nout; k++)
			{
				const double *ck = contrib + (Size) k * (p + 1);

				for (c = 0, j = 0; c < spec->ncolumns; c++)
				{
					int			end = j + Max(spec->columns[c].length, 1);
					double		s = 0;

					for (; j < end && j < p; j++)
						s += ck[j];
					imp[(Size) k * spec->ncolumns + c] += fabs(s);
				}
			}
		}
	}

	store = mlsys_begin_rows(fcinfo, &tupdesc);
	for (c = 0, j = 0; c < spec->ncolumns; c++)
	{
		int			end = j + Max(spec->columns[c].length, 1);
		Datum		values[3];
		bool		nulls[3] = {false, !has_gain, rows == NULL};
		double		g = 0,
					a = 0;

		for (; j < end && j < p; j++)
			g += gain[j];
		for (k = 0; k < nout; k++)
			a += imp[(Size) k * spec->ncolumns + c];
		values[0] = CStringGetTextDatum(spec->columns[c].name);
		values[1] = Float8GetDatum(g);
		values[2] = Float8GetDatum(nrows > 0 ? a / nrows : 0);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(feature_importance);
/*
 * mlsys.feature_importance(model text, version int DEFAULT NULL)
 *   RETURNS TABLE (feature text, gain float8, mean_abs_contribution float8)
 * one row per source column of a version (the live one when version is
 * NULL), in model order; gain is NULL for a family without split gains,
 * mean_abs_contribution NULL for a version without a sample (imported).
 */
Datum
feature_importance(PG_FUNCTION_ARGS)
{
	CachedModel *m;

	m = mlsys_feature_model_arg(fcinfo);
	/* pinned while the sample is scored: an invalidation must not free it */
	mlsys_cache_pin(m);
	PG_TRY();
	{
		importance_rows(fcinfo, m);
	}
	PG_FINALLY();
	{
		mlsys_cache_unpin(m);
	}
	PG_END_TRY();
	return (Datum) 0;
}
