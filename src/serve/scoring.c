/*
 * scoring.c — real-time scoring: mlsys.predict(model, [version,] features)
 * for a row (record), a float8[] in model order, or a jsonb object; and
 * mlsys.features, what a cached model learned per feature.
 *
 * Hot path: each call site keeps a ScoreCall in fn_extra holding the pinned
 * cached model, a feature buffer and, for rows, the attribute numbers of the
 * feature columns in the row's type. After the first call of a statement, a
 * call is a name comparison, the column fetches and one dot product: no SPI,
 * no catalog lookup, no allocation.
 *
 * A call site keeps its model for one statement, recognised by the local
 * transaction id and command id: deployments committed by other sessions in
 * the meantime never switch versions mid-statement. A PL/pgSQL expression,
 * whose call site lives for the whole transaction, looks the model up again
 * at each new command, and so sees its own transaction's deployments. The pin
 * is released when the call site's memory context goes away (cache.c).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "serve/serve.h"

struct ScoreCall
{
	CachedModel *model;			/* pinned */
	int32		requested;		/* version asked for, 0 = live */
	int			namelen;
	char		name[NAMEDATALEN];
	LocalTransactionId lxid;	/* the statement the model serves: */
	CommandId	cid;			/* transaction and command */
	double	   *x;				/* feature buffer */
	int			xcap;			/* its length */
	double	   *prob;			/* class probabilities (multinomial), MLSYS_MAX_CLASSES */
	/* row mapping, valid for one row type */
	bool		recheck_rowtype;	/* new statement: has the row type changed? */
	Oid			tuptype;
	int32		tuptypmod;
	uint64		tupdesc_id;		/* typcache identifier of a named row type */
	TupleDesc	tupdesc;
	AttrNumber *attnums;		/* per spec column */
	Oid		   *basetypes;		/* per spec column */
	Oid		   *outfuncs;		/* per spec column: output function (categorical) */
	char	  **labels;			/* per spec column, for messages */
	int			nlabels;
	void	   *extra;			/* explain.c's own state for the call site */
};

/* memory context callback: release the call site's pin */
static void
score_call_release(void *arg)
{
	ScoreCall  *sc = (ScoreCall *) arg;

	if (sc->model != NULL)
		mlsys_cache_unpin(sc->model);
	sc->model = NULL;
}

/* the model for this call: argument 0 is the name, version_arg the version or -1 */
static ScoreCall *
score_call_model(FunctionCallInfo fcinfo, int version_arg)
{
	ScoreCall  *sc = (ScoreCall *) fcinfo->flinfo->fn_extra;
	text	   *name;
	int			namelen;
	int32		requested = 0;
	CachedModel *m;
	char	   *cname;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	if (version_arg >= 0)
	{
		if (PG_ARGISNULL(version_arg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("version must not be null")));
		requested = PG_GETARG_INT32(version_arg);
		if (requested <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("version must be a positive number")));
	}
	name = PG_GETARG_TEXT_PP(0);
	namelen = VARSIZE_ANY_EXHDR(name);

	if (sc != NULL && sc->model != NULL && sc->requested == requested &&
		sc->namelen == namelen && memcmp(sc->name, VARDATA_ANY(name), namelen) == 0 &&
		sc->lxid == MLSYS_LXID && sc->cid == GetCurrentCommandId(false) &&
		(!sc->model->private_model || mlsys_cache_access_known(sc->model)))
		return sc;

	if (sc == NULL)
	{
		MemoryContextCallback *cb;

		sc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ScoreCall));
		cb = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(MemoryContextCallback));
		cb->func = score_call_release;
		cb->arg = sc;
		MemoryContextRegisterResetCallback(fcinfo->flinfo->fn_mcxt, cb);
		fcinfo->flinfo->fn_extra = sc;
	}
	cname = text_to_cstring(name);
	m = mlsys_cache_get(cname, requested);
	if (m->loaded.kind == MODEL_ALS)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a recommender", m->name),
				 errhint("Use mlsys.recommend or mlsys.predict_rating.")));
	if (m != sc->model)
	{
		mlsys_cache_pin(m);
		if (sc->model != NULL)
			mlsys_cache_unpin(sc->model);
		sc->model = m;
		sc->tuptype = InvalidOid;	/* remap rows for this model */
		if (sc->xcap < m->spec->nfeat)
		{
			if (sc->x != NULL)
				pfree(sc->x);
			sc->x = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * m->spec->nfeat);
			if (sc->prob == NULL)
				sc->prob = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * MLSYS_MAX_CLASSES);
			sc->xcap = m->spec->nfeat;
		}
	}
	sc->requested = requested;
	sc->namelen = Min(namelen, NAMEDATALEN - 1);
	memcpy(sc->name, cname, sc->namelen);
	pfree(cname);
	sc->lxid = MLSYS_LXID;
	sc->cid = GetCurrentCommandId(false);
	sc->recheck_rowtype = true;
	return sc;
}

/* the positive-class probability of a logistic model for sc->x */
static inline double
score_proba(ScoreCall *sc)
{
	const LoadedModel *lm = &sc->model->loaded;

	return lm->family->predict(lm, sc->x);
}

/* the predicted class index of a classifier for sc->x */
static inline int
score_class(ScoreCall *sc)
{
	const CachedModel *m = sc->model;

	if (m->nclasses > 2)
	{
		int			k,
					best = 0;

		m->loaded.family->predict_proba(&m->loaded, sc->x, sc->prob);
		for (k = 1; k < m->nclasses; k++)
			if (sc->prob[k] > sc->prob[best])
				best = k;
		return best;
	}
	return score_proba(sc) >= m->loaded.threshold ? m->positive : 1 - m->positive;
}

/*
 * What mlsys.predict returns for sc->x: the value for a regression model, the
 * predicted label for a classifier with boolean (0/1) or integer labels.
 */
static inline double
score_vector(ScoreCall *sc)
{
	const CachedModel *m = sc->model;

	if (likely(m->loaded.nclasses == 0))
	{
		double		v = m->loaded.family->predict(&m->loaded, sc->x);

		/* finite features can still overflow the dot product (values near 1e308) */
		if (unlikely(!isfinite(v)))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("prediction of model \"%s\" is out of range for type double precision", m->name)));
		return v;
	}
	if (!m->numeric_labels)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model \"%s\" predicts text labels, which mlsys.predict cannot return as float8", m->name),
				 errhint("Use mlsys.predict_label for the label or mlsys.predict_proba for the class probabilities.")));
	return m->label_values[score_class(sc)];
}

/* the model must be a classifier */
static void
require_classifier(ScoreCall *sc)
{
	if (sc->model->loaded.nclasses == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is not a classifier", sc->model->name)));
}

/* class probabilities in class order */
static Datum
score_proba_array(ScoreCall *sc)
{
	double		p[2];
	double		prob;

	require_classifier(sc);
	if (sc->model->nclasses > 2)
	{
		sc->model->loaded.family->predict_proba(&sc->model->loaded, sc->x, sc->prob);
		return PointerGetDatum(mlsys_float8_array(sc->prob, sc->model->nclasses));
	}
	prob = score_proba(sc);
	p[sc->model->positive] = prob;
	p[1 - sc->model->positive] = 1.0 - prob;
	return PointerGetDatum(mlsys_float8_array(p, 2));
}

/* the predicted label as text */
static Datum
score_label(ScoreCall *sc)
{
	require_classifier(sc);
	return CStringGetTextDatum(sc->model->classes[score_class(sc)]);
}

/* does a row type look like an anonymous ROW(...) (fields f1, f2, ...)? */
static bool
looks_anonymous(TupleDesc td)
{
	int			i;

	for (i = 0; i < td->natts; i++)
	{
		char		expect[16];

		snprintf(expect, sizeof(expect), "f%d", i + 1);
		if (strcmp(NameStr(TupleDescAttr(td, i)->attname), expect) != 0)
			return false;
	}
	return td->natts > 0;
}

/* map the model's feature columns onto a row type, by name */
static void
score_call_map_row(ScoreCall *sc, FunctionCallInfo fcinfo, Oid tuptype, int32 typmod)
{
	const FeatureSpec *spec = sc->model->spec;
	TupleDesc	td;
	MemoryContext oldcxt;
	int			i,
				a;

	if (sc->tupdesc != NULL)
	{
		FreeTupleDesc(sc->tupdesc);
		pfree(sc->attnums);
		pfree(sc->basetypes);
		pfree(sc->outfuncs);
		for (i = 0; i < sc->nlabels; i++)
			pfree(sc->labels[i]);
		pfree(sc->labels);
		sc->tupdesc = NULL;
	}
	sc->tupdesc_id = tuptype == RECORDOID ? 0 :
		lookup_type_cache(tuptype, TYPECACHE_TUPDESC)->tupDesc_identifier;
	td = lookup_rowtype_tupdesc(tuptype, typmod);
	oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	sc->tupdesc = CreateTupleDescCopy(td);
	sc->attnums = palloc(sizeof(AttrNumber) * spec->ncolumns);
	sc->basetypes = palloc(sizeof(Oid) * spec->ncolumns);
	sc->outfuncs = palloc0(sizeof(Oid) * spec->ncolumns);
	sc->labels = palloc(sizeof(char *) * spec->ncolumns);
	for (i = 0; i < spec->ncolumns; i++)
		sc->labels[i] = psprintf("feature \"%s\"", spec->columns[i].name);
	sc->nlabels = spec->ncolumns;
	MemoryContextSwitchTo(oldcxt);
	ReleaseTupleDesc(td);
	td = sc->tupdesc;

	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];
		bool		is_array;

		for (a = 0; a < td->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(td, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), c->name) == 0)
				break;
		}
		if (a == td->natts)
		{
			if (tuptype == RECORDOID && looks_anonymous(td))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("row has no column \"%s\" for model \"%s\"", c->name, sc->model->name),
						 errdetail("An anonymous ROW(...) has fields named f1, f2, ..., so features cannot be found by name."),
						 errhint("Pass a table row (mlsys.predict('%s', t) FROM t), a row from a subquery with named columns, a float8[] in model order, or a jsonb object.",
								 sc->model->name)));
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("row has no column \"%s\" for model \"%s\"", c->name, sc->model->name)));
		}
		sc->attnums[i] = a + 1;
		sc->basetypes[i] = getBaseType(TupleDescAttr(td, a)->atttypid);
		if (c->categorical)
		{
			bool		varlena;

			/* any type will do: the category is the value's text form */
			getTypeOutputInfo(TupleDescAttr(td, a)->atttypid, &sc->outfuncs[i], &varlena);
			continue;
		}
		if (!features_type_supported(sc->basetypes[i], &is_array) ||
			is_array != (c->length > 0))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, but model \"%s\" expects %s",
							c->name, format_type_be(TupleDescAttr(td, a)->atttypid),
							sc->model->name,
							c->length > 0 ? "a float8[] column" : "a numeric or boolean column")));
	}
	sc->tuptype = tuptype;
	sc->tuptypmod = typmod;
}

/* fill sc->x from a row */
static void
score_call_read_row(ScoreCall *sc, FunctionCallInfo fcinfo, int argno)
{
	HeapTupleHeader rec;
	HeapTupleData tuple;
	const FeatureSpec *spec = sc->model->spec;
	Oid			tuptype;
	int32		typmod;
	int			i,
				k = 0;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features must not be null")));
	rec = PG_GETARG_HEAPTUPLEHEADER(argno);
	tuptype = HeapTupleHeaderGetTypeId(rec);
	typmod = HeapTupleHeaderGetTypMod(rec);
	/* a named row type can change between statements (ALTER TABLE) */
	if (sc->tuptype == tuptype && sc->tuptypmod == typmod && sc->recheck_rowtype &&
		tuptype != RECORDOID &&
		lookup_type_cache(tuptype, TYPECACHE_TUPDESC)->tupDesc_identifier != sc->tupdesc_id)
		sc->tuptype = InvalidOid;
	sc->recheck_rowtype = false;
	if (sc->tuptype != tuptype || sc->tuptypmod != typmod)
		score_call_map_row(sc, fcinfo, tuptype, typmod);

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];
		bool		isnull;
		Datum		d = heap_getattr(&tuple, sc->attnums[i], sc->tupdesc, &isnull);

		if (c->categorical)
		{
			preprocess_encode_datum(c, d, isnull, sc->basetypes[i], sc->outfuncs[i], sc->x + k);
			k += c->length;
			continue;
		}
		if (c->length == 0)
		{
			double		v = isnull ? get_float8_nan() : features_coerce(d, sc->basetypes[i], c->name);

			sc->x[k++] = isnan(v) ? features_missing_value(c) : v;
			continue;
		}
		if (isnull && spec->keep_missing)
		{
			/* a missing array: every element missing */
			for (int j = 0; j < c->length; j++)
				sc->x[k++] = get_float8_nan();
		}
		else if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("feature \"%s\" must not be null", c->name)));
		else
		{
			features_array_into(spec, d, sc->x + k, c->length, sc->labels[i]);
			k += c->length;
		}
	}
	features_check_vector(spec, sc->x);
}

/* fill sc->x from a float8[] or jsonb argument */
static void
score_call_read_value(ScoreCall *sc, FunctionCallInfo fcinfo, int argno, bool is_jsonb)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features must not be null")));
	if (is_jsonb)
		features_from_jsonb(sc->model->spec, PG_GETARG_DATUM(argno), sc->x);
	else
		features_from_float8_array(sc->model->spec, PG_GETARG_DATUM(argno), sc->x);
}

/*
 * For explain.c: the call site's model (argument 0, version_arg as in
 * score_call_model), its feature vector read from argument argno (a row, a
 * float8[] or a jsonb object, as mlsys.predict reads them), and a slot for
 * the caller's own state, kept with the call site.
 */
ScoreCall *
mlsys_score_call(FunctionCallInfo fcinfo, int version_arg)
{
	return score_call_model(fcinfo, version_arg);
}

const double *
mlsys_score_call_read(ScoreCall *sc, FunctionCallInfo fcinfo, int argno, ScoreInput input)
{
	if (input == SCORE_INPUT_ROW)
		score_call_read_row(sc, fcinfo, argno);
	else
		score_call_read_value(sc, fcinfo, argno, input == SCORE_INPUT_JSONB);
	return sc->x;
}

CachedModel *
mlsys_score_call_cached(ScoreCall *sc)
{
	return sc->model;
}

void	  **
mlsys_score_call_extra(ScoreCall *sc)
{
	return &sc->extra;
}

/* ---------------------------------------------------------------------
 * Online logging of a sampled call (online_log.c appends the record)
 * --------------------------------------------------------------------- */

/*
 * The entity's text from a row, or NULL; *found says whether the row has
 * the column at all.
 */
static char *
log_row_entity(ScoreCall *sc, HeapTuple tuple, bool *found)
{
	CachedModel *m = sc->model;
	TupleDesc	td = sc->tupdesc;

	*found = false;
	for (int a = 0; a < td->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(td, a);
		bool		isnull;
		Datum		d;
		Oid			outfunc;
		bool		varlena;

		if (att->attisdropped || strcmp(NameStr(att->attname), m->log_entity) != 0)
			continue;
		*found = true;
		d = heap_getattr(tuple, a + 1, td, &isnull);
		if (isnull)
			return NULL;
		getTypeOutputInfo(att->atttypid, &outfunc, &varlena);
		return OidOutputFunctionCall(outfunc, d);
	}
	return NULL;
}

/* a row's source columns (not float8[] ones) as a JSON object; its entity */
static void
log_row(ScoreCall *sc, FunctionCallInfo fcinfo, int argno, StringInfo js, char **entity)
{
	const FeatureSpec *spec = sc->model->spec;
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(argno);
	HeapTupleData tuple;
	bool		first = true;

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	appendStringInfoChar(js, '{');
	for (int i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];
		bool		isnull;
		Datum		d;

		if (c->length > 0 && !c->categorical)
			continue;
		d = heap_getattr(&tuple, sc->attnums[i], sc->tupdesc, &isnull);
		if (!first)
			appendStringInfoString(js, ", ");
		first = false;
		escape_json(js, c->name);
		appendStringInfoString(js, ": ");
		/* a categorical column's output function was looked up with the row's mapping */
		online_log_json_datum(js, d, isnull, sc->basetypes[i],
							  TupleDescAttr(sc->tupdesc, sc->attnums[i] - 1)->atttypid,
							  sc->outfuncs[i], c->name);
	}
	appendStringInfoChar(js, '}');
	if (sc->model->log_entity != NULL)
	{
		bool		found;

		*entity = log_row_entity(sc, &tuple, &found);
		if (!found)
			online_log_entity_missing(sc->model, "row");
	}
}

/*
 * Log a call that sampled itself in, its features read from argument argno:
 * the prediction, label and probability filled as mlsys.predict_batch fills
 * them, whichever scoring function was called.
 */
static void
score_call_log(ScoreCall *sc, FunctionCallInfo fcinfo, int argno, ScoreInput input)
{
	CachedModel *m = sc->model;
	StringInfoData js;
	char	   *entity = NULL;
	double		prediction = NAN,
				probability = NAN;
	const char *label = NULL;

	initStringInfo(&js);
	if (input == SCORE_INPUT_ROW)
		log_row(sc, fcinfo, argno, &js, &entity);
	else if (input == SCORE_INPUT_JSONB)
		online_log_jsonb(m, PG_GETARG_JSONB_P(argno), &js, &entity);
	else
		online_log_array(m, sc->x, &js);
	if (m->loaded.nclasses == 0)
	{
		prediction = m->loaded.family->predict(&m->loaded, sc->x);
		if (!isfinite(prediction))
			prediction = NAN;
	}
	else
	{
		int			c = score_class(sc);

		label = m->classes[c];
		if (m->numeric_labels)
			prediction = m->label_values[c];
		/* binary: the positive class's; multiclass: the predicted class's */
		probability = m->nclasses > 2 ? sc->prob[c] : score_proba(sc);
	}
	online_log_prediction(m, entity, prediction, label, probability, js.data);
	pfree(js.data);
}

#define SCORE_LOG(sc, argno, input) \
	do { \
		if (unlikely((sc)->model->log_sample > 0) && online_log_sampled((sc)->model)) \
			score_call_log((sc), fcinfo, (argno), (input)); \
	} while (0)

PG_FUNCTION_INFO_V1(predict_record);
/* mlsys.predict(model text, features record) */
Datum
predict_record(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, -1);
	double		v;

	score_call_read_row(sc, fcinfo, 1);
	v = score_vector(sc);
	SCORE_LOG(sc, 1, SCORE_INPUT_ROW);
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(predict_record_version);
/* mlsys.predict(model text, version int, features record) */
Datum
predict_record_version(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, 1);
	double		v;

	score_call_read_row(sc, fcinfo, 2);
	v = score_vector(sc);
	SCORE_LOG(sc, 2, SCORE_INPUT_ROW);
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(predict_array);
/* mlsys.predict(model text, features float8[]) */
Datum
predict_array(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, -1);
	double		v;

	score_call_read_value(sc, fcinfo, 1, false);
	v = score_vector(sc);
	SCORE_LOG(sc, 1, SCORE_INPUT_ARRAY);
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(predict_array_version);
/* mlsys.predict(model text, version int, features float8[]) */
Datum
predict_array_version(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, 1);
	double		v;

	score_call_read_value(sc, fcinfo, 2, false);
	v = score_vector(sc);
	SCORE_LOG(sc, 2, SCORE_INPUT_ARRAY);
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(predict_jsonb);
/* mlsys.predict(model text, features jsonb) */
Datum
predict_jsonb(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, -1);
	double		v;

	score_call_read_value(sc, fcinfo, 1, true);
	v = score_vector(sc);
	SCORE_LOG(sc, 1, SCORE_INPUT_JSONB);
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(predict_jsonb_version);
/* mlsys.predict(model text, version int, features jsonb) */
Datum
predict_jsonb_version(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, 1);
	double		v;

	score_call_read_value(sc, fcinfo, 2, true);
	v = score_vector(sc);
	SCORE_LOG(sc, 2, SCORE_INPUT_JSONB);
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(live_version);
/* mlsys.live_version(model text) → int: the version predict would use */
Datum
live_version(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, -1);

	PG_RETURN_INT32(sc->model->version);
}

/* a model's weight of feature j (-1: the intercept) for class k, from its family */
static double
feature_weight(const CachedModel *m, int k, int j)
{
	double		v;

	if (!m->loaded.family->feature_weight(&m->loaded, k, j, &v))
		elog(ERROR, "model \"%s\" has no weight %d of class %d", m->name, j, k);
	return v;
}

/*
 * The feature-based model of arguments (model text, version int), the live
 * version when version is NULL (mlsys.features, mlsys.feature_importance):
 * checked, from the cache, not pinned. A recommender raises 42809.
 */
CachedModel *
mlsys_feature_model_arg(FunctionCallInfo fcinfo)
{
	char	   *name;
	int32		version = 0;
	CachedModel *m;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!PG_ARGISNULL(1))
	{
		version = PG_GETARG_INT32(1);
		if (version <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("version must be a positive number")));
	}
	m = mlsys_cache_get(name, version);
	if (m->loaded.kind == MODEL_ALS || m->spec == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a recommender", m->name),
				 errhint("Use mlsys.recommend or mlsys.predict_rating.")));
	return m;
}

PG_FUNCTION_INFO_V1(model_features);
/*
 * mlsys.features(model text, version int DEFAULT NULL)
 *   RETURNS TABLE (ordinal int, feature text, coefficient float8):
 * the expanded features of a version (the live one when version is NULL) in
 * model order with what the model learned for each; ordinal 0 is the
 * intercept. A family without weights (trees) lists the features with NULL
 * coefficients.
 */
Datum
model_features(PG_FUNCTION_ARGS)
{
	CachedModel *m;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	double		unused;
	int			j;

	m = mlsys_feature_model_arg(fcinfo);
	mlsys_cache_pin(m);
	store = mlsys_begin_rows(fcinfo, &tupdesc);
	if (m->loaded.family->feature_weight == NULL ||
		!m->loaded.family->feature_weight(&m->loaded, 0, -1, &unused))
	{
		/* no weights (trees): the features once, in model order */
		nulls[2] = true;
		for (j = 0; j <= m->spec->nfeat; j++)
		{
			values[0] = Int32GetDatum(j);
			values[1] = CStringGetTextDatum(j == 0 ? "(intercept)" : m->spec->names[j - 1]);
			tuplestore_putvalues(store, tupdesc, values, nulls);
		}
		mlsys_cache_unpin(m);
		return (Datum) 0;
	}
	if (m->nclasses > 2)
	{
		/* one block per class: "(intercept) [class c]", "x [class c]", ... */
		int			k,
					p = m->spec->nfeat;

		for (k = 0; k < m->nclasses; k++)
			for (j = 0; j <= p; j++)
			{
				values[0] = Int32GetDatum(k * (p + 1) + j);
				values[1] = CStringGetTextDatum(psprintf("%s [class %s]",
														 j == 0 ? "(intercept)" : m->spec->names[j - 1],
														 m->classes[k]));
				values[2] = Float8GetDatum(feature_weight(m, k, j - 1));
				tuplestore_putvalues(store, tupdesc, values, nulls);
			}
		mlsys_cache_unpin(m);
		return (Datum) 0;
	}
	values[0] = Int32GetDatum(0);
	values[1] = CStringGetTextDatum("(intercept)");
	values[2] = Float8GetDatum(feature_weight(m, 0, -1));
	tuplestore_putvalues(store, tupdesc, values, nulls);
	for (j = 0; j < m->spec->nfeat; j++)
	{
		values[0] = Int32GetDatum(j + 1);
		values[1] = CStringGetTextDatum(m->spec->names[j]);
		values[2] = Float8GetDatum(feature_weight(m, 0, j));
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	mlsys_cache_unpin(m);
	return (Datum) 0;
}

/*
 * mlsys.predict_proba and mlsys.predict_label: one C function per input kind
 * and version argument, like mlsys.predict.
 */
#define CLASSIFIER_SCORER(fname, version_arg, feature_arg, reader, input, result) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	ScoreCall  *sc = score_call_model(fcinfo, version_arg); \
	Datum		r; \
	reader; \
	r = result(sc); \
	SCORE_LOG(sc, feature_arg, input); \
	PG_RETURN_DATUM(r); \
}

CLASSIFIER_SCORER(predict_proba_record, -1, 1, score_call_read_row(sc, fcinfo, 1), SCORE_INPUT_ROW, score_proba_array)
CLASSIFIER_SCORER(predict_proba_array, -1, 1, score_call_read_value(sc, fcinfo, 1, false), SCORE_INPUT_ARRAY, score_proba_array)
CLASSIFIER_SCORER(predict_proba_jsonb, -1, 1, score_call_read_value(sc, fcinfo, 1, true), SCORE_INPUT_JSONB, score_proba_array)
CLASSIFIER_SCORER(predict_proba_record_version, 1, 2, score_call_read_row(sc, fcinfo, 2), SCORE_INPUT_ROW, score_proba_array)
CLASSIFIER_SCORER(predict_proba_array_version, 1, 2, score_call_read_value(sc, fcinfo, 2, false), SCORE_INPUT_ARRAY, score_proba_array)
CLASSIFIER_SCORER(predict_label_record, -1, 1, score_call_read_row(sc, fcinfo, 1), SCORE_INPUT_ROW, score_label)
CLASSIFIER_SCORER(predict_label_array, -1, 1, score_call_read_value(sc, fcinfo, 1, false), SCORE_INPUT_ARRAY, score_label)
CLASSIFIER_SCORER(predict_label_jsonb, -1, 1, score_call_read_value(sc, fcinfo, 1, true), SCORE_INPUT_JSONB, score_label)
CLASSIFIER_SCORER(predict_label_record_version, 1, 2, score_call_read_row(sc, fcinfo, 2), SCORE_INPUT_ROW, score_label)

PG_FUNCTION_INFO_V1(model_classes);
/* mlsys.classes(model text) → text[]: the live version's labels in class order */
Datum
model_classes(PG_FUNCTION_ARGS)
{
	ScoreCall  *sc = score_call_model(fcinfo, -1);

	require_classifier(sc);
	PG_RETURN_DATUM(mlsys_cstring_array(sc->model->classes, sc->model->nclasses));
}
