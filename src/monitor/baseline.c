/*
 * baseline.c — drift baselines of model versions: mlsys._capture_baseline
 * profiles a version's training relation once (stored in mlsys.baselines) in
 * one pass (monitor.c): per feature column, the model's prediction and the
 * target, a numeric column as its grid and PSI bins, a categorical one as its
 * MON_TOP_N most frequent categories plus "other" (see monitor.h).
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "monitor/monitor.h"

static void
append_numbers(StringInfo buf, const double *v, int n)
{
	int			i;

	appendStringInfoChar(buf, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		mlsys_append_json_number(buf, v[i]);
	}
	appendStringInfoChar(buf, ']');
}

static int
cat_cmp(const void *a, const void *b)
{
	const CatEntry *x = *(CatEntry *const *) a;
	const CatEntry *y = *(CatEntry *const *) b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* the JSON profile of one captured column */
static void
append_profile(StringInfo buf, MonColumn *c)
{
	double		total = c->n + c->nulls;

	appendStringInfoString(buf, "{\"name\": ");
	escape_json(buf, c->name);
	appendStringInfo(buf, ", \"kind\": \"%s\", \"count\": %.0f, \"nulls\": %.0f, \"null_rate\": ",
					 c->categorical ? "categorical" : "numeric", c->n, c->nulls);
	mlsys_append_json_number(buf, total > 0 ? c->nulls / total : 0);
	if (!c->categorical)
	{
		double		mean = c->n > 0 ? c->sum / c->n : NAN;
		double		var = c->n > 1 ? (c->sumsq - c->n * mean * mean) / (c->n - 1) : NAN;
		int			cuts[MON_PSI_BINS];
		double		edges[MON_PSI_BINS];
		double		props[MON_PSI_BINS];
		int			ncuts = 0,
					b,
					j;

		appendStringInfoString(buf, ", \"mean\": ");
		mlsys_append_json_number(buf, mean);
		appendStringInfoString(buf, ", \"std\": ");
		mlsys_append_json_number(buf, c->n > 1 ? sqrt(Max(var, 0)) : NAN);
		appendStringInfoString(buf, ", \"min\": ");
		mlsys_append_json_number(buf, c->n > 0 ? c->min : NAN);
		appendStringInfoString(buf, ", \"max\": ");
		mlsys_append_json_number(buf, c->n > 0 ? c->max : NAN);
		if (c->n > 0)
		{
			ncuts = mon_psi_cuts(c->counts, c->nbins, c->n, cuts);
			memset(props, 0, sizeof(props));
			for (j = 0, b = 0; j < c->nbins; j++)
			{
				while (b < ncuts && j >= cuts[b])
					b++;
				props[b] += c->counts[j] / c->n;
			}
			for (b = 0; b < ncuts; b++)
				edges[b] = ldexp((double) (c->k0 + cuts[b]), c->e);
			appendStringInfo(buf, ", \"grid\": {\"e\": %d, \"k0\": " INT64_FORMAT ", \"width\": ",
							 c->e, c->k0);
			mlsys_append_json_number(buf, ldexp(1.0, c->e));
			appendStringInfoString(buf, ", \"lo\": ");
			mlsys_append_json_number(buf, ldexp((double) c->k0, c->e));
			appendStringInfoString(buf, ", \"counts\": ");
			append_numbers(buf, c->counts, c->nbins);
			appendStringInfoString(buf, "}, \"psi_edges\": ");
			append_numbers(buf, edges, ncuts);
			appendStringInfoString(buf, ", \"psi_proportions\": ");
			append_numbers(buf, props, ncuts + 1);
		}
	}
	else
	{
		long		nent = hash_get_num_entries(c->cats);
		CatEntry  **all = palloc(sizeof(CatEntry *) * Max(nent, 1));
		HASH_SEQ_STATUS seq;
		CatEntry   *ent;
		int			i = 0,
					top;
		double		other = c->other;

		hash_seq_init(&seq, c->cats);
		while ((ent = hash_seq_search(&seq)) != NULL)
			all[i++] = ent;
		qsort(all, nent, sizeof(CatEntry *), cat_cmp);
		top = Min(nent, MON_TOP_N);
		appendStringInfo(buf, ", \"distinct\": %ld%s, \"categories\": [", nent,
						 c->other > 0 ? " , \"distinct_capped\": true" : "");
		for (i = 0; i < top; i++)
		{
			if (i > 0)
				appendStringInfoString(buf, ", ");
			escape_json(buf, all[i]->text);
		}
		appendStringInfoString(buf, "], \"counts\": [");
		for (i = 0; i < nent; i++)
		{
			if (i < top)
				appendStringInfo(buf, "%s%.0f", i > 0 ? ", " : "", all[i]->count);
			else
				other += all[i]->count;
		}
		appendStringInfo(buf, "], \"other\": %.0f", other);
	}
	appendStringInfoChar(buf, '}');
}

static void
init_capture_column(MonColumn *c, char *name, bool categorical)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->categorical = categorical;
	if (categorical)
	{
		c->cxt = CurrentMemoryContext;
		c->cats = mon_new_cat_table("mlsys categories");
	}
	else
		c->counts = palloc0(sizeof(double) * MON_BINS);
}

PG_FUNCTION_INFO_V1(capture_baseline);

/*
 * mlsys._capture_baseline(model text, version int) RETURNS jsonb: the profile
 * of a version's training relation (every row, as it is now) in one pass.
 */
Datum
capture_baseline(PG_FUNCTION_ARGS)
{
	char	   *model;
	int32		version;
	VersionInfo v;
	MonColumn  *cols;
	int			ncols = 0,
				i;
	StringInfoData sql,
				out,
				extra;
	int64		rows;
	MemoryContext cxt = CurrentMemoryContext,
				work;
	char	   *result;
	bool		target_categorical;
	Oid			ttype;
	MonModel   *model_copy;
	int			pred_col = -1;

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
	cols = palloc(sizeof(MonColumn) * (v.ncolumns + 2));
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < v.ncolumns; i++)
	{
		Oid			t = mon_column_type(v.relid, v.columns[i], v.relation);

		/* float8[] columns are not profiled (a length > 0 may also be a one-hot column) */
		if (OidIsValid(get_element_type(t)))
			continue;
		init_capture_column(&cols[ncols], v.columns[i], mon_type_is_categorical(t));
		appendStringInfo(&sql, "%s, ", mon_column_expr(&cols[ncols]));
		ncols++;
	}
	initStringInfo(&extra);
	/* hidden array columns go after the prediction and the target */
	model_copy = mon_copy_model(model, version, &v, cols, ncols, ncols + 2, &extra);
	if (v.pred_sql != NULL)
	{
		init_capture_column(&cols[ncols], "<prediction>", v.pred_categorical);
		if (model_copy != NULL)
			appendStringInfoString(&sql, "NULL::pg_catalog.float8, ");
		else
			appendStringInfo(&sql, "(%s)::%s, ", v.pred_sql,
							 v.pred_categorical ? "pg_catalog.text" : "pg_catalog.float8");
		pred_col = ncols;
		ncols++;
	}
	ttype = mon_column_type(v.relid, v.target, v.relation);
	target_categorical = strcmp(v.task, "regression") != 0 || mon_type_is_categorical(ttype);
	init_capture_column(&cols[ncols], v.target, target_categorical);
	appendStringInfo(&sql, "%s%s FROM %s AS r", mon_column_expr(&cols[ncols]), extra.data, v.relation);
	ncols++;

	rows = mon_scan(sql.data, cols, ncols, true, model_copy, pred_col);

	initStringInfo(&out);
	appendStringInfo(&out, "{\"rows\": " INT64_FORMAT ", \"relation\": ", rows);
	escape_json(&out, v.relation);
	appendStringInfo(&out, ", \"sample\": \"whole relation at training time\", \"grid_bins\": %d, "
					 "\"top_n\": %d, \"features\": [", MON_BINS, MON_TOP_N);
	for (i = 0; i < ncols - 1 - (v.pred_sql != NULL); i++)
	{
		if (i > 0)
			appendStringInfoString(&out, ", ");
		append_profile(&out, &cols[i]);
	}
	appendStringInfoString(&out, "]");
	if (v.pred_sql != NULL)
	{
		appendStringInfoString(&out, ", \"prediction\": ");
		append_profile(&out, &cols[ncols - 2]);
	}
	appendStringInfoString(&out, ", \"target\": ");
	append_profile(&out, &cols[ncols - 1]);
	appendStringInfoChar(&out, '}');

	MemoryContextSwitchTo(cxt);
	result = pstrdup(out.data);
	SPI_finish();
	MemoryContextDelete(work);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}
