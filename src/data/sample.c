/*
 * sample.c — a bounded uniform sample of a classifier's training rows,
 * collected by mlsys._train_sample_agg in the same scan as the first pass,
 * so that logistic regression can start its Newton passes from the fit of
 * the sample: a start within sampling error of the optimum, from which two
 * or three passes over the table converge instead of five to seven.
 *
 * The sample is the `size` training rows (stratum ≠ 0 of the stratified
 * cuts, strata.c) with the largest key, a second number drawn from the row's
 * content hash (split.c) with its own salt, among those whose key is at
 * least a threshold: every training row is equally likely to be in it, and
 * the rows kept depend neither on the scan order nor on how a parallel scan
 * splits the table. Training sets the threshold so that about 95 % of
 * `size` rows pass it (the split pass has counted the rows): a row then costs
 * one comparison, a kept row an append, and the heap that keeps the largest
 * keys is built only in the unlikely case that more rows pass. Rows with a
 * NULL or non-finite value are skipped (the first pass itself reports
 * them).
 *
 * The state is a bytea, updated in place, with a combine function: (key,
 * slot) pairs over cap slots of (y, x_1 .. x_p), a min-heap once `limit`
 * (the size) rows are kept. The standalone aggregate allocates every slot at
 * once. Training embeds the same state in the first pass's (linreg_stats.c:
 * mlsys._linreg_strata_agg with a sample size), which has hashed the row
 * already, and there the slots grow with the rows kept (cap doubles up to
 * limit): under Citus every shard's state travels to the coordinator as
 * text, and a shard keeps only its share of the sample, so a state of every
 * slot would be mostly unused space.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "data/data.h"

#define SAMPLE_LAYOUT 0x534D0003	/* "SM", layout version 3 */
#define SAMPLE_SALT UINT64CONST(0x5DEECE66D2B7E151)
#define SAMPLE_MAX_BYTES (64 * 1024 * 1024)

typedef struct SampleState
{
	int32		vl_len_;
	uint32		layout;
	int32		nfeat;			/* p */
	int32		cap;			/* slots allocated */
	int32		count;			/* slots in use */
	int32		nclass;
	uint64		split_key;
	int64		seen;			/* training rows offered */
	double		threshold;		/* rows with a smaller key are never kept */
	int32		heaped;			/* full: (key, slot) pairs in min-heap order */
	int32		limit;			/* the size: rows kept at most (cap <= limit) */
	/* then: key[cap] (double), slot[cap] (int32, padded to 8), rows[cap · (p + 1)] */
} SampleState;

StaticAssertDecl(sizeof(SampleState) % sizeof(double) == 0, "SampleState must keep its arrays aligned");

static inline double *
sm_key(const SampleState *s)
{
	return (double *) ((const char *) s + sizeof(SampleState));
}

static inline int32 *
sm_slot(const SampleState *s)
{
	return (int32 *) (sm_key(s) + s->cap);
}

static inline double *
sm_rows(const SampleState *s)
{
	return (double *) ((char *) sm_slot(s) + MAXALIGN(sizeof(int32) * (Size) s->cap));
}

static Size
sample_state_size(int nfeat, int cap)
{
	return sizeof(SampleState) + sizeof(double) * (Size) cap +
		MAXALIGN(sizeof(int32) * (Size) cap) + sizeof(double) * (Size) cap * (nfeat + 1);
}

/*
 * The threshold argument argno of a sample's aggregate (0 when the
 * aggregate has no such argument): a number from 0 to 1.
 */
double
mlsys_sample_threshold_arg(FunctionCallInfo fcinfo, int argno)
{
	double		t;

	if (PG_NARGS() <= argno)
		return 0.0;
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("sample threshold must not be null")));
	t = PG_GETARG_FLOAT8(argno);
	if (!(t >= 0 && t <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample threshold must be between 0 and 1, not %g", t)));
	return t;
}

/* reject a sample size out of range for p features */
void
mlsys_sample_check_size(int size, int p)
{
	if (size < 1 || (double) size * sizeof(double) * (p + 3) > SAMPLE_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample size %d is out of range", size),
				 errdetail("A sample holds at least one row and at most %d MB.",
						   SAMPLE_MAX_BYTES / (1024 * 1024))));
}

/* the bytes of a sample state of cap rows of p features */
Size
mlsys_sample_size(int p, int cap)
{
	return sample_state_size(p, cap);
}

/*
 * an empty sample state of cap slots for at most limit rows at state
 * (mlsys_sample_size(p, cap) bytes, not necessarily zeroed)
 */
void
mlsys_sample_init(void *state, int p, int cap, int limit, int nclass, uint64 split_key, double threshold)
{
	SampleState *s = (SampleState *) state;

	Assert(cap >= 1 && cap <= limit);
	memset(s, 0, sizeof(SampleState));
	SET_VARSIZE(s, sample_state_size(p, cap));
	s->layout = SAMPLE_LAYOUT;
	s->nfeat = p;
	s->cap = cap;
	s->limit = limit;
	s->nclass = nclass;
	s->split_key = split_key;
	s->threshold = threshold;
}

static void
sample_state_check(const SampleState *s)
{
	if (!VARATT_IS_4B_U(s) || VARSIZE(s) < sizeof(SampleState) ||
		s->layout != SAMPLE_LAYOUT ||
		s->nfeat < 1 || s->nfeat > MLSYS_MAX_FEATURES ||
		s->cap < 1 || s->limit < s->cap || s->count < 0 || s->count > s->cap || s->seen < s->count ||
		s->nclass < 2 || s->nclass > MLSYS_MAX_CLASSES ||
		!(s->threshold >= 0 && s->threshold <= 1) ||
		(s->heaped != 0 && (s->heaped != 1 || s->count != s->cap)) ||
		VARSIZE(s) != sample_state_size(s->nfeat, s->cap))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid training sample aggregate state")));
}

/*
 * The header's checks, and every heap slot in range: for a state that did
 * not come from this process's transition function (a combine input, an
 * embedded sample), checked once per state.
 */
static void
sample_state_check_deep(const SampleState *s)
{
	int			i;

	sample_state_check(s);
	for (i = 0; i < s->count; i++)
		if (sm_slot(s)[i] < 0 || sm_slot(s)[i] >= s->cap)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid training sample aggregate state")));
}

/* restore the heap order below position i (the smallest key at the root) */
static void
sample_sift_down(SampleState *s, int i)
{
	double	   *key = sm_key(s);
	int32	   *slot = sm_slot(s);
	double		k = key[i];
	int32		sl = slot[i];

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= s->count)
			break;
		if (c + 1 < s->count && key[c + 1] < key[c])
			c++;
		if (!(key[c] < k))
			break;
		key[i] = key[c];
		slot[i] = slot[c];
		i = c;
	}
	key[i] = k;
	slot[i] = sl;
}

/* put the (key, slot) pairs of a full sample in min-heap order */
static void
sample_heapify(SampleState *s)
{
	int			i;

	for (i = s->count / 2 - 1; i >= 0; i--)
		sample_sift_down(s, i);
	s->heaped = 1;
}

/*
 * Offer a row (y, then x as p unaligned float8 values, or an aligned row of
 * y, x when x is NULL) with its key: kept when its key is at least the
 * threshold and the sample has room, or, once full (then a min-heap), when
 * the key beats the smallest kept. The rows kept are the cap rows with the
 * largest keys among those at or above the threshold, whatever the order of
 * the offers. With a threshold that about the sample's size of rows pass,
 * a row costs one comparison and the kept ones an append.
 */
static void
sample_offer(SampleState *s, double key, double y, const char *x, const double *yx)
{
	double	   *keys = sm_key(s);
	int32	   *slot = sm_slot(s);
	int			m = s->nfeat + 1;
	int			sl;
	double	   *row;

	if (key < s->threshold)
		return;
	if (s->count < s->cap)
	{
		sl = s->count++;
		keys[sl] = key;
		slot[sl] = sl;
	}
	else
	{
		if (!s->heaped)
			sample_heapify(s);
		if (!(key > keys[0]))
			return;
		/* replace the smallest (its slot checked: the state may be forged) */
		sl = slot[0];
		if (sl < 0 || sl >= s->cap)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid training sample aggregate state")));
		keys[0] = key;
		sample_sift_down(s, 0);
	}
	row = sm_rows(s) + (Size) sl * m;
	if (yx != NULL)
		memcpy(row, yx, sizeof(double) * m);
	else
	{
		row[0] = y;
		memcpy(row + 1, x, sizeof(double) * s->nfeat);
	}
}

/*
 * The checks of a sample state's bytes (one embedded in another state, too),
 * every slot included, and that it has cap slots for at most limit rows of p
 * features.
 */
void
mlsys_sample_check(const void *state, int p, int cap, int limit)
{
	const SampleState *s = (const SampleState *) state;

	sample_state_check_deep(s);
	if (s->nfeat != p || s->cap != cap || s->limit != limit)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid training sample aggregate state")));
}

/*
 * Offer a training row (its content hash, label y, p unaligned float8 values
 * at x) to the sample at state.
 */
void
mlsys_sample_add(void *state, uint64 row_hash, double y, const char *x)
{
	SampleState *s = (SampleState *) state;
	double		key = mlsys_split_u(row_hash, s->split_key ^ SAMPLE_SALT);

	s->seen++;
	/* most rows of a large table are below the threshold or the smallest key kept: decided here */
	if (key < s->threshold || (s->heaped && !(key > sm_key(s)[0])))
		return;
	sample_offer(s, key, y, x, NULL);
}

/* merge sample b into sample a (a is modified, b is not) */
void
mlsys_sample_merge(void *state_a, const void *state_b)
{
	SampleState *a = (SampleState *) state_a;
	const SampleState *b = (const SampleState *) state_b;
	int			m,
				i;

	sample_state_check_deep(a);
	sample_state_check_deep(b);
	if (a->nfeat != b->nfeat || a->limit != b->limit || a->nclass != b->nclass ||
		a->split_key != b->split_key || a->threshold != b->threshold)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot combine training sample states with different parameters")));
	m = a->nfeat + 1;
	for (i = 0; i < b->count; i++)
	{
		int32		sl = sm_slot(b)[i];

		if (sl < 0 || sl >= b->count)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid training sample aggregate state")));
		sample_offer(a, sm_key(b)[i], 0, NULL, sm_rows(b) + (Size) sl * m);
	}
	a->seen += b->seen;
}

/* the rows a (checked) sample state keeps */
int
mlsys_sample_count(const void *state)
{
	sample_state_check((const SampleState *) state);
	return ((const SampleState *) state)->count;
}

/* must the slots grow before the next row is offered? */
bool
mlsys_sample_needs_room(const void *state)
{
	const SampleState *s = (const SampleState *) state;

	return s->count == s->cap && s->cap < s->limit;
}

/*
 * Copy sample src to dst with cap slots (mlsys_sample_size(p, cap) bytes),
 * cap between src's row count and its limit: the rows and their keys, in
 * the same order. A heap that gains room is a plain list again.
 */
void
mlsys_sample_copy(void *dst, const void *src, int cap)
{
	const SampleState *s = (const SampleState *) src;
	SampleState *d = (SampleState *) dst;
	int			m;

	sample_state_check_deep(s);
	if (cap < s->count || cap > s->limit)
		elog(ERROR, "sample copy of %d rows into %d slots", s->count, cap);
	m = s->nfeat + 1;
	memcpy(d, s, sizeof(SampleState));
	SET_VARSIZE(d, sample_state_size(s->nfeat, cap));
	d->cap = cap;
	d->heaped = s->heaped && s->count == cap;
	memcpy(sm_key(d), sm_key(s), sizeof(double) * (Size) s->count);
	memcpy(sm_slot(d), sm_slot(s), sizeof(int32) * (Size) s->count);
	/* every slot in use is below the row count: the rows fill a prefix */
	memcpy(sm_rows(d), sm_rows(s), sizeof(double) * (Size) s->count * m);
}

PG_FUNCTION_INFO_V1(train_sample_accum);
/*
 * train_sample_accum(state bytea, y float8 (class index), x float8[],
 * seed int8, cuts float8[], size int4)
 */
Datum
train_sample_accum(PG_FUNCTION_ARGS)
{
	SampleState *s;
	Float8ArrayView v;
	StrataCuts	sc;
	uint64		h;
	double		y;
	bool		finite;
	int			c;

	mlsys_agg_context(fcinfo, "mlsys._train_sample_accum");

	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed, cuts and size must not be null")));
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(4), -1, &sc);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		goto skip;
	mlsys_array_view(PG_GETARG_DATUM(2), &v);
	if (v.hasnull || v.n < 1 || v.n > MLSYS_MAX_FEATURES)
		goto skip;

	if (PG_ARGISNULL(0))
	{
		int32		size = PG_GETARG_INT32(5);
		Size		bytes;


		mlsys_sample_check_size(size, v.n);
		bytes = sample_state_size(v.n, size);
		s = palloc(bytes);	/* the executor moves it into the aggregate context */
		mlsys_sample_init(s, v.n, size, size, sc.nclass, mlsys_split_key(PG_GETARG_INT64(3)),
						  mlsys_sample_threshold_arg(fcinfo, 6));
	}
	else
	{
		s = (SampleState *) PG_GETARG_POINTER(0);
		if (!mlsys_state_is_known(fcinfo))
		{
			sample_state_check_deep(s);
			mlsys_state_remember(fcinfo, s);
		}
		if (s->nfeat != v.n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (v.n), v.n, s->nfeat)));
	}

	y = PG_GETARG_FLOAT8(1);
	h = mlsys_row_hash(v.data, v.n, y, &finite);
	if (!finite || !isfinite(y))
		PG_RETURN_POINTER(s);
	c = mlsys_class_index(y, sc.nclass);
	if (mlsys_stratum(&sc, c, mlsys_split_u(h, s->split_key)) == 0)
		PG_RETURN_POINTER(s);	/* a holdout row */
	mlsys_sample_add(s, h, y, v.data);
	PG_RETURN_POINTER(s);

skip:
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

PG_FUNCTION_INFO_V1(train_sample_combine);
/* train_sample_combine(bytea, bytea): b's rows offered to a */
Datum
train_sample_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	SampleState *a,
			   *b;

	mlsys_agg_context(fcinfo, "mlsys._train_sample_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (SampleState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	a = (SampleState *) PG_GETARG_POINTER(0);
	mlsys_sample_merge(a, b);
	PG_RETURN_POINTER(a);
}

/* order of (key, slot) pairs by key, then slot */
typedef struct KeyedSlot
{
	double		key;
	int32		slot;
} KeyedSlot;

static int
keyed_slot_cmp(const void *pa, const void *pb)
{
	const KeyedSlot *a = (const KeyedSlot *) pa;
	const KeyedSlot *b = (const KeyedSlot *) pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->slot - b->slot;
}

/*
 * The policy of fitting a sample for a starting point (logreg_fit.c and
 * multiclass.c): a sample can say something about a model of `params`
 * parameters when it holds every training row or at least 10 rows per
 * parameter; its fit starts on a prefix of the rows (a uniform subsample,
 * since the rows come in key order) of 20 rows per parameter and at least
 * 2,048; the fit serves when it converged and does not (nearly) separate the
 * sample, with a mean loss (the objective less the penalty, per unit of class
 * weight) of at least 0.01, since the scale of coefficients that separate a
 * sample says little about the optimum of all rows.
 */
bool
mlsys_sample_can_start(int nrows, bool complete, int params)
{
	return nrows > 0 && (complete || nrows >= 10 * params);
}

int
mlsys_sample_prefix_rows(int nrows, int params)
{
	return Min(nrows, Max(2048, 20 * params));
}

bool
mlsys_sample_fit_usable(bool converged, double objective, double penalty, double weight_sum, int nrows)
{
	return converged && (objective - penalty) * nrows / weight_sum >= 0.01;
}

/*
 * The rows of a sample state (a datum from mlsys._train_sample_agg, or NULL
 * for none), sorted by key so the result does not depend on how the rows
 * arrived: returns the row count, sets *rows to count × (p + 1) values
 * (y, x_1 .. x_p), palloc'd in the current context, and *seen to the
 * training rows offered (the sample is complete when they are as many).
 */
int
mlsys_sample_rows(Datum d, bool isnull, int p, double **rows, int64 *seen)
{
	SampleState *s;
	KeyedSlot  *order;
	double	   *out;
	int			m = p + 1,
				i;

	*rows = NULL;
	*seen = 0;
	if (isnull)
		return 0;
	s = (SampleState *) PG_DETOAST_DATUM(d);
	sample_state_check(s);
	if (s->nfeat != p)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (s->nfeat), s->nfeat, p)));
	order = palloc(sizeof(KeyedSlot) * Max(s->count, 1));
	for (i = 0; i < s->count; i++)
	{
		order[i].key = sm_key(s)[i];
		order[i].slot = sm_slot(s)[i];
		if (order[i].slot < 0 || order[i].slot >= s->count)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid training sample aggregate state")));
	}
	qsort(order, s->count, sizeof(KeyedSlot), keyed_slot_cmp);
	out = palloc(sizeof(double) * (Size) Max(s->count, 1) * m);
	for (i = 0; i < s->count; i++)
		memcpy(out + (Size) i * m, sm_rows(s) + (Size) order[i].slot * m, sizeof(double) * m);
	pfree(order);
	*rows = out;
	*seen = s->seen;
	return s->count;
}

PG_FUNCTION_INFO_V1(train_sample_rows);
/*
 * mlsys._train_sample_rows(state bytea) → TABLE (y float8, x float8[]): the
 * rows of a sample state (of mlsys._train_sample_agg, or the sample inside
 * a state of mlsys._linreg_strata_agg), in key order (for tests and
 * inspection).
 */
Datum
train_sample_rows(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *store = mlsys_begin_rows(fcinfo, &desc);
	struct varlena *st = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	SampleState *s = (SampleState *) st;
	double	   *rows;
	int64		seen;
	int			n,
				i,
				m;

	/* the first pass of a classifier carries its sample in its own state */
	if (linreg_state_carries_sample(st))
	{
		Datum		d = linreg_state_sample(linreg_state_from_datum(PointerGetDatum(st), false));

		if (d == (Datum) 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the state has seen no rows, so it holds no sample")));
		s = (SampleState *) DatumGetPointer(d);
	}
	sample_state_check_deep(s);
	m = s->nfeat + 1;
	n = mlsys_sample_rows(PointerGetDatum(s), false, s->nfeat, &rows, &seen);
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Float8GetDatum(rows[(Size) i * m]);
		values[1] = PointerGetDatum(mlsys_float8_array(rows + (Size) i * m + 1, s->nfeat));
		tuplestore_putvalues(store, desc, values, nulls);
	}
	return (Datum) 0;
}
