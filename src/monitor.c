/*
 * monitor.c — drift baselines of model versions and the drift report.
 *
 * Vocabulary:
 *   baseline   the profile of a version's training relation, captured once per
 *              version (mlsys._capture_baseline, stored in mlsys.baselines):
 *              per feature column, the model's prediction and the target;
 *   grid       the quantile sketch of a numeric column: at most MON_BINS
 *              equal-width bins [k·2^e, (k+1)·2^e), k = k0 .. k0 + nbins - 1.
 *              It is built in one pass without knowing the range in advance:
 *              the bin width starts tiny and doubles (adjacent bins merge)
 *              whenever a value would make the occupied span exceed MON_BINS
 *              bins, so the final width is at most 2·(max - min)/(MON_BINS - 2)
 *              and the sketch's size never depends on the row count;
 *   PSI bins   10 equal-frequency bins of the baseline cut at grid edges (the
 *              first grid edge where the cumulative share reaches k/10),
 *              duplicate cuts merged; a value equal to a cut falls in the upper bin;
 *   drift      one pass over a relation binning every value against the
 *              baseline's grids and category lists (no sort), then PSI, KS,
 *              Wasserstein, JS distance and L-infinity per column
 *              (mlsys.drift). Both passes read the rows through SPI into a
 *              DestReceiver, so no tuple is copied.
 *
 * Categorical columns (text, varchar, char, bool, enums) are counted per
 * category by a 64-bit hash of their text; a baseline keeps the MON_TOP_N most
 * frequent categories plus "other". Arrays (float8[] feature columns) are not
 * profiled.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "parser/parse_type.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "mlsys.h"

#define MON_BINS 1024			/* grid bins per numeric column */
#define MON_TOP_N 20			/* categories kept per categorical column */
#define MON_MAX_DISTINCT 65536	/* distinct categories tracked while capturing */
#define MON_PSI_BINS 10
#define MON_FLOOR 0.0001		/* PSI: empty bin proportion floor (Evidently) */

typedef struct CatEntry
{
	uint64		key;			/* hash of the category text */
	char	   *text;
	double		count;
	int			index;			/* drift: position in the baseline's list */
} CatEntry;

/* one profiled column: a feature, the prediction or the target */
typedef struct MonColumn
{
	char	   *name;
	bool		categorical;
	double		nulls;
	double		n;				/* non-null values */
	/* numeric */
	double		sum,
				sumsq,
				min,
				max;
	int			e;				/* bin width 2^e */
	int64		k0;				/* first bin index */
	int			nbins;
	double	   *counts;			/* MON_BINS (capture) or nbins (drift) */
	double	   *ref;			/* drift: the baseline's counts */
	double		ref_n,
				ref_nulls;
	double		under,
				over,
				under_sum,
				over_sum;		/* drift: current values outside the grid */
	/* categorical */
	MemoryContext cxt;			/* where the category texts live */
	HTAB	   *cats;
	double		other;
	int			ncats;			/* drift: baseline categories */
	double	   *cat_counts;		/* drift: ncats + 1 (other) */
	double	   *cat_ref;
} MonColumn;

/*
 * A linear or binary logistic model copied out of the model cache, with where
 * each of its source columns sits in the scan: the receiver computes the
 * prediction column itself instead of calling mlsys.predict per row.
 */
typedef struct MonModel
{
	ModelKind	kind;
	int			nfeat;
	double		intercept;
	double	   *coef;
	double	   *center;
	double	   *inv_scale;
	int			ncolumns;
	int		   *slot;			/* scan column of each source column */
	int		   *length;			/* 0: scalar; n: float8[] of n elements */
	double	   *x;				/* nfeat values: the row being scored */
} MonModel;

typedef struct MonReceiver
{
	DestReceiver pub;
	bool		capture;
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

/* floor(k / 2^s) for 0 <= s <= 62 */
static inline int64
floor_shift(int64 k, int s)
{
	return k >= 0 ? k >> s : -((-(k + 1)) >> s) - 1;
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

/* doubles the grid's bin width s times (adjacent bins merge) */
static void
grid_collapse(MonColumn *c, int s)
{
	while (s > 0)
	{
		int			step = Min(s, 62);
		int64		nk0 = floor_shift(c->k0, step);
		int64		nkhi = floor_shift(c->k0 + c->nbins - 1, step);
		double		tmp[MON_BINS];
		int			j;

		memset(tmp, 0, sizeof(double) * (nkhi - nk0 + 1));
		for (j = 0; j < c->nbins; j++)
			tmp[floor_shift(c->k0 + j, step) - nk0] += c->counts[j];
		c->nbins = (int) (nkhi - nk0 + 1);
		memcpy(c->counts, tmp, sizeof(double) * c->nbins);
		c->k0 = nk0;
		c->e += step;
		s -= step;
	}
}

/* adds a finite value to a capture grid */
static void
grid_add(MonColumn *c, double x)
{
	int64		k,
				lo,
				hi;

	if (c->n == 0)
	{
		c->e = (x == 0) ? -1074 : ilogb(x) - 52;
		c->k0 = (int64) floor(ldexp(x, -c->e));
		c->nbins = 1;
		c->counts[0] = 1;
		return;
	}
	if (x != 0 && ilogb(x) - c->e >= 61)
		grid_collapse(c, ilogb(x) - c->e - 60);
	k = (int64) floor(ldexp(x, -c->e));
	for (;;)
	{
		lo = Min(c->k0, k);
		hi = Max(c->k0 + c->nbins - 1, k);
		if (hi - lo + 1 <= MON_BINS)
			break;
		grid_collapse(c, 1);
		k = floor_shift(k, 1);
	}
	if (k < c->k0)
	{
		int			d = (int) (c->k0 - k);

		memmove(c->counts + d, c->counts, sizeof(double) * c->nbins);
		memset(c->counts, 0, sizeof(double) * d);
		c->nbins += d;
		c->k0 = k;
	}
	else if (k >= c->k0 + c->nbins)
	{
		int			d = (int) (k - (c->k0 + c->nbins) + 1);

		memset(c->counts + c->nbins, 0, sizeof(double) * d);
		c->nbins += d;
	}
	c->counts[k - c->k0] += 1;
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

static HTAB *
new_cat_table(const char *name)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(CatEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static uint64
cat_key(const char *s, int len)
{
	return hash_bytes_extended((const unsigned char *) s, len, 0x6d6c7379);
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
			if (r->capture)
			{
				if (c->n == 0 || x < c->min)
					c->min = x;
				if (c->n == 0 || x > c->max)
					c->max = x;
				grid_add(c, x);
				c->sum += x;
				c->sumsq += x * x;
			}
			else
				grid_bin(c, x);
			c->n += 1;
		}
		else
		{
			text	   *t = DatumGetTextPP(slot->tts_values[i]);
			uint64		key = cat_key(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			CatEntry   *ent;
			bool		found;

			c->n += 1;
			if (r->capture)
			{
				ent = hash_search(c->cats, &key,
								  hash_get_num_entries(c->cats) < MON_MAX_DISTINCT ? HASH_ENTER : HASH_FIND,
								  &found);
				if (ent == NULL)
					c->other += 1;
				else
				{
					if (!found)
					{
						/* the receiver runs in the executor's memory: copy to the table's */
						ent->text = MemoryContextAlloc(c->cxt, VARSIZE_ANY_EXHDR(t) + 1);
						memcpy(ent->text, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
						ent->text[VARSIZE_ANY_EXHDR(t)] = '\0';
						ent->count = 0;
					}
					ent->count += 1;
				}
			}
			else
			{
				ent = hash_search(c->cats, &key, HASH_FIND, NULL);
				c->cat_counts[ent ? ent->index : c->ncats] += 1;
			}
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
static int64
mon_scan(const char *sql, MonColumn *cols, int ncols, bool capture, MonModel *model, int pred_col)
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
	r.capture = capture;
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

/* is a column of this type profiled by category? */
static bool
type_is_categorical(Oid typid)
{
	Oid			base = getBaseType(typid);

	return base == TEXTOID || base == VARCHAROID || base == BPCHAROID ||
		base == BOOLOID || base == NAMEOID || type_is_enum(base);
}

/* the select-list expression of a column: float8 or text */
static char *
column_expr(const MonColumn *c)
{
	return psprintf("(r.%s)::%s", quote_identifier(c->name),
					c->categorical ? "pg_catalog.text" : "pg_catalog.float8");
}

/*
 * What a model version's monitoring needs: its columns and how its
 * prediction is computed (SPI connected).
 */
typedef struct VersionInfo
{
	char	   *relation;
	Oid			relid;
	char	   *target;
	char	   *task;
	int			ncolumns;
	char	  **columns;
	int		   *lengths;
	char	   *pred_sql;		/* NULL: no prediction row */
	bool		pred_categorical;
} VersionInfo;

static char *
spi_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

static void
load_version(const char *model, int32 version, VersionInfo *v)
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
	v->relation = spi_text(0, 1);
	v->target = spi_text(0, 2);
	v->task = spi_text(0, 3);
	classes = spi_text(0, 6);
	if (classes != NULL)
		positive = atoi(classes);

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
static Oid
column_type(Oid relid, const char *column, const char *relname)
{
	AttrNumber	att = get_attnum(relid, column);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation %s does not exist", column, relname)));
	return get_atttype(relid, att);
}

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

/*
 * The PSI cuts of a grid: grid indices j (1..nbins-1) whose lower edge is the
 * first where the cumulative count reaches k/10 of n, k = 1..9, duplicates
 * merged. Returns their number.
 */
static int
psi_cuts(const double *counts, int nbins, double n, int *cuts)
{
	int			ncuts = 0,
				k = 1,
				j;
	double		cum = 0;

	for (j = 1; j < nbins && k < MON_PSI_BINS; j++)
	{
		cum += counts[j - 1];
		if (cum >= k * n / MON_PSI_BINS)
		{
			cuts[ncuts++] = j;
			while (k < MON_PSI_BINS && cum >= k * n / MON_PSI_BINS)
				k++;
		}
	}
	return ncuts;
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
			ncuts = psi_cuts(c->counts, c->nbins, c->n, cuts);
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

/*
 * The model of a version copied for the receiver when it is linear or binary
 * logistic over numeric columns: scalar columns are found among the nprof
 * profiled scan columns, float8[] columns are appended to the scan's select
 * list (extra_sql) from scan column hidden_start on. NULL: the prediction
 * column must be computed by SQL.
 */
static MonModel *
copy_model(const char *model, int32 version, const VersionInfo *v, const MonColumn *cols,
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
		(m->kind == MODEL_LINEAR || (m->kind == MODEL_LOGISTIC && m->nclasses == 2));
	for (i = 0; ok && i < v->ncolumns; i++)
		ok = strcmp(m->spec->columns[i].name, v->columns[i]) == 0 &&
			m->spec->columns[i].length == v->lengths[i];
	if (ok)
	{
		mm->kind = m->kind;
		mm->nfeat = nfeat;
		mm->intercept = m->linear->intercept;
		mm->coef = palloc(sizeof(double) * nfeat);
		memcpy(mm->coef, m->linear->coef, sizeof(double) * nfeat);
		if (m->kind == MODEL_LOGISTIC)
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

static void
init_capture_column(MonColumn *c, char *name, bool categorical)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->categorical = categorical;
	if (categorical)
	{
		c->cxt = CurrentMemoryContext;
		c->cats = new_cat_table("mlsys categories");
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
	load_version(model, version, &v);
	v.relid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(v.relation)));

	MemoryContextSwitchTo(work);
	cols = palloc(sizeof(MonColumn) * (v.ncolumns + 2));
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < v.ncolumns; i++)
	{
		Oid			t = column_type(v.relid, v.columns[i], v.relation);

		/* float8[] columns are not profiled (a length > 0 may also be a one-hot column) */
		if (OidIsValid(get_element_type(t)))
			continue;
		init_capture_column(&cols[ncols], v.columns[i], type_is_categorical(t));
		appendStringInfo(&sql, "%s, ", column_expr(&cols[ncols]));
		ncols++;
	}
	initStringInfo(&extra);
	/* hidden array columns go after the prediction and the target */
	model_copy = copy_model(model, version, &v, cols, ncols, ncols + 2, &extra);
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
	ttype = column_type(v.relid, v.target, v.relation);
	target_categorical = strcmp(v.task, "regression") != 0 || type_is_categorical(ttype);
	init_capture_column(&cols[ncols], v.target, target_categorical);
	appendStringInfo(&sql, "%s%s FROM %s AS r", column_expr(&cols[ncols]), extra.data, v.relation);
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
		int			ncuts = psi_cuts(c->ref, c->nbins, c->ref_n, cuts);
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

PG_FUNCTION_INFO_V1(drift_report);

/*
 * mlsys.drift(model text, relation regclass, version int DEFAULT NULL): one
 * row per profiled feature and one for the prediction, comparing the relation
 * with the version's baseline in one pass.
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

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and relation must not be null")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	relid = PG_GETARG_OID(1);
	store = mlsys_begin_rows(fcinfo, &tupdesc);
	relname = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));

	SPI_connect();
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
	load_version(model, version, &v);

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

		c->name = spi_text(i, 1);
		c->categorical = strcmp(spi_text(i, 2), "categorical") == 0;
		c->ref_n = spi_float8(i, 3);
		c->ref_nulls = spi_float8(i, 4);
		if (!c->categorical)
		{
			c->e = atoi(spi_text(i, 5) ? spi_text(i, 5) : "0");
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
			c->cats = new_cat_table("mlsys drift categories");
			for (k = 0; k < n; k++)
			{
				text	   *t = DatumGetTextPP(elems[k]);
				uint64		key = cat_key(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
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
		model_copy = copy_model(model, version, &v, cols, pred_col, ncols, &extra);
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < ncols; i++)
	{
		MonColumn  *c = &cols[i];

		if (i > 0)
			appendStringInfoString(&sql, ", ");
		if (i == pred_col && model_copy != NULL)
			appendStringInfoString(&sql, "NULL::pg_catalog.float8");
		else if (i == pred_col)
			appendStringInfo(&sql, "(%s)::%s", v.pred_sql,
							 c->categorical ? "pg_catalog.text" : "pg_catalog.float8");
		else
		{
			Oid			t = column_type(relid, c->name, relname);

			if (type_is_categorical(t) != c->categorical)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column \"%s\" of relation %s is %s, but the baseline profiled it as %s",
								c->name, relname, format_type_be(t),
								c->categorical ? "categorical" : "numeric")));
			appendStringInfoString(&sql, column_expr(c));
		}
	}
	appendStringInfo(&sql, "%s FROM %s AS r", extra.data, relname);
	if (PG_NARGS() == 5 && !PG_ARGISNULL(3) && !PG_ARGISNULL(4))
	{
		char	   *tcol = text_to_cstring(PG_GETARG_TEXT_PP(3));
		char	   *since = DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(4)));

		(void) column_type(relid, tcol, relname);
		appendStringInfo(&sql, " WHERE r.%s >= %s::pg_catalog.timestamptz",
						 quote_identifier(tcol), quote_literal_cstr(since));
	}
	rows = mon_scan(sql.data, cols, ncols, false, model_copy, pred_col);

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
		ov_name[j] = spi_text(j, 1);
		ov_metric[j] = spi_text(j, 2);
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
