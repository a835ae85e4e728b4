/*
 * monitor.c — the one pass of the drift report (drift_report.c) over a
 * relation, binning its rows against a baseline, and what baseline capture
 * (baseline.c) and the report both need to prepare (see monitor.h for the vocabulary): the grids and category
 * tables of the profiled columns, the DestReceiver that fills them from SPI
 * without copying a tuple, the prediction of a row by a copied linear or
 * logistic model, and what a model version's monitoring needs (its columns,
 * their types, its prediction).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "monitor/monitor.h"

typedef struct MonReceiver
{
	DestReceiver pub;
	int			ncols;
	MonColumn  *cols;
	int64		rows;
	MonModel   *model;			/* NULL: the prediction comes from SQL */
	int			pred_col;
} MonReceiver;

/*
 * The prediction of a row by a copied model; false (no prediction) when a
 * scalar feature is null or NaN, or an array feature has nulls or the wrong
 * length.
 */
static bool
mon_predict(MonModel *m, TupleTableSlot *slot, double *out)
{
	double		eta = m->intercept;
	int			i,
				j,
				k = 0;

	for (i = 0; i < m->ncolumns; i++)
	{
		int			s = m->slot[i];

		if (slot->tts_isnull[s])
			return false;
		if (m->length[i] == 0)
		{
			m->x[k] = DatumGetFloat8(slot->tts_values[s]);
			if (isnan(m->x[k++]))
				return false;
		}
		else
		{
			struct varlena *raw = (struct varlena *) DatumGetPointer(slot->tts_values[s]);
			struct varlena *arr = PG_DETOAST_DATUM(slot->tts_values[s]);
			Float8ArrayView view;
			bool		ok;

			mlsys_array_view(PointerGetDatum(arr), &view);
			ok = !view.hasnull && view.ndim == 1 && view.n == m->length[i];
			if (ok)
				memcpy(m->x + k, view.data, sizeof(double) * view.n);
			if (arr != raw)
				pfree(arr);
			if (!ok)
				return false;
			k += m->length[i];
		}
	}
	if (m->kind == MODEL_LINEAR)
	{
		for (j = 0; j < m->nfeat; j++)
			eta += m->coef[j] * m->x[j];
		*out = eta;
	}
	else
	{
		for (j = 0; j < m->nfeat; j++)
			eta += m->coef[j] * (m->x[j] - m->center[j]) * m->inv_scale[j];
		*out = 1.0 / (1.0 + exp(-eta));
	}
	return true;
}

static void
reject_nonfinite(double x, const char *column)
{
	if (!isfinite(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("column \"%s\" contains an infinite value", column),
				 errdetail("Drift statistics need finite numbers; infinity cannot be binned (NaN counts as missing).")));
}

/* bins a current value against a baseline grid */
static void
grid_bin(MonColumn *c, double x)
{
	double		lo = ldexp((double) c->k0, c->e);
	double		hi = ldexp((double) (c->k0 + c->nbins), c->e);

	if (x < lo)
	{
		c->under += 1;
		c->under_sum += lo - x;
	}
	else if (x >= hi)
	{
		c->over += 1;
		c->over_sum += x - hi;
	}
	else
	{
		int64		j = (int64) floor(ldexp(x, -c->e)) - c->k0;

		c->counts[Max(0, Min(j, c->nbins - 1))] += 1;
	}
}

/* an empty category table (CatEntry by hash) in the current memory context */
HTAB *
mon_new_cat_table(const char *name)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(CatEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static bool
mon_receive(TupleTableSlot *slot, DestReceiver *self)
{
	MonReceiver *r = (MonReceiver *) self;
	int			i;

	CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	r->rows++;
	for (i = 0; i < r->ncols; i++)
	{
		MonColumn  *c = &r->cols[i];
		bool		isnull = slot->tts_isnull[i];
		double		pred = 0;

		if (i == r->pred_col && r->model != NULL)
			isnull = !mon_predict(r->model, slot, &pred);
		if (isnull)
		{
			c->nulls += 1;
			continue;
		}
		if (!c->categorical)
		{
			double		x = (i == r->pred_col && r->model != NULL) ? pred :
				DatumGetFloat8(slot->tts_values[i]);

			/* NaN is a missing value, as training's imputation treats it */
			if (isnan(x))
			{
				c->nulls += 1;
				continue;
			}
			reject_nonfinite(x, c->name);
			grid_bin(c, x);
			c->n += 1;
		}
		else
		{
			text	   *t = DatumGetTextPP(slot->tts_values[i]);
			uint64		key = profile_cat_key(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			CatEntry   *ent;

			c->n += 1;
			ent = hash_search(c->cats, &key, HASH_FIND, NULL);
			c->cat_counts[ent ? ent->index : c->ncats] += 1;
			if ((Pointer) t != DatumGetPointer(slot->tts_values[i]))
				pfree(t);
		}
	}
	return true;
}

static void
mon_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
mon_noop(DestReceiver *self)
{
}

/* runs a query, feeding every row to the columns (SPI connected) */
int64
mon_scan(const char *sql, MonColumn *cols, int ncols, MonModel *model, int pred_col)
{
	MonReceiver r;
	SPIExecuteOptions opts;
	int			rc;

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = mon_receive;
	r.pub.rStartup = mon_startup;
	r.pub.rShutdown = mon_noop;
	r.pub.rDestroy = mon_noop;
	r.pub.mydest = DestTuplestore;	/* a tag only: not DestNone, which SPI treats as "discard" */
	r.cols = cols;
	r.ncols = ncols;
	r.model = model;
	r.pred_col = pred_col;
	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;
	opts.dest = (DestReceiver *) &r;
	rc = SPI_execute_extended(sql, &opts);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not scan the relation: %s", SPI_result_code_string(rc));
	return r.rows;
}


/* the select-list expression of a column: float8 or text */
char *
mon_column_expr(const MonColumn *c)
{
	return psprintf("(r.%s)::%s", quote_identifier(c->name),
					c->categorical ? "pg_catalog.text" : "pg_catalog.float8");
}

/* an SPI result value as text */
char *
mon_spi_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* what the monitoring of a model version needs (SPI connected) */
void
mon_load_version(const char *model, int32 version, VersionInfo *v)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	Datum		d;
	ArrayType  *arr;
	Datum	   *elems;
	int			n,
				i,
				positive = 2;
	char	   *classes,
			   *guard;
	StringInfoData buf;

	args[0] = CStringGetTextDatum(model);
	args[1] = Int32GetDatum(version);
	if (SPI_execute_with_args("SELECT v.relation, v.target, m.task, v.feature_columns, v.feature_lengths, "
							  "pg_catalog.array_position(v.classes, v.hyperparams ->> 'positive_class') "
							  "FROM mlsys.model_versions v JOIN mlsys.models m ON m.model = v.model "
							  "WHERE v.model = $1 AND v.version = $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model version");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, model)));
	v->relation = mon_spi_text(0, 1);
	if (v->relation == NULL || v->relation[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" has no training relation", version, model),
				 errdetail("The version was imported from a model trained outside mlsys."),
				 errhint("Drift against a baseline needs a version trained with mlsys.train.")));
	v->target = mon_spi_text(0, 2);
	v->task = mon_spi_text(0, 3);
	classes = mon_spi_text(0, 6);
	if (classes != NULL)
		positive = atoi(classes);
	v->positive = positive;

	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
	arr = DatumGetArrayTypeP(d);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &n);
	v->ncolumns = n;
	v->columns = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		v->columns[i] = TextDatumGetCString(elems[i]);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull);
	arr = DatumGetArrayTypeP(d);
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, NULL, &n);
	v->lengths = palloc(sizeof(int) * v->ncolumns);
	for (i = 0; i < v->ncolumns; i++)
		v->lengths[i] = i < n ? DatumGetInt32(elems[i]) : 0;

	/* rows with a null feature get no prediction rather than an error */
	initStringInfo(&buf);
	for (i = 0; i < v->ncolumns; i++)
		appendStringInfo(&buf, "%sr.%s IS NOT NULL", i > 0 ? " AND " : "",
						 quote_identifier(v->columns[i]));
	guard = v->ncolumns > 0 ? buf.data : "true";
	v->pred_sql = NULL;
	v->pred_categorical = false;
	if (strcmp(v->task, "regression") == 0)
		v->pred_sql = psprintf("CASE WHEN %s THEN mlsys.predict(%s, %d, r.*) END",
							   guard, quote_literal_cstr(model), version);
	else if (strcmp(v->task, "binary") == 0)
		v->pred_sql = psprintf("CASE WHEN %s THEN (mlsys.predict_proba(%s, %d, r.*))[%d] END",
							   guard, quote_literal_cstr(model), version, positive);
	else if (strcmp(v->task, "multiclass") == 0)
	{
		v->pred_sql = psprintf("CASE WHEN %s THEN mlsys.predict_label(%s, %d, r.*) END",
							   guard, quote_literal_cstr(model), version);
		v->pred_categorical = true;
	}
}

/* the type of a column of a relation, or an error naming it */
Oid
mon_column_type(Oid relid, const char *column)
{
	AttrNumber	att = get_attnum(relid, column);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", column,
						mlsys_relation_name(relid))));
	return get_atttype(relid, att);
}


/*
 * The model of a version copied for the receiver when it is linear or binary
 * logistic over numeric columns: scalar columns are found among the nprof
 * profiled scan columns, float8[] columns are appended to the scan's select
 * list (extra_sql) from scan column hidden_start on. NULL: the prediction
 * column must be computed by SQL.
 */
MonModel *
mon_copy_model(const char *model, int32 version, const VersionInfo *v, const MonColumn *cols,
		   int nprof, int hidden_start, StringInfo extra_sql)
{
	CachedModel *m;
	MonModel   *mm;
	StringInfoData extra;
	int			i,
				j,
				nhidden = 0,
				nfeat = 0;
	bool		ok;

	if (v->pred_sql == NULL || v->pred_categorical)
		return NULL;
	mm = palloc0(sizeof(MonModel));
	mm->ncolumns = v->ncolumns;
	mm->slot = palloc(sizeof(int) * Max(v->ncolumns, 1));
	mm->length = palloc(sizeof(int) * Max(v->ncolumns, 1));
	initStringInfo(&extra);
	for (i = 0; i < v->ncolumns; i++)
	{
		mm->length[i] = v->lengths[i];
		nfeat += Max(v->lengths[i], 1);
		for (j = 0; j < nprof; j++)
			if (strcmp(cols[j].name, v->columns[i]) == 0)
				break;
		if (v->lengths[i] > 0 && j < nprof)
			return NULL;		/* a profiled column expanded by the model: one-hot */
		if (v->lengths[i] > 0)
		{
			mm->slot[i] = hidden_start + nhidden++;
			appendStringInfo(&extra, ", (r.%s)::pg_catalog.float8[]", quote_identifier(v->columns[i]));
			continue;
		}
		if (j == nprof || cols[j].categorical)
			return NULL;
		mm->slot[i] = j;
	}

	m = mlsys_cache_get(model, version);
	mlsys_cache_pin(m);
	ok = m->linear != NULL && m->spec->nfeat == nfeat && m->linear->nfeat == nfeat &&
		m->spec->ncolumns == v->ncolumns &&
		(m->loaded.kind == MODEL_LINEAR || (m->loaded.kind == MODEL_LOGISTIC && m->nclasses == 2));
	for (i = 0; ok && i < v->ncolumns; i++)
		ok = strcmp(m->spec->columns[i].name, v->columns[i]) == 0 &&
			m->spec->columns[i].length == v->lengths[i];
	if (ok)
	{
		mm->kind = m->loaded.kind;
		mm->nfeat = nfeat;
		mm->intercept = m->linear->intercept;
		mm->coef = palloc(sizeof(double) * nfeat);
		memcpy(mm->coef, m->linear->coef, sizeof(double) * nfeat);
		if (m->loaded.kind == MODEL_LOGISTIC)
		{
			mm->center = palloc(sizeof(double) * nfeat);
			mm->inv_scale = palloc(sizeof(double) * nfeat);
			memcpy(mm->center, m->linear->center, sizeof(double) * nfeat);
			memcpy(mm->inv_scale, m->linear->inv_scale, sizeof(double) * nfeat);
		}
		mm->x = palloc(sizeof(double) * nfeat);
		appendStringInfoString(extra_sql, extra.data);
	}
	mlsys_cache_unpin(m);
	return ok ? mm : NULL;
}
