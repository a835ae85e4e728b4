/*
 * gbt_pass.c — the two passes of a boosted-trees training, as parallel-safe
 * aggregates with a bytea state and a combine function:
 *
 *   mlsys._gbt_sample_agg(y, x, seed, test_size, size): the sample the
 *   cut points are chosen from: the `size` rows with the smallest priority
 *   (a second number drawn from the row's content hash) among the rows with
 *   a target whose split number u is at least test_size, i.e. training rows
 *   (for a stratified classifier, bar the few rows between a class's cut and
 *   test_size). It also counts the rows with a target. The rows kept depend
 *   neither on scan order nor on how a parallel scan splits the table.
 *
 *   mlsys._gbt_rows_agg(y, x, seed, test_size, cuts, ncuts): every row with
 *   a target, binned: its content hash, y, and one byte per feature (the
 *   number of cut points at or below the value, GBT_MISSING for NaN); plus
 *   each feature's moments over the rows with u ≥ test_size, for the
 *   version's profile, and the count of rows without a target. The records
 *   are in no particular order: training sorts them by content hash.
 *
 * A state is checked in O(1) on every call (a fresh fn_extra costs nothing).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "utils/float.h"

#include "models/trees/trees.h"

#define SAMPLE_LAYOUT 0x47530002	/* "GS", layout version 2 */
#define ROWS_LAYOUT 0x47520001	/* "GR", layout version 1 */
#define PRIORITY_SALT UINT64CONST(0xA0761D6478BD642F)
#define GBT_SAMPLE_MAX 1000000

/*
 * The sample state: header, then the max-heap of (priority, slot) entries,
 * then the rows, each in its slot for good (heap moves shift 12 bytes, not
 * a row): heap[cap], rows[cap][nfeat].
 */
typedef struct GbtSampleState
{
	int32		vl_len_;
	uint32		layout;
	int32		nfeat;
	int32		cap;
	int32		count;
	int32		pad;
	uint64		split_key;
	double		test_size;
	int64		seen;			/* rows with a target */
} GbtSampleState;

typedef struct HeapEntry
{
	uint64		prio;
	int32		slot;
	int32		pad;
} HeapEntry;

static inline HeapEntry *
gs_heap(GbtSampleState *s)
{
	return (HeapEntry *) ((char *) s + sizeof(GbtSampleState));
}

static inline double *
gs_rows(GbtSampleState *s)
{
	return (double *) (gs_heap(s) + s->cap);
}

static Size
gs_size(int nfeat, int cap)
{
	return sizeof(GbtSampleState) + (Size) cap * (sizeof(HeapEntry) + 8 * (Size) nfeat);
}

static void
gs_check(GbtSampleState *s)
{
	if (VARSIZE(s) < sizeof(GbtSampleState) || s->layout != SAMPLE_LAYOUT ||
		s->nfeat < 1 || s->nfeat > MLSYS_MAX_FEATURES || s->cap < 1 || s->cap > GBT_SAMPLE_MAX ||
		s->count < 0 || s->count > s->cap || VARSIZE(s) != gs_size(s->nfeat, s->cap))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid boosted-trees sample state")));
}

/* sift entry i of the max-heap down */
static void
gs_sift_down(GbtSampleState *s, int i)
{
	HeapEntry  *h = gs_heap(s);
	HeapEntry	e = h[i];

	for (;;)
	{
		int			l = 2 * i + 1,
					m = l;

		if (l >= s->count)
			break;
		if (l + 1 < s->count && h[l + 1].prio > h[l].prio)
			m = l + 1;
		if (h[m].prio <= e.prio)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = e;
}

/* sift entry i (a new one) up */
static void
gs_sift_up(GbtSampleState *s, int i)
{
	HeapEntry  *h = gs_heap(s);
	HeapEntry	e = h[i];

	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (h[parent].prio >= e.prio)
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = e;
}

/* keep the row if its priority is among the cap smallest (a slot's row is checked by its slot) */
static void
gs_offer(GbtSampleState *s, uint64 prio, const char *x)
{
	HeapEntry  *h = gs_heap(s);
	int			p = s->nfeat;

	if (s->count < s->cap)
	{
		h[s->count].prio = prio;
		h[s->count].slot = s->count;
		h[s->count].pad = 0;
		memcpy(gs_rows(s) + (Size) s->count * p, x, sizeof(double) * p);
		s->count++;
		gs_sift_up(s, s->count - 1);
	}
	else if (prio < h[0].prio)
	{
		/* the largest priority leaves; its slot takes the new row */
		h[0].prio = prio;
		memcpy(gs_rows(s) + (Size) h[0].slot * p, x, sizeof(double) * p);
		gs_sift_down(s, 0);
	}
}

/* a heap entry's slot must lie inside the state (it may come from another process) */
static inline int32
gs_slot(GbtSampleState *s, int i)
{
	int32		slot = gs_heap(s)[i].slot;

	if (slot < 0 || slot >= s->cap)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid boosted-trees sample state")));
	return slot;
}

/* a float8[] feature vector argument, viewed in place */
static void
gbt_vector_arg(FunctionCallInfo fcinfo, int argno, Float8ArrayView *v)
{
	mlsys_array_view(PG_GETARG_DATUM(argno), v);
	if (v->ndim > 1 || v->hasnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector must be a one-dimensional float8[] without nulls")));
}

PG_FUNCTION_INFO_V1(gbt_sample_step);
/* mlsys._gbt_sample_step(state, y, x, seed, test_size, size) */
Datum
gbt_sample_step(PG_FUNCTION_ARGS)
{
	/* a new state is the executor's to copy into the aggregate context (see gr_grow) */
	MemoryContext cxt = (mlsys_agg_context(fcinfo, "mlsys._gbt_sample_step"), CurrentMemoryContext);
	GbtSampleState *s;
	Float8ArrayView v;
	double		y;
	uint64		h;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));	/* no target: not a training row */
	gbt_vector_arg(fcinfo, 2, &v);
	if (PG_ARGISNULL(0))
	{
		int			size = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);

		if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || size < 1 || size > GBT_SAMPLE_MAX ||
			v.n < 1 || v.n > MLSYS_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid arguments to mlsys._gbt_sample_agg")));
		s = MemoryContextAllocZero(cxt, gs_size(v.n, size));
		SET_VARSIZE(s, gs_size(v.n, size));
		s->layout = SAMPLE_LAYOUT;
		s->nfeat = v.n;
		s->cap = size;
		s->split_key = mlsys_split_key(PG_GETARG_INT64(3));
		s->test_size = PG_GETARG_FLOAT8(4);
	}
	else
	{
		s = (GbtSampleState *) PG_GETARG_BYTEA_P(0);
		gs_check(s);
	}
	if (v.n != s->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) v.n, v.n, s->nfeat)));
	y = PG_GETARG_FLOAT8(1);
	s->seen++;
	h = mlsys_row_hash_unchecked(v.data, v.n, y);
	if (s->test_size > 0 && mlsys_split_u(h, s->split_key) < s->test_size)
		PG_RETURN_POINTER(s);
	gs_offer(s, mlsys_mix64(h ^ PRIORITY_SALT), v.data);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(gbt_sample_combine);
/* mlsys._gbt_sample_combine(a, b): b's rows offered to a */
Datum
gbt_sample_combine(PG_FUNCTION_ARGS)
{
	GbtSampleState *a,
			   *b;
	Datum		result;
	MemoryContext cxt = (mlsys_agg_context(fcinfo, "mlsys._gbt_sample_combine"), CurrentMemoryContext);
	int			i;

	if (mlsys_combine_trivial(fcinfo, &result))
	{
		if (!PG_ARGISNULL(0) || PG_ARGISNULL(1))
			return result;
		/* a is NULL: b becomes the state, copied into the aggregate's memory */
		b = (GbtSampleState *) PG_GETARG_BYTEA_P(1);
		gs_check(b);
		a = MemoryContextAlloc(cxt, VARSIZE(b));
		memcpy(a, b, VARSIZE(b));
		PG_RETURN_POINTER(a);
	}
	a = (GbtSampleState *) PG_GETARG_BYTEA_P(0);
	b = (GbtSampleState *) PG_GETARG_BYTEA_P(1);
	gs_check(a);
	gs_check(b);
	if (a->nfeat != b->nfeat || a->cap != b->cap)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("boosted-trees sample states do not match")));
	a->seen += b->seen;
	for (i = 0; i < b->count; i++)
		gs_offer(a, gs_heap(b)[i].prio, (const char *) (gs_rows(b) + (Size) gs_slot(b, i) * b->nfeat));
	PG_RETURN_POINTER(a);
}

/*
 * The rows of a sample state, in priority order (the order a smaller sample
 * of them would be drawn in): *rows gets count × nfeat values. Returns the
 * count; *seen the rows with a target.
 */
int
gbt_sample_rows(Datum state, int nfeat, double **rows, int64 *seen)
{
	GbtSampleState *s = (GbtSampleState *) DatumGetByteaPCopy(state);
	int			n;

	gs_check(s);
	if (s->nfeat != nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) s->nfeat, s->nfeat, nfeat)));
	*seen = s->seen;
	n = s->count;
	/* pop the largest priority to the back: the rows in increasing priority */
	*rows = palloc(sizeof(double) * (Size) Max(n, 1) * nfeat);
	while (s->count > 0)
	{
		int			last = s->count - 1;

		memcpy(*rows + (Size) last * nfeat, gs_rows(s) + (Size) gs_slot(s, 0) * nfeat,
			   sizeof(double) * nfeat);
		gs_heap(s)[0] = gs_heap(s)[last];
		s->count--;
		gs_sift_down(s, 0);
	}
	return n;
}

/*
 * The rows state: header, the cut points (ncuts[j] per feature, at most
 * GBT_MAX_BINS - 1 each, cuts[j][..]), the moments (n, sum, sumsq, min,
 * max per feature), then the records.
 */
typedef struct GbtRowsState
{
	int32		vl_len_;
	uint32		layout;
	int32		nfeat;
	int32		rec;			/* record bytes */
	uint64		split_key;
	double		test_size;
	int64		nrows;			/* records */
	int64		cap;			/* room for records */
	int64		unlabelled;		/* rows without a target */
	int64		profiled;		/* rows the moments are of */
} GbtRowsState;

#define GR_MAX_CUTS (GBT_MAX_BINS - 1)

static inline int32 *
gr_ncuts(GbtRowsState *s)
{
	return (int32 *) ((char *) s + sizeof(GbtRowsState));
}

static inline double *
gr_cuts(GbtRowsState *s)
{
	return (double *) ((char *) gr_ncuts(s) + MAXALIGN(sizeof(int32) * (Size) s->nfeat));
}

static inline double *
gr_moments(GbtRowsState *s)
{
	return gr_cuts(s) + (Size) s->nfeat * GR_MAX_CUTS;
}

static inline char *
gr_records(GbtRowsState *s)
{
	return (char *) (gr_moments(s) + 5 * (Size) (s->nfeat + 1));
}

static Size
gr_head_size(int nfeat)
{
	return sizeof(GbtRowsState) + MAXALIGN(sizeof(int32) * (Size) nfeat) +
		sizeof(double) * ((Size) nfeat * GR_MAX_CUTS + 5 * (Size) (nfeat + 1));
}

static void
gr_check(GbtRowsState *s)
{
	if (VARSIZE(s) < sizeof(GbtRowsState) || s->layout != ROWS_LAYOUT ||
		s->nfeat < 1 || s->nfeat > MLSYS_MAX_FEATURES || s->rec != GBT_RECORD_SIZE(s->nfeat) ||
		s->nrows < 0 || s->nrows > s->cap ||
		VARSIZE(s) != gr_head_size(s->nfeat) + (Size) s->cap * s->rec)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid boosted-trees rows state")));
}

/*
 * A state with room for cap records (the records and moments of s, if any),
 * in cxt. A transition or combine function that returns a new pointer has
 * it copied into the aggregate's context by the executor, which frees the
 * old state: so a grown state is made in the call's own (per-row) memory.
 */
static GbtRowsState *
gr_grow(MemoryContext cxt, GbtRowsState *s, int64 cap)
{
	Size		head = gr_head_size(s->nfeat);
	Size		size;
	GbtRowsState *n;

	if ((Size) cap * s->rec > MaxAllocSize - head)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows for boosted trees"),
				 errdetail("A training pass holds at most 1 GB of binned rows."),
				 errhint("Train on a sample of the rows.")));
	size = head + (Size) cap * s->rec;
	n = MemoryContextAllocHuge(cxt, size);
	memcpy(n, s, head + (Size) s->nrows * s->rec);
	SET_VARSIZE(n, size);
	n->cap = cap;
	return n;
}

/* the bin of value v among ncuts sorted cut points: how many are ≤ v */
static inline uint8
gbt_bin(const double *cuts, int ncuts, double v)
{
	const double *base = cuts;
	int			n = ncuts;

	if (isnan(v))
		return GBT_MISSING;
	/* branchless: halve the range, keeping the part that holds the answer */
	if (n == 0)
		return 0;
	while (n > 1)
	{
		int			half = n >> 1;

		base = base[half] <= v ? base + half : base;
		n -= half;
	}
	return (uint8) ((base - cuts) + (base[0] <= v));
}

PG_FUNCTION_INFO_V1(gbt_rows_step);
/*
 * mlsys._gbt_rows_step(state, y, x, seed, test_size, cuts float8[], ncuts int4[],
 *                      expected_rows int8)
 */
Datum
gbt_rows_step(PG_FUNCTION_ARGS)
{
	GbtRowsState *s;
	Float8ArrayView v;
	double		y;
	uint64		h;
	char	   *r;
	double	   *mom;
	double		x;
	int			j;

	/* the state is the executor's to place in the aggregate context (gr_grow) */
	(void) mlsys_agg_context(fcinfo, "mlsys._gbt_rows_step");
	if (PG_ARGISNULL(0))
	{
		ArrayType  *cuts,
				   *ncuts;
		int			p;
		Size		total = 0;
		GbtRowsState head;

		if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid arguments to mlsys._gbt_rows_agg")));
		cuts = PG_GETARG_ARRAYTYPE_P(5);
		ncuts = PG_GETARG_ARRAYTYPE_P(6);
		p = ArrayGetNItems(ARR_NDIM(ncuts), ARR_DIMS(ncuts));
		if (ARR_ELEMTYPE(ncuts) != INT4OID || ARR_HASNULL(ncuts) || ARR_ELEMTYPE(cuts) != FLOAT8OID ||
			ARR_HASNULL(cuts) || p < 1 || p > MLSYS_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid cut points for mlsys._gbt_rows_agg")));
		for (j = 0; j < p; j++)
		{
			int			n = ((int32 *) ARR_DATA_PTR(ncuts))[j];

			if (n < 0 || n > GR_MAX_CUTS)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid cut points for mlsys._gbt_rows_agg")));
			total += n;
		}
		if (total != (Size) ArrayGetNItems(ARR_NDIM(cuts), ARR_DIMS(cuts)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid cut points for mlsys._gbt_rows_agg")));
		memset(&head, 0, sizeof(head));
		head.nfeat = p;
		head.rec = GBT_RECORD_SIZE(p);
		s = palloc0(gr_head_size(p));
		memcpy(s, &head, sizeof(head));
		SET_VARSIZE(s, gr_head_size(p));
		/*
		 * room for half the expected rows (a parallel participant's share,
		 * or a serial scan's first half): few or no copies as it grows
		 */
		if (!PG_ARGISNULL(7) && PG_GETARG_INT64(7) > 0)
			s = gr_grow(CurrentMemoryContext, s, Min(PG_GETARG_INT64(7) / 2 + 1024, MaxAllocSize / s->rec / 2));
		s->layout = ROWS_LAYOUT;
		s->split_key = mlsys_split_key(PG_GETARG_INT64(3));
		s->test_size = PG_GETARG_FLOAT8(4);
		memcpy(gr_ncuts(s), ARR_DATA_PTR(ncuts), sizeof(int32) * p);
		{
			const double *c = (const double *) ARR_DATA_PTR(cuts);

			for (j = 0; j < p; j++)
			{
				int			n = gr_ncuts(s)[j];

				memcpy(gr_cuts(s) + (Size) j * GR_MAX_CUTS, c, sizeof(double) * n);
				c += n;
			}
		}
		mom = gr_moments(s);
		for (j = 0; j <= p; j++)
		{
			mom[5 * j + 3] = get_float8_infinity();
			mom[5 * j + 4] = -get_float8_infinity();
		}
	}
	else
	{
		s = (GbtRowsState *) PG_GETARG_BYTEA_P(0);
		gr_check(s);
	}
	if (PG_ARGISNULL(1))
	{
		s->unlabelled++;
		PG_RETURN_POINTER(s);
	}
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature vector must not be null")));
	gbt_vector_arg(fcinfo, 2, &v);
	if (v.n != s->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) v.n, v.n, s->nfeat)));
	y = PG_GETARG_FLOAT8(1);
	if (!isfinite(y))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target value must be finite")));
	if (s->nrows == s->cap)
		s = gr_grow(CurrentMemoryContext, s, Max(1024, s->cap + s->cap / 2));
	h = mlsys_row_hash_unchecked(v.data, v.n, y);
	r = gr_records(s) + (Size) s->nrows * s->rec;
	memcpy(r, &h, 8);
	memcpy(r + 8, &y, 8);
	for (j = 0; j < s->nfeat; j++)
	{
		memcpy(&x, v.data + 8 * (Size) j, 8);
		if (isinf(x))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature value must not be infinite")));
		((uint8 *) r)[16 + j] = gbt_bin(gr_cuts(s) + (Size) j * GR_MAX_CUTS, gr_ncuts(s)[j], x);
	}
	s->nrows++;
	/* the profile's moments: training rows (u ≥ test_size) */
	if (s->test_size <= 0 || mlsys_split_u(h, s->split_key) >= s->test_size)
	{
		mom = gr_moments(s);
		s->profiled++;
		for (j = 0; j <= s->nfeat; j++)
		{
			double	   *m = mom + 5 * (Size) j;

			if (j < s->nfeat)
				memcpy(&x, v.data + 8 * (Size) j, 8);
			else
				x = y;
			if (isnan(x))
				continue;
			m[0] += 1;
			m[1] += x;
			m[2] += x * x;
			m[3] = Min(m[3], x);
			m[4] = Max(m[4], x);
		}
	}
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(gbt_rows_combine);
/* mlsys._gbt_rows_combine(a, b): b's records after a's */
Datum
gbt_rows_combine(PG_FUNCTION_ARGS)
{
	GbtRowsState *a,
			   *b;
	Datum		result;
	MemoryContext cxt = (mlsys_agg_context(fcinfo, "mlsys._gbt_rows_combine"), CurrentMemoryContext);
	double	   *ma,
			   *mb;
	int			j;

	if (mlsys_combine_trivial(fcinfo, &result))
	{
		if (!PG_ARGISNULL(0) || PG_ARGISNULL(1))
			return result;
		b = (GbtRowsState *) PG_GETARG_BYTEA_P(1);
		gr_check(b);
		a = MemoryContextAllocHuge(cxt, VARSIZE(b));
		memcpy(a, b, VARSIZE(b));
		PG_RETURN_POINTER(a);
	}
	a = (GbtRowsState *) PG_GETARG_BYTEA_P(0);
	b = (GbtRowsState *) PG_GETARG_BYTEA_P(1);
	gr_check(a);
	gr_check(b);
	if (a->nfeat != b->nfeat || memcmp(gr_ncuts(a), gr_ncuts(b), sizeof(int32) * a->nfeat) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("boosted-trees rows states do not match")));
	if (a->nrows + b->nrows > a->cap)
		a = gr_grow(CurrentMemoryContext, a, a->nrows + b->nrows);
	memcpy(gr_records(a) + (Size) a->nrows * a->rec, gr_records(b), (Size) b->nrows * b->rec);
	a->nrows += b->nrows;
	a->unlabelled += b->unlabelled;
	a->profiled += b->profiled;
	ma = gr_moments(a);
	mb = gr_moments(b);
	for (j = 0; j <= a->nfeat; j++)
	{
		ma[5 * j] += mb[5 * j];
		ma[5 * j + 1] += mb[5 * j + 1];
		ma[5 * j + 2] += mb[5 * j + 2];
		ma[5 * j + 3] = Min(ma[5 * j + 3], mb[5 * j + 3]);
		ma[5 * j + 4] = Max(ma[5 * j + 4], mb[5 * j + 4]);
	}
	PG_RETURN_POINTER(a);
}

/*
 * The rows of a rows state (the pass's result, which the caller owns): the
 * records in place, with the counts and moments. The records are returned
 * as a pointer into the state, which is not copied.
 */
void
gbt_rows_view(Datum state, int nfeat, GbtRows *out)
{
	GbtRowsState *s = (GbtRowsState *) DatumGetByteaP(state);

	gr_check(s);
	if (s->nfeat != nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid boosted-trees rows state")));
	out->nrows = s->nrows;
	out->rec = s->rec;
	out->records = gr_records(s);
	out->unlabelled = s->unlabelled;
	out->profiled = s->profiled;
	out->moments = gr_moments(s);
}
