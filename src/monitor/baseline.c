/*
 * baseline.c — drift baselines of model versions: mlsys._capture_baseline
 * profiles a version's training relation (stored in mlsys.baselines) in one
 * query of the profile aggregates (metrics/profile.c): per feature column,
 * the model's prediction and the target, a numeric column as its grid and PSI
 * bins, a categorical one as its MON_TOP_N most frequent categories plus
 * "other" (see monitor.h). Training gathers the same profiles in its own
 * passes and calls this only when it could not.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "monitor/monitor.h"

static bool
any_categorical(const bool *categorical, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (categorical[i])
			return true;
	return false;
}

/*
 * The prediction of a linear or binary model over numeric and float8[]
 * columns, from the feature vector built of exactly those columns (so a
 * trainer granted only them may capture): no prediction for a row with a
 * missing or NaN value or an array of another length. The vector is f.x,
 * from *from_extra joined to the relation r. Other tasks keep
 * mon_load_version's prediction.
 */
static char *
numeric_prediction_sql(const char *model, int32 version, const VersionInfo *v, char **from_extra)
{
	StringInfoData vec;
	int			i,
				nfeat = 0;

	if (strcmp(v->task, "regression") != 0 && strcmp(v->task, "binary") != 0)
		return v->pred_sql;
	/*
	 * Consecutive scalar columns go into one ARRAY[...]: a concatenation per
	 * column copied the growing vector on every row, which made the capture
	 * of 16 features cost over 25 bare scans instead of about 2.
	 */
	initStringInfo(&vec);
	for (i = 0; i < v->ncolumns; i++)
	{
		const char *col = quote_identifier(v->columns[i]);
		bool		open = i > 0 && v->lengths[i] == 0 && v->lengths[i - 1] == 0;

		if (open)
			appendStringInfo(&vec, ", (r.%s)::pg_catalog.float8", col);
		else
		{
			if (i > 0)
				appendStringInfoString(&vec, v->lengths[i - 1] == 0 ? "] OPERATOR(pg_catalog.||) " :
									   " OPERATOR(pg_catalog.||) ");
			if (v->lengths[i] == 0)
				appendStringInfo(&vec, "ARRAY[(r.%s)::pg_catalog.float8", col);
			else
				appendStringInfo(&vec, "(r.%s)::pg_catalog.float8[]", col);
		}
		nfeat += Max(v->lengths[i], 1);
	}
	if (v->ncolumns > 0 && v->lengths[v->ncolumns - 1] == 0)
		appendStringInfoChar(&vec, ']');
	if (v->ncolumns == 0)
		return v->pred_sql;
	*from_extra = psprintf(" CROSS JOIN LATERAL (SELECT %s AS x) f", vec.data);
	return psprintf("CASE WHEN pg_catalog.cardinality(f.x) OPERATOR(pg_catalog.=) %d "
					"AND pg_catalog.array_position(f.x, NULL) IS NULL "
					"AND pg_catalog.array_position(f.x, 'NaN'::pg_catalog.float8) IS NULL "
					"THEN %s END",
					nfeat,
					strcmp(v->task, "regression") == 0 ?
					psprintf("mlsys.predict(%s, %d, f.x)", quote_literal_cstr(model), version) :
					psprintf("(mlsys._predict_proba(%s, %d, f.x))[%d]", quote_literal_cstr(model),
							 version, v->positive));
}

PG_FUNCTION_INFO_V1(capture_baseline);

/*
 * mlsys._capture_baseline(model text, version int) RETURNS jsonb: the profile
 * of a version's training relation (every row, as it is now) in one query of
 * the profile aggregates, which parallel query may split.
 */
Datum
capture_baseline(PG_FUNCTION_ARGS)
{
	char	   *model;
	int32		version;
	VersionInfo v;
	char	  **names;
	bool	   *categorical;
	int			ncols = 0,
				narrays = 0,
				i;
	StringInfoData sql;
	MemoryContext cxt = CurrentMemoryContext,
				work;
	char	   *result;
	bool		target_categorical;
	char	   *from_extra = "";

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and version must not be null")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = PG_GETARG_INT32(1);
	work = AllocSetContextCreate(CurrentMemoryContext, "mlsys baseline", ALLOCSET_DEFAULT_SIZES);
	SPI_connect();
	mon_load_version(model, version, &v);
	v.relid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(v.relation)));

	MemoryContextSwitchTo(work);
	names = palloc(sizeof(char *) * Max(v.ncolumns, 1));
	categorical = palloc(sizeof(bool) * Max(v.ncolumns, 1));
	for (i = 0; i < v.ncolumns; i++)
	{
		Oid			t = mon_column_type(v.relid, v.columns[i]);

		/* float8[] columns are not profiled (a length > 0 may also be a one-hot column) */
		if (OidIsValid(get_element_type(t)))
		{
			narrays += (get_element_type(t) == FLOAT8OID);
			continue;
		}
		names[ncols] = v.columns[i];
		categorical[ncols] = profile_type_is_categorical(t);
		ncols++;
	}
	if (ncols == v.ncolumns - narrays && !any_categorical(categorical, ncols))
		v.pred_sql = numeric_prediction_sql(model, version, &v, &from_extra);
	target_categorical = strcmp(v.task, "regression") != 0 ||
		profile_type_is_categorical(mon_column_type(v.relid, v.target));
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT NULL");
	profile_baseline_sql(&sql, ncols, names, categorical, NULL, v.pred_sql, v.pred_categorical,
						 v.target, target_categorical);
	appendStringInfo(&sql, " FROM %s AS r%s", v.relation, from_extra);
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not profile the training relation");
	result = profile_baseline_json(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, ncols, names,
								   categorical, NULL, v.pred_sql != NULL, v.pred_categorical,
								   v.target, target_categorical, v.relation, -1, NULL, NULL);

	MemoryContextSwitchTo(cxt);
	result = pstrdup(result);
	SPI_finish();
	MemoryContextDelete(work);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}
