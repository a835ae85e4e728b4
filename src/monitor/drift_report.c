/*
 * drift_report.c — mlsys.drift: one pass over a relation binning every value
 * against the baseline's grids and category lists (no sort; monitor.c), then
 * PSI, KS, Wasserstein, JS distance and L-infinity per column, against the
 * baseline captured by baseline.c (see monitor.h for the vocabulary).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "monitor/monitor.h"

/* ---------------------------------------------------------------------
 * The drift report
 * --------------------------------------------------------------------- */

/* a float8[] SPI value as a palloc'd C array */
static double *
spi_float8_array(int row, int col, int *n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
	double	   *out;

	if (isnull)
	{
		*n = 0;
		return NULL;
	}
	*n = ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(d)), ARR_DIMS(DatumGetArrayTypeP(d)));
	out = palloc(sizeof(double) * Max(*n, 1));
	mlsys_array_copy(d, out, *n, "baseline");
	return out;
}

static double
spi_float8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? NAN : DatumGetFloat8(d);
}

/* Σ (q - p)·ln(q / p) with proportions floored at MON_FLOOR */
static double
psi_value(const double *ref, const double *cur, int n, double nref, double ncur)
{
	double		s = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		double		p = Max(ref[i] / nref, MON_FLOOR);
		double		q = Max(cur[i] / ncur, MON_FLOOR);

		s += (q - p) * log(q / p);
	}
	return s;
}

/* Jensen–Shannon distance, base 2 */
static double
js_value(const double *ref, const double *cur, int n, double nref, double ncur)
{
	double		s = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		double		p = ref[i] / nref,
					q = cur[i] / ncur,
					m = (p + q) / 2;

		if (p > 0)
			s += p * log2(p / m);
		if (q > 0)
			s += q * log2(q / m);
	}
	return sqrt(Max(s / 2, 0));
}

static double
linf_value(const double *ref, const double *cur, int n, double nref, double ncur)
{
	double		d = 0;
	int			i;

	for (i = 0; i < n; i++)
		d = Max(d, fabs(ref[i] / nref - cur[i] / ncur));
	return d;
}

/* ∫ |a + (b - a)t| dt over [0, 1] */
static double
abs_linear_integral(double a, double b)
{
	if ((a >= 0 && b >= 0) || (a <= 0 && b <= 0))
		return (fabs(a) + fabs(b)) / 2;
	return (a * a + b * b) / (2 * (fabs(a) + fabs(b)));
}

typedef struct DriftFigures
{
	double		psi,
				ks,
				wasserstein,
				js,
				linf;
} DriftFigures;

/* the figures of a column after the scan */
static void
drift_figures(MonColumn *c, DriftFigures *f)
{
	double		ncur = c->n + c->nulls;
	double		nref = c->ref_n + c->ref_nulls;

	f->psi = f->ks = f->wasserstein = f->js = f->linf = NAN;
	if (ncur == 0 || nref == 0)
		return;
	if (!c->categorical)
	{
		int			cuts[MON_PSI_BINS];
		int			ncuts = profile_psi_cuts(c->ref, c->nbins, c->ref_n, cuts);
		double		rb[MON_PSI_BINS + 1],
					cb[MON_PSI_BINS + 1];
		int			b,
					j;

		/* PSI bins plus a null bin; values outside the grid in the end bins */
		memset(rb, 0, sizeof(rb));
		memset(cb, 0, sizeof(cb));
		cb[0] += c->under;
		for (j = 0, b = 0; j < c->nbins; j++)
		{
			while (b < ncuts && j >= cuts[b])
				b++;
			rb[b] += c->ref[j];
			cb[b] += c->counts[j];
		}
		cb[ncuts] += c->over;
		rb[ncuts + 1] = c->ref_nulls;
		cb[ncuts + 1] = c->nulls;
		f->psi = psi_value(rb, cb, ncuts + 2, nref, ncur);
		f->js = js_value(rb, cb, ncuts + 2, nref, ncur);
		f->linf = linf_value(rb, cb, ncuts + 2, nref, ncur);

		/* KS and Wasserstein over the non-null values, CDFs at grid edges */
		if (c->n > 0 && c->ref_n > 0)
		{
			double		fr = 0,
						fc = c->under / c->n,
						ks = fc,
						w = 0,
						width = ldexp(1.0, c->e);

			for (j = 0; j < c->nbins; j++)
			{
				double		fr1 = fr + c->ref[j] / c->ref_n;
				double		fc1 = fc + c->counts[j] / c->n;

				w += width * abs_linear_integral(fr - fc, fr1 - fc1);
				fr = fr1;
				fc = fc1;
				ks = Max(ks, fabs(fr - fc));
			}
			f->ks = ks;
			f->wasserstein = w + (c->under_sum + c->over_sum) / c->n;
		}
	}
	else
	{
		double	   *rb = palloc(sizeof(double) * (c->ncats + 2));
		double	   *cb = palloc(sizeof(double) * (c->ncats + 2));

		memcpy(rb, c->cat_ref, sizeof(double) * (c->ncats + 1));
		memcpy(cb, c->cat_counts, sizeof(double) * (c->ncats + 1));
		rb[c->ncats + 1] = c->ref_nulls;
		cb[c->ncats + 1] = c->nulls;
		f->psi = psi_value(rb, cb, c->ncats + 2, nref, ncur);
		f->js = js_value(rb, cb, c->ncats + 2, nref, ncur);
		f->linf = linf_value(rb, cb, c->ncats + 2, nref, ncur);
	}
}

/*
 * The logged online traffic of a version as a subquery with the baseline's
 * columns (named as they are, the prediction as "<prediction>"): the
 * features as logged, the logged prediction (what the baseline profiled:
 * the value, the positive class's probability, the label), over the
 * model's window (default 1 day) or since the time mlsys.check passes.
 */
static char *
logged_traffic_sql(FunctionCallInfo fcinfo, const char *model, int32 version, const VersionInfo *v,
				   const MonColumn *cols, int ncols, int pred_col)
{
	StringInfoData q;
	int			i;

	initStringInfo(&q);
	appendStringInfoString(&q, "(SELECT ");
	for (i = 0; i < ncols; i++)
	{
		const MonColumn *c = &cols[i];
		const char *key = quote_literal_cstr(c->name);

		if (i > 0)
			appendStringInfoString(&q, ", ");
		if (i == pred_col)
			appendStringInfoString(&q, strcmp(v->task, "regression") == 0 ? "p.prediction" :
								   strcmp(v->task, "binary") == 0 ? "p.probability" : "p.predicted_label");
		else if (c->categorical)
			appendStringInfo(&q, "p.features OPERATOR(pg_catalog.->>) %s", key);
		else
			appendStringInfo(&q, "CASE WHEN pg_catalog.jsonb_typeof(p.features OPERATOR(pg_catalog.->) %s) "
							 "OPERATOR(pg_catalog.=) 'number' "
							 "THEN (p.features OPERATOR(pg_catalog.->>) %s)::pg_catalog.float8 END",
							 key, key);
		appendStringInfo(&q, " AS %s", quote_identifier(c->name));
	}
	if (ncols == 0)
		appendStringInfoString(&q, "1");
	appendStringInfo(&q, " FROM mlsys.predictions p WHERE p.model OPERATOR(pg_catalog.=) %s "
					 "AND p.version OPERATOR(pg_catalog.=) %d AND p.source OPERATOR(pg_catalog.=) 'online' "
					 "AND p.predicted_at OPERATOR(pg_catalog.>=) ",
					 quote_literal_cstr(model), version);
	if (PG_NARGS() == 5 && !PG_ARGISNULL(4))
		appendStringInfo(&q, "%s::pg_catalog.timestamptz)",
						 quote_literal_cstr(DatumGetCString(DirectFunctionCall1(timestamptz_out,
																				 PG_GETARG_DATUM(4)))));
	else
		appendStringInfo(&q, "(pg_catalog.now() OPERATOR(pg_catalog.-) "
						 "COALESCE(mlsys._setting(%s, 'window') OPERATOR(pg_catalog.#>>) '{}', '1 day')::pg_catalog.interval))",
						 quote_literal_cstr(model));
	return q.data;
}

PG_FUNCTION_INFO_V1(drift_report);

/*
 * mlsys.drift(model text, relation regclass DEFAULT NULL, version int
 * DEFAULT NULL): one row per profiled feature and one for the prediction,
 * comparing the relation (NULL: the logged online traffic) with the
 * version's baseline in one pass.
 */
Datum
drift_report(PG_FUNCTION_ARGS)
{
	char	   *model;
	Oid			relid;
	int32		version;
	VersionInfo v;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	MonColumn  *cols;
	int			ncols,
				i,
				j;
	char	   *relname;
	StringInfoData sql,
				extra;
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	int64		rows;
	double		psi_threshold,
				js_threshold;
	int			noverrides;
	char	  **ov_name,
			  **ov_metric;
	double	   *ov_threshold;
	MemoryContext cxt = CurrentMemoryContext;
	MonModel   *model_copy = NULL;
	int			pred_col = -1;
	bool		logged;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be null")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	/* no relation: the model's logged online traffic */
	logged = PG_ARGISNULL(1);
	relid = logged ? InvalidOid : PG_GETARG_OID(1);
	store = mlsys_begin_rows(fcinfo, &tupdesc);
	relname = logged ? NULL : DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));

	SPI_connect();
	/* a private model's baseline and traffic are hidden: say why */
	mlsys_check_model_access(CStringGetTextDatum(model));
	if (PG_ARGISNULL(2))
	{
		Datum		d;

		args[0] = CStringGetTextDatum(model);
		if (!mlsys_spi_single_value("SELECT mlsys.live_version($1)", 1, types, args, &d))
			elog(ERROR, "could not find the live version");
		version = DatumGetInt32(d);
	}
	else
		version = PG_GETARG_INT32(2);
	mon_load_version(model, version, &v);

	/* the baseline, one row per column */
	args[0] = CStringGetTextDatum(model);
	args[1] = Int32GetDatum(version);
	if (SPI_execute_with_args("SELECT f ->> 'name', f ->> 'kind', (f ->> 'count')::float8, (f ->> 'nulls')::float8, "
							  "(f #>> '{grid,e}')::int, (f #>> '{grid,k0}')::float8, "
							  "ARRAY(SELECT x::float8 FROM pg_catalog.jsonb_array_elements_text(f #> '{grid,counts}') x), "
							  "ARRAY(SELECT x FROM pg_catalog.jsonb_array_elements_text(f -> 'categories') x), "
							  "ARRAY(SELECT x::float8 FROM pg_catalog.jsonb_array_elements_text(f -> 'counts') x), "
							  "(f ->> 'other')::float8 "
							  "FROM mlsys.baselines b, pg_catalog.jsonb_array_elements("
							  "  (b.profile -> 'features') || pg_catalog.jsonb_path_query_array(b.profile, '$.prediction')) "
							  "  WITH ORDINALITY AS t(f, i) "
							  "WHERE b.model = $1 AND b.version = $2 ORDER BY t.i",
							  2, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the baseline");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" has no baseline", version, model),
				 errhint("Capture one with SELECT mlsys.capture_baseline('%s', %d).", model, version)));
	ncols = (int) SPI_processed;
	cols = palloc0(sizeof(MonColumn) * ncols);
	for (i = 0; i < ncols; i++)
	{
		MonColumn  *c = &cols[i];
		int			n;

		c->name = mon_spi_text(i, 1);
		c->categorical = strcmp(mon_spi_text(i, 2), "categorical") == 0;
		c->ref_n = spi_float8(i, 3);
		c->ref_nulls = spi_float8(i, 4);
		if (!c->categorical)
		{
			c->e = atoi(mon_spi_text(i, 5) ? mon_spi_text(i, 5) : "0");
			c->k0 = isfinite(spi_float8(i, 6)) && fabs(spi_float8(i, 6)) < 1e18 ?
				(int64) spi_float8(i, 6) : PG_INT64_MAX;
			c->ref = spi_float8_array(i, 7, &n);
			c->nbins = n;
			/* the baseline is a table row anyone with UPDATE can change */
			if (n > MON_BINS || c->e < -1100 || c->e > 1100 || fabs((double) c->k0) > 9007199254740992.0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("baseline of version %d of model \"%s\" is corrupted", version, model),
						 errdetail("The grid of column \"%s\" is out of range.", c->name),
						 errhint("Capture it again with mlsys.capture_baseline.")));
			c->counts = palloc0(sizeof(double) * Max(n, 1));
			if (n == 0)
			{
				/* an all-null baseline column: every value lands outside */
				c->nbins = 0;
			}
		}
		else
		{
			Datum		d;
			bool		isnull;
			Datum	   *elems;
			int			k;

			d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 8, &isnull);
			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &n);
			c->ncats = n;
			c->cats = mon_new_cat_table("mlsys drift categories");
			for (k = 0; k < n; k++)
			{
				text	   *t = DatumGetTextPP(elems[k]);
				uint64		key = profile_cat_key(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				CatEntry   *ent = hash_search(c->cats, &key, HASH_ENTER, NULL);

				ent->index = k;
			}
			c->cat_ref = palloc0(sizeof(double) * (n + 1));
			c->cat_counts = palloc0(sizeof(double) * (n + 1));
			{
				double	   *rc = spi_float8_array(i, 9, &k);

				memcpy(c->cat_ref, rc, sizeof(double) * Min(k, n));
			}
			c->cat_ref[n] = spi_float8(i, 10);
		}
	}

	/* the scan: every profiled column of the relation and the prediction */
	initStringInfo(&extra);
	if (ncols > 0 && strcmp(cols[ncols - 1].name, "<prediction>") == 0 && v.pred_sql != NULL)
	{
		pred_col = ncols - 1;
		if (!logged)
			model_copy = mon_copy_model(model, version, &v, cols, pred_col, ncols, &extra);
	}
	if (logged)
		relname = logged_traffic_sql(fcinfo, model, version, &v, cols, ncols, pred_col);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < ncols; i++)
	{
		MonColumn  *c = &cols[i];

		if (i > 0)
			appendStringInfoString(&sql, ", ");
		if (i == pred_col && model_copy != NULL)
			appendStringInfoString(&sql, "NULL::pg_catalog.float8");
		else if (i == pred_col && !logged)
			appendStringInfo(&sql, "(%s)::%s", v.pred_sql,
							 c->categorical ? "pg_catalog.text" : "pg_catalog.float8");
		else
		{
			if (!logged)
			{
				Oid			t = mon_column_type(relid, c->name);

				if (profile_type_is_categorical(t) != c->categorical)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("column \"%s\" of relation \"%s\" is %s, but the baseline profiled it as %s",
									c->name, mlsys_relation_name(relid), format_type_be(t),
									c->categorical ? "categorical" : "numeric")));
			}
			appendStringInfoString(&sql, mon_column_expr(c));
		}
	}
	appendStringInfo(&sql, "%s FROM %s AS r", extra.data, relname);
	if (!logged && PG_NARGS() == 5 && !PG_ARGISNULL(3) && !PG_ARGISNULL(4))
	{
		char	   *tcol = text_to_cstring(PG_GETARG_TEXT_PP(3));
		char	   *since = DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(4)));

		(void) mon_column_type(relid, tcol);
		appendStringInfo(&sql, " WHERE r.%s >= %s::pg_catalog.timestamptz",
						 quote_identifier(tcol), quote_literal_cstr(since));
	}
	rows = mon_scan(sql.data, cols, ncols, model_copy, pred_col);

	/* thresholds */
	if (SPI_execute_with_args("SELECT (mlsys._setting($1, 'psi_threshold') #>> '{}')::float8, "
							  "(mlsys._setting($1, 'js_threshold') #>> '{}')::float8",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the drift thresholds");
	psi_threshold = spi_float8(0, 1);
	js_threshold = spi_float8(0, 2);
	if (SPI_execute_with_args("SELECT o.key, o.value ->> 'metric', (o.value ->> 'threshold')::float8 "
							  "FROM pg_catalog.jsonb_each(mlsys._setting($1, 'features')) o",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the feature overrides");
	noverrides = (int) SPI_processed;
	ov_name = palloc(sizeof(char *) * Max(noverrides, 1));
	ov_metric = palloc(sizeof(char *) * Max(noverrides, 1));
	ov_threshold = palloc(sizeof(double) * Max(noverrides, 1));
	for (j = 0; j < noverrides; j++)
	{
		ov_name[j] = mon_spi_text(j, 1);
		ov_metric[j] = mon_spi_text(j, 2);
		ov_threshold[j] = spi_float8(j, 3);
	}

	for (i = 0; i < ncols; i++)
	{
		MonColumn  *c = &cols[i];
		DriftFigures f;
		const char *metric = c->categorical ? "js" : "psi";
		double		threshold = c->categorical ? js_threshold : psi_threshold;
		double		value;
		Datum		values[13];
		bool		nulls[13];
		bool		is_prediction = (i == pred_col);

		CHECK_FOR_INTERRUPTS();
		drift_figures(c, &f);
		for (j = 0; j < noverrides; j++)
		{
			if (strcmp(ov_name[j], c->name) != 0)
				continue;
			if (ov_metric[j] != NULL)
			{
				metric = ov_metric[j];
				if (isnan(ov_threshold[j]))
					threshold = strcmp(metric, "psi") == 0 ? psi_threshold :
						strcmp(metric, "js") == 0 ? js_threshold :
						strcmp(metric, "wasserstein") == 0 ? NAN : 0.1;
			}
			if (!isnan(ov_threshold[j]))
				threshold = ov_threshold[j];
		}
		if (c->categorical && (strcmp(metric, "ks") == 0 || strcmp(metric, "wasserstein") == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("metric \"%s\" does not apply to categorical feature \"%s\"", metric, c->name),
					 errhint("Use psi, js or linf in the \"features\" setting of mlsys.configure.")));
		if (isnan(threshold))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("metric \"wasserstein\" of feature \"%s\" needs a threshold", c->name),
					 errhint("Wasserstein distances are in the feature's units: set {\"metric\": \"wasserstein\", \"threshold\": ...}.")));
		value = strcmp(metric, "psi") == 0 ? f.psi : strcmp(metric, "ks") == 0 ? f.ks :
			strcmp(metric, "wasserstein") == 0 ? f.wasserstein :
			strcmp(metric, "js") == 0 ? f.js : f.linf;

		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(c->name);
		values[1] = CStringGetTextDatum(is_prediction ? "prediction" :
										c->categorical ? "categorical" : "numeric");
		values[2] = Int64GetDatum(rows);
		values[3] = Float8GetDatum(rows > 0 ? c->nulls / rows : 0);
		values[4] = Float8GetDatum(f.psi);
		nulls[4] = isnan(f.psi);
		values[5] = Float8GetDatum(f.ks);
		nulls[5] = isnan(f.ks);
		values[6] = Float8GetDatum(f.wasserstein);
		nulls[6] = isnan(f.wasserstein);
		values[7] = Float8GetDatum(f.js);
		nulls[7] = isnan(f.js);
		values[8] = Float8GetDatum(f.linf);
		nulls[8] = isnan(f.linf);
		values[9] = CStringGetTextDatum(metric);
		values[10] = Float8GetDatum(value);
		nulls[10] = isnan(value);
		values[11] = Float8GetDatum(threshold);
		values[12] = BoolGetDatum(!isnan(value) && value >= threshold);
		nulls[12] = isnan(value);
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			tuplestore_putvalues(store, tupdesc, values, nulls);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	return (Datum) 0;
}
