/*
 * drift_stats.c — exact two-sample drift statistics as SQL aggregates, usable
 * on any table: a flag column says which rows are the reference sample
 * (false) and which the current one (true), so one pass answers "has this
 * column drifted?". All are PARALLEL SAFE with a combine function and a
 * concrete bytea state (no `internal`), allocated in the aggregate context and
 * updated in place.
 *
 *   numeric      mlsys.ks_test, mlsys.wasserstein, mlsys.psi (value float8,
 *                is_current bool): a "sample state" keeping every value, the
 *                reference sample growing from the front of one float8 buffer
 *                and the current sample from its back, so neither needs to be
 *                moved until the two meet (then the buffer doubles). Exact
 *                two-sample statistics need all values, so the state grows
 *                with the rows: 8 bytes a row, at most about 134 million rows
 *                (a varlena is at most 1 GB).
 *   categorical  mlsys.js_distance, mlsys.chi2_test, mlsys.linf_distance
 *                (category text, is_current bool): a "category state", an
 *                open-addressing hash table of (hash, length, offset, ref
 *                count, current count) slots followed by a string area; it
 *                grows with the number of distinct categories, not rows.
 *
 * Definitions (scipy's, so results can be checked against it):
 *   KS           D = max_x |F_ref(x) − F_cur(x)| with right-continuous
 *                empirical CDFs (scipy.stats.ks_2samp's statistic); the
 *                p-value is Kolmogorov's limiting distribution
 *                Q(√(n·m/(n+m))·D) = scipy.stats.kstwobign.sf (Kolmogorov
 *                1933; Smirnov 1948), not ks_2samp's exact small-sample one;
 *   Wasserstein  ∫ |F_ref − F_cur| dx (scipy.stats.wasserstein_distance);
 *   PSI          Σ (cur% − ref%)·ln(cur% / ref%) over bins cut at the
 *                reference quantiles k/bins, k = 1 .. bins−1, taken as
 *                PostgreSQL's percentile_cont (linear interpolation between
 *                order statistics, numpy.quantile's default); equal edges
 *                merged; a value equal to an edge falls in the bin above it
 *                (bin = number of edges ≤ value, PostgreSQL's width_bucket
 *                with an array, numpy.searchsorted(side='right')); an empty
 *                bin's proportion is 0.0001 (Evidently's convention). The
 *                quantiles are found by selection (a multi-rank quickselect),
 *                not by sorting;
 *   JS distance  √(½ KL(p‖m) + ½ KL(q‖m)), m = (p+q)/2, base 2
 *                (scipy.spatial.distance.jensenshannon(p, q, base=2));
 *   chi-square   Pearson's statistic on the 2×k contingency table without
 *                Yates' correction, dof = k − 1, p-value from the chi-square
 *                survival function Q(dof/2, χ²/2) (regularized upper
 *                incomplete gamma, by its power series or Legendre's
 *                continued fraction); one category gives (0, 1, 0) as
 *                scipy.stats.chi2_contingency does;
 *   L-infinity   max_c |p_c − q_c|.
 *
 * Rows with a NULL value or a NULL flag belong to neither sample and are
 * skipped. NaN is an error; ±Infinity is accepted by ks_test (it orders) and
 * an error elsewhere. An empty reference or current sample gives NULL.
 * Categories are compared by their bytes.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/float.h"

#include "mlsys.h"

/* ------------------------------------------------------------------------
 * Numeric sample state
 * ------------------------------------------------------------------------ */

#define KS_LAYOUT	0x4B530001	/* "KS", layout version 1 */
#define WS_LAYOUT	0x57530001	/* "WS", layout version 1 */
#define PSI_LAYOUT	0x50530001	/* "PS", layout version 1 */

#define PSI_DEFAULT_BINS 10
#define PSI_MAX_BINS 1000
#define PSI_FLOOR 0.0001

typedef struct SampleState
{
	int32		vl_len_;
	uint32		layout;
	int32		bins;			/* psi: bins asked for; 0 for the others */
	int32		pad;
	int64		nref;			/* reference values at values[0 .. nref) */
	int64		ncur;			/* current values at values[cap − ncur .. cap) */
	double		values[FLEXIBLE_ARRAY_MEMBER];
} SampleState;

#define SAMPLE_HDR offsetof(SampleState, values)
#define SAMPLE_MAX_VALUES ((int64) ((MaxAllocSize - SAMPLE_HDR) / sizeof(double)))

static inline int64
sample_capacity(const SampleState *s)
{
	return (int64) ((VARSIZE(s) - SAMPLE_HDR) / sizeof(double));
}

static const char *
sample_name(uint32 layout)
{
	return layout == KS_LAYOUT ? "ks_test" : layout == WS_LAYOUT ? "wasserstein" : "psi";
}

static void
sample_corrupted(uint32 layout)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid mlsys.%s aggregate state", sample_name(layout))));
}

/* the header and lengths of a sample state (O(1): called on every row) */
static void
sample_check(const SampleState *s, uint32 layout)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) < SAMPLE_HDR || s->layout != layout ||
		s->nref < 0 || s->ncur < 0 || s->nref > sample_capacity(s) - s->ncur ||
		(layout == PSI_LAYOUT ? (s->bins < 2 || s->bins > PSI_MAX_BINS) : s->bins != 0))
		sample_corrupted(layout);
}

/*
 * A state argument of a combine or final function: detoasted, and copied when
 * it is not aligned for float8 access (a bytea arriving in a tuple is only
 * int-aligned).
 */
static void *
state_arg(FunctionCallInfo fcinfo, int argno)
{
	struct varlena *v = PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));

	if (((uintptr_t) v) % MAXIMUM_ALIGNOF != 0)
	{
		struct varlena *copy = palloc(VARSIZE(v));

		memcpy(copy, v, VARSIZE(v));
		v = copy;
	}
	return v;
}

/*
 * The state of a running aggregate is an expanded object (PostgreSQL's
 * src/include/utils/expandeddatum.h) wrapping a SampleState that grows in
 * place by repalloc in the object's own memory context, a child of the
 * aggregate context: the executor adopts such a read-write object as the
 * transition value without copying it, so growing the buffer never makes the
 * executor copy the whole state (a plain bytea would be copied into the
 * aggregate context each time the buffer doubles). Wherever the state leaves
 * the aggregate (to the leader of a parallel plan, to a final function
 * called directly) it is flattened into a plain, compact bytea of the same
 * layout, so the state type stays a concrete bytea. Every function accepts
 * both forms.
 */
typedef struct SampleEOH
{
	ExpandedObjectHeader hdr;
	SampleState *st;			/* in hdr.eoh_context; VARSIZE = capacity */
} SampleEOH;

static Size
sample_flat_size(ExpandedObjectHeader *eohptr)
{
	SampleState *s = ((SampleEOH *) eohptr)->st;

	return SAMPLE_HDR + sizeof(double) * (Size) (s->nref + s->ncur);
}

/* the compact flat form: capacity = nref + ncur, so both samples are adjacent */
static void
sample_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	SampleState *s = ((SampleEOH *) eohptr)->st;
	SampleState *r = (SampleState *) result;

	if (allocated_size != sample_flat_size(eohptr))
		elog(ERROR, "unexpected flattened size of a sample state");
	memset(r, 0, SAMPLE_HDR);
	SET_VARSIZE(r, allocated_size);
	r->layout = s->layout;
	r->bins = s->bins;
	r->nref = s->nref;
	r->ncur = s->ncur;
	memcpy(r->values, s->values, sizeof(double) * (Size) s->nref);
	memcpy(r->values + s->nref, s->values + sample_capacity(s) - s->ncur,
		   sizeof(double) * (Size) s->ncur);
}

static const ExpandedObjectMethods sample_eoh_methods = {
	sample_flat_size,
	sample_flatten
};

/* the expanded object behind d, or NULL when d is a plain bytea */
static SampleEOH *
sample_eoh(Datum d, uint32 layout)
{
	ExpandedObjectHeader *eoh;

	if (!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
		return NULL;
	eoh = DatumGetEOHP(d);
	if (eoh->eoh_methods != &sample_eoh_methods)
		sample_corrupted(layout);
	return (SampleEOH *) eoh;
}

/* the capacity for need values when cap are not enough: doubling, so growth is amortized O(1) a row */
static int64
sample_new_capacity(uint32 layout, int64 cap, int64 need)
{
	if (need > SAMPLE_MAX_VALUES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows for an exact mlsys.%s", sample_name(layout)),
				 errdetail("The limit is " INT64_FORMAT " non-null values in both samples together.",
						   SAMPLE_MAX_VALUES)));
	return Max(Min(Max(cap * 2, 1024), SAMPLE_MAX_VALUES), need);
}

/* make room for need_ref + need_cur values in an expanded state, in place */
static void
sample_eoh_reserve(SampleEOH *e, int64 need_ref, int64 need_cur)
{
	SampleState *s = e->st;
	int64		cap = sample_capacity(s);
	int64		newcap;

	if (need_ref + need_cur <= cap)
		return;
	newcap = sample_new_capacity(s->layout, cap, need_ref + need_cur);
	s = repalloc(s, SAMPLE_HDR + sizeof(double) * (Size) newcap);
	/* the current sample moves to the new back */
	memmove(s->values + newcap - s->ncur, s->values + cap - s->ncur, sizeof(double) * (Size) s->ncur);
	SET_VARSIZE(s, SAMPLE_HDR + sizeof(double) * (Size) newcap);
	e->st = s;
}

/*
 * A new expanded state in the aggregate context with room for cap values,
 * holding the values of from (a checked flat state) when not NULL.
 */
static SampleEOH *
sample_eoh_new(MemoryContext aggcxt, uint32 layout, int32 bins, const SampleState *from, int64 cap)
{
	MemoryContext cxt = AllocSetContextCreate(aggcxt, "mlsys sample state", ALLOCSET_SMALL_SIZES);
	SampleEOH  *e = MemoryContextAlloc(cxt, sizeof(SampleEOH));
	SampleState *s;

	EOH_init_header(&e->hdr, &sample_eoh_methods, cxt);
	s = MemoryContextAlloc(cxt, SAMPLE_HDR + sizeof(double) * (Size) cap);
	SET_VARSIZE(s, SAMPLE_HDR + sizeof(double) * (Size) cap);
	s->layout = layout;
	s->bins = bins;
	s->pad = 0;
	s->nref = 0;
	s->ncur = 0;
	if (from)
	{
		s->nref = from->nref;
		s->ncur = from->ncur;
		memcpy(s->values, from->values, sizeof(double) * (Size) from->nref);
		memcpy(s->values + cap - from->ncur, from->values + sample_capacity(from) - from->ncur,
			   sizeof(double) * (Size) from->ncur);
	}
	e->st = s;
	return e;
}

/*
 * A plain state with room for need_ref + need_cur values: s itself when it
 * has room, else a larger copy made in the current (per-call) context, which
 * the executor moves into the aggregate context. Used only when the executor
 * hands a plain bytea back (it flattened the expanded object).
 */
static SampleState *
sample_grow(SampleState *s, int64 need_ref, int64 need_cur)
{
	int64		cap = sample_capacity(s);
	SampleState *n;
	Size		size;

	if (need_ref + need_cur <= cap)
		return s;
	cap = sample_new_capacity(s->layout, cap, need_ref + need_cur);
	size = SAMPLE_HDR + sizeof(double) * (Size) cap;
	n = palloc(size);			/* the unused middle is never read as values */
	memcpy(n, s, SAMPLE_HDR);
	SET_VARSIZE(n, size);
	memcpy(n->values, s->values, sizeof(double) * (Size) s->nref);
	memcpy(n->values + cap - s->ncur, s->values + sample_capacity(s) - s->ncur,
		   sizeof(double) * (Size) s->ncur);
	return n;
}

/*
 * Whether we are called as an aggregate support function (so the state may
 * be changed in place): AggCheckCallContext's test, inline on the per-row
 * path; mlsys_agg_context raises the error otherwise.
 */
static inline void
check_agg_call(FunctionCallInfo fcinfo, const char *fname)
{
	if (fcinfo->context == NULL ||
		!(IsA(fcinfo->context, AggState) || IsA(fcinfo->context, WindowAggState)))
		mlsys_agg_context(fcinfo, fname);
}

/* the bins argument of psi (10 for the two-argument form), validated */
static int32
psi_bins_arg(FunctionCallInfo fcinfo)
{
	int32		bins;

	if (PG_NARGS() < 4)
		return PSI_DEFAULT_BINS;
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bins must not be null")));
	bins = PG_GETARG_INT32(3);
	if (bins < 2 || bins > PSI_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be between 2 and %d, not %d", PSI_MAX_BINS, bins)));
	return bins;
}

static void
check_same_bins(int32 a, int32 b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be the same in every row"),
				 errdetail("Rows asked for %d and %d bins.", a, b)));
}

/* the shared transition function: append the value to its sample */
static Datum
sample_accum(FunctionCallInfo fcinfo, uint32 layout, const char *fname)
{
	SampleEOH  *e = NULL;
	SampleState *s = NULL;
	int32		bins = 0;
	double		v;
	bool		is_cur;

	check_agg_call(fcinfo, fname);
	if (layout == PSI_LAYOUT)
		bins = psi_bins_arg(fcinfo);
	if (!PG_ARGISNULL(0))
	{
		e = sample_eoh(PG_GETARG_DATUM(0), layout);
		s = e ? e->st : (SampleState *) PG_GETARG_POINTER(0);
		/* our own expanded object was checked when it was made */
		if (e == NULL || s->layout != layout)
			sample_check(s, layout);
		if (s->bins != bins)
			check_same_bins(s->bins, bins);
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	v = PG_GETARG_FLOAT8(1);
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("mlsys.%s input must not be NaN", sample_name(layout))));
	if (isinf(v) && layout != KS_LAYOUT)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("mlsys.%s input must be finite, not infinity", sample_name(layout))));
	if (v == 0)
		v = 0;					/* -0 and +0 are one value */
	is_cur = PG_GETARG_BOOL(2);
	if (s == NULL)
	{
		e = sample_eoh_new(mlsys_agg_context(fcinfo, fname), layout, bins, NULL, 1024);
		s = e->st;
	}
	else if (e)
	{
		sample_eoh_reserve(e, s->nref + !is_cur, s->ncur + is_cur);
		s = e->st;
	}
	else
		s = sample_grow(s, s->nref + !is_cur, s->ncur + is_cur);
	{
		/* no branch on the flag: the two samples usually arrive interleaved at random */
		int64		cap = sample_capacity(s);
		int64		at = is_cur ? cap - 1 - s->ncur : s->nref;

		s->values[at] = v;
		s->nref += !is_cur;
		s->ncur += is_cur;
	}
	if (e)
		PG_RETURN_DATUM(EOHPGetRWDatum(&e->hdr));
	PG_RETURN_POINTER(s);
}

/* the plain, checked and float8-aligned state of argument argno */
static SampleState *
sample_flat_arg(FunctionCallInfo fcinfo, int argno, uint32 layout)
{
	SampleState *s = (SampleState *) state_arg(fcinfo, argno);

	sample_check(s, layout);
	return s;
}

/* the shared combine function: the values of both states */
static Datum
sample_combine(FunctionCallInfo fcinfo, uint32 layout, const char *fname)
{
	MemoryContext aggcxt = mlsys_agg_context(fcinfo, fname);
	SampleEOH  *ea,
			   *eb;
	SampleState *a,
			   *b;
	int64		acap,
				bcap;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	eb = sample_eoh(PG_GETARG_DATUM(1), layout);
	b = eb ? eb->st : sample_flat_arg(fcinfo, 1, layout);
	sample_check(b, layout);
	if (PG_ARGISNULL(0))
	{
		/* adopt a copy of b, with room to grow */
		ea = sample_eoh_new(aggcxt, layout, b->bins, b, Max(b->nref + b->ncur, 1024));
		PG_RETURN_DATUM(EOHPGetRWDatum(&ea->hdr));
	}
	ea = sample_eoh(PG_GETARG_DATUM(0), layout);
	a = ea ? ea->st : (SampleState *) PG_GETARG_POINTER(0);
	sample_check(a, layout);
	check_same_bins(a->bins, b->bins);
	if (b->nref == 0 && b->ncur == 0)
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	if (ea)
	{
		sample_eoh_reserve(ea, a->nref + b->nref, a->ncur + b->ncur);
		a = ea->st;
	}
	else
		a = sample_grow(a, a->nref + b->nref, a->ncur + b->ncur);
	acap = sample_capacity(a);
	bcap = sample_capacity(b);
	memcpy(a->values + a->nref, b->values, sizeof(double) * (Size) b->nref);
	a->nref += b->nref;
	memcpy(a->values + acap - a->ncur - b->ncur, b->values + bcap - b->ncur,
		   sizeof(double) * (Size) b->ncur);
	a->ncur += b->ncur;
	if (ea)
		PG_RETURN_DATUM(EOHPGetRWDatum(&ea->hdr));
	PG_RETURN_POINTER(a);
}

/*
 * The final function's state with both samples checked value by value (a
 * state may come from another process), and pointers to them inside it: a
 * final function must not change its state, so callers copy what they
 * reorder. NULL when a sample is empty.
 */
static SampleState *
sample_final_arg(FunctionCallInfo fcinfo, uint32 layout, const double **ref, const double **cur)
{
	SampleEOH  *e = sample_eoh(PG_GETARG_DATUM(0), layout);
	SampleState *s = e ? e->st : sample_flat_arg(fcinfo, 0, layout);
	int64		i,
				cap;
	bool		bad = false;

	sample_check(s, layout);
	if (s->nref == 0 || s->ncur == 0)
		return NULL;
	cap = sample_capacity(s);
	*ref = s->values;
	*cur = s->values + cap - s->ncur;
	for (i = 0; i < s->nref; i++)
		bad |= layout == KS_LAYOUT ? isnan((*ref)[i]) : !isfinite((*ref)[i]);
	for (i = 0; i < s->ncur; i++)
		bad |= layout == KS_LAYOUT ? isnan((*cur)[i]) : !isfinite((*cur)[i]);
	if (bad)
		sample_corrupted(layout);
	return s;
}

/* ------------------------------------------------------------------------
 * Sorting and selection of float8 values
 * ------------------------------------------------------------------------ */

/* an unsigned key ordered as the (non-NaN) double it encodes */
static inline uint64
double_key(double v)
{
	uint64		u;

	memcpy(&u, &v, sizeof(u));
	return (u & UINT64CONST(0x8000000000000000)) ? ~u : u | UINT64CONST(0x8000000000000000);
}

static inline double
key_double(uint64 k)
{
	double		v;

	k = (k & UINT64CONST(0x8000000000000000)) ? k & ~UINT64CONST(0x8000000000000000) : ~k;
	memcpy(&v, &k, sizeof(v));
	return v;
}

static int
double_cmp(const void *x, const void *y)
{
	double		a = *(const double *) x;
	double		b = *(const double *) y;

	return (a > b) - (a < b);
}

#define RADIX_BITS 11
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_PASSES 6			/* 6 × 11 bits ≥ 64 */

/*
 * A sorted copy of src[0 .. n) (no NaN), ascending: a least-significant-digit
 * radix sort of the values' order-preserving 64-bit keys, 11 bits a pass,
 * skipping the passes where every key has the same digit (the sign and
 * exponent bits of most columns). O(n): a few ms for a million values.
 */
static double *
sorted_copy(const double *src, int64 n)
{
	uint64	   *keys,
			   *tmp;
	int64	   *counts;
	int64		i;
	int			pass;
	double	   *out;

	if (n < 256)
	{
		out = palloc(sizeof(double) * Max(n, 1));
		memcpy(out, src, sizeof(double) * n);
		qsort(out, n, sizeof(double), double_cmp);
		return out;
	}
	keys = palloc(sizeof(uint64) * (Size) n);
	tmp = palloc(sizeof(uint64) * (Size) n);
	counts = palloc0(sizeof(int64) * RADIX_SIZE * RADIX_PASSES);
	for (i = 0; i < n; i++)
	{
		uint64		k = double_key(src[i]);

		keys[i] = k;
		for (pass = 0; pass < RADIX_PASSES; pass++)
			counts[pass * RADIX_SIZE + ((k >> (pass * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
	}
	for (pass = 0; pass < RADIX_PASSES; pass++)
	{
		int64	   *c = counts + pass * RADIX_SIZE;
		int			shift = pass * RADIX_BITS;
		int64		sum = 0;
		int			d;
		uint64	   *swap;

		CHECK_FOR_INTERRUPTS();
		if (c[(keys[0] >> shift) & (RADIX_SIZE - 1)] == n)
			continue;			/* one digit everywhere: already in order */
		for (d = 0; d < RADIX_SIZE; d++)
		{
			int64		t = c[d];

			c[d] = sum;
			sum += t;
		}
		for (i = 0; i < n; i++)
			tmp[c[(keys[i] >> shift) & (RADIX_SIZE - 1)]++] = keys[i];
		swap = keys;
		keys = tmp;
		tmp = swap;
	}
	/* decode in place: a double is as wide as its key */
	out = (double *) keys;
	for (i = 0; i < n; i++)
		out[i] = key_double(keys[i]);
	pfree(tmp);
	pfree(counts);
	return out;
}

/*
 * Partition a[lo .. hi) around pivot without branches on the data: returns p
 * with a[lo .. p) < pivot ≤ a[p .. hi) (or, when orequal, ≤ pivot < ).
 * Every step swaps a[i] with a[p] and advances p when a[i] belonged left
 * (the branch-free Lomuto scheme), so random data costs no mispredictions.
 */
static inline int64
partition_doubles(double *a, int64 lo, int64 hi, double pivot, bool orequal)
{
	int64		p = lo,
				i;

	if (orequal)
		for (i = lo; i < hi; i++)
		{
			double		t = a[i];

			a[i] = a[p];
			a[p] = t;
			p += t <= pivot;
		}
	else
		for (i = lo; i < hi; i++)
		{
			double		t = a[i];

			a[i] = a[p];
			a[p] = t;
			p += t < pivot;
		}
	return p;
}

/*
 * Multi-rank selection: rearrange a[lo .. hi) so that a[r] holds the value
 * of rank r (0-based, in the whole array's sorted order) for every r of
 * ranks[0 .. nr), ranks ascending and inside [lo, hi). Hoare's quickselect
 * ("FIND", 1961) with a median-of-three pivot, descending only into the parts
 * that hold wanted ranks: O(n log nr) expected. When nothing is below the
 * pivot, the keys equal to it are split off, so ties (even a constant
 * sample) cost one pass. Too deep a recursion falls back to sorting the
 * part, so the worst case stays O(n log n).
 */
static void
select_ranks(double *a, int64 lo, int64 hi, const int64 *ranks, int nr, int depth)
{
	while (nr > 0)
	{
		double		x,
					y,
					z,
					pivot,
					t;
		int64		i,
					j,
					p;
		int			nleft;

		CHECK_FOR_INTERRUPTS();
		if (hi - lo <= 16)
		{
			for (i = lo + 1; i < hi; i++)
			{
				t = a[i];
				for (j = i - 1; j >= lo && a[j] > t; j--)
					a[j + 1] = a[j];
				a[j + 1] = t;
			}
			return;
		}
		if (depth-- <= 0)
		{
			qsort(a + lo, hi - lo, sizeof(double), double_cmp);
			return;
		}
		x = a[lo + (hi - lo) / 4];
		y = a[lo + (hi - lo) / 2];
		z = a[hi - 1 - (hi - lo) / 4];
		pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		p = partition_doubles(a, lo, hi, pivot, false);
		if (p == lo)
		{
			/* the pivot is the minimum: a[lo .. p) = pivot < a[p .. hi) */
			p = partition_doubles(a, lo, hi, pivot, true);
			for (nleft = 0; nleft < nr && ranks[nleft] < p; nleft++)
				;
		}
		else
		{
			/* a[lo .. p) < pivot ≤ a[p .. hi), both non-empty */
			for (nleft = 0; nleft < nr && ranks[nleft] < p; nleft++)
				;
			select_ranks(a, lo, p, ranks, nleft, depth);
		}
		ranks += nleft;
		nr -= nleft;
		lo = p;
	}
}

/* ------------------------------------------------------------------------
 * Distributions
 * ------------------------------------------------------------------------ */

/*
 * Kolmogorov's limiting distribution's survival function Q(λ) = P(K > λ)
 * (scipy.stats.kstwobign.sf). For λ ≥ 1.18 the alternating series
 * 2 Σ (−1)^(k−1) exp(−2k²λ²) converges in a few terms; below it the
 * equivalent theta-function form of the CDF,
 * K(λ) = √(2π)/λ Σ exp(−(2k−1)²π²/(8λ²)), does.
 */
static double
kolmogorov_q(double lambda)
{
	double		s = 0;
	int			k;

	if (!(lambda > 0))
		return 1.0;
	if (lambda < 1.18)
	{
		double		w = -M_PI * M_PI / (8 * lambda * lambda);

		for (k = 1; k <= 100; k++)
		{
			double		t = exp(w * (2 * k - 1) * (2 * k - 1));

			s += t;
			if (t <= DBL_EPSILON * s)
				break;
		}
		s = 1.0 - sqrt(2 * M_PI) / lambda * s;
	}
	else
	{
		double		sign = 1;

		for (k = 1; k <= 100; k++)
		{
			double		t = exp(-2.0 * k * k * lambda * lambda);

			s += sign * t;
			sign = -sign;
			if (t <= DBL_EPSILON * s)
				break;
		}
		s *= 2;
	}
	return Min(Max(s, 0.0), 1.0);
}

/*
 * The regularized upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a),
 * a > 0, x ≥ 0: the chi-square survival function is Q(dof/2, χ²/2). For
 * x < a + 1 through the power series of the lower function,
 * P(a, x) = x^a e^(−x) / Γ(a + 1) · Σ x^n / ((a+1)(a+2)…(a+n)), and
 * Q = 1 − P; otherwise through Legendre's continued fraction
 * Γ(a, x) = x^a e^(−x) / (x + 1 − a − 1·(1−a)/(x + 3 − a − 2·(2−a)/(x + 5 − a − …)))
 * evaluated by the modified Lentz method (Abramowitz and Stegun 6.5.29 and
 * 6.5.31; Lentz 1976).
 */
static double
gamma_q(double a, double x)
{
	double		front;
	int			n;

	if (!(x > 0))
		return 1.0;
	if (isinf(x))
		return 0.0;
	front = exp(a * log(x) - x - lgamma(a));
	if (x < a + 1)
	{
		double		term = 1.0 / a,
					sum = term,
					ap = a;

		for (n = 1; n < 1000000; n++)
		{
			ap += 1;
			term *= x / ap;
			sum += term;
			if (fabs(term) < fabs(sum) * DBL_EPSILON)
				break;
			if (n % 10000 == 0)
				CHECK_FOR_INTERRUPTS();
		}
		return Min(Max(1.0 - sum * front, 0.0), 1.0);
	}
	else
	{
		const double tiny = 1e-300;
		double		b = x + 1 - a,
					c = 1.0 / tiny,
					d = 1.0 / b,
					h = d;

		for (n = 1; n < 1000000; n++)
		{
			double		an = -n * (n - a),
						delta;

			b += 2;
			d = an * d + b;
			if (fabs(d) < tiny)
				d = tiny;
			c = b + an / c;
			if (fabs(c) < tiny)
				c = tiny;
			d = 1.0 / d;
			delta = d * c;
			h *= delta;
			if (fabs(delta - 1.0) < DBL_EPSILON)
				break;
			if (n % 10000 == 0)
				CHECK_FOR_INTERRUPTS();
		}
		return Min(Max(front * h, 0.0), 1.0);
	}
}

/* a (statistic, p_value[, dof]) row of the final function's composite result type */
static Datum
stat_result(FunctionCallInfo fcinfo, double statistic, double p_value, int dof, bool with_dof)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	if (tupdesc->natts != (with_dof ? 3 : 2))
		elog(ERROR, "unexpected result row type");
	values[0] = Float8GetDatum(statistic);
	values[1] = Float8GetDatum(p_value);
	values[2] = Int32GetDatum(dof);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ------------------------------------------------------------------------
 * ks_test, wasserstein, psi
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(ks_accum);
/* ks_accum(bytea, value float8, is_current bool) */
Datum
ks_accum(PG_FUNCTION_ARGS)
{
	return sample_accum(fcinfo, KS_LAYOUT, "mlsys._ks_accum");
}

PG_FUNCTION_INFO_V1(ks_combine);
/* ks_combine(bytea, bytea) */
Datum
ks_combine(PG_FUNCTION_ARGS)
{
	return sample_combine(fcinfo, KS_LAYOUT, "mlsys._ks_combine");
}

PG_FUNCTION_INFO_V1(ks_final);
/*
 * ks_final(bytea) → mlsys.ks_result: D by one merge walk over both sorted
 * samples, comparing the CDFs after every distinct value.
 */
Datum
ks_final(PG_FUNCTION_ARGS)
{
	const double *sref,
			   *scur;
	SampleState *s = sample_final_arg(fcinfo, KS_LAYOUT, &sref, &scur);
	double	   *ref,
			   *cur;
	int64		n,
				m,
				i = 0,
				j = 0;
	double		d = 0,
				en;

	if (s == NULL)
		PG_RETURN_NULL();
	n = s->nref;
	m = s->ncur;
	ref = sorted_copy(sref, n);
	cur = sorted_copy(scur, m);
	while (i < n && j < m)
	{
		double		x = Min(ref[i], cur[j]);
		double		diff;

		while (i < n && ref[i] <= x)
			i++;
		while (j < m && cur[j] <= x)
			j++;
		diff = fabs((double) i / n - (double) j / m);
		if (diff > d)
			d = diff;
	}
	en = (double) n * (double) m / ((double) n + (double) m);
	return stat_result(fcinfo, d, kolmogorov_q(sqrt(en) * d), 0, false);
}

PG_FUNCTION_INFO_V1(wasserstein_accum);
/* wasserstein_accum(bytea, value float8, is_current bool) */
Datum
wasserstein_accum(PG_FUNCTION_ARGS)
{
	return sample_accum(fcinfo, WS_LAYOUT, "mlsys._wasserstein_accum");
}

PG_FUNCTION_INFO_V1(wasserstein_combine);
/* wasserstein_combine(bytea, bytea) */
Datum
wasserstein_combine(PG_FUNCTION_ARGS)
{
	return sample_combine(fcinfo, WS_LAYOUT, "mlsys._wasserstein_combine");
}

PG_FUNCTION_INFO_V1(wasserstein_final);
/*
 * wasserstein_final(bytea) → float8: Σ |F_ref(x) − F_cur(x)| · (x' − x)
 * over consecutive distinct values x < x' of both samples, by one merge walk
 * (Neumaier's compensated sum).
 */
Datum
wasserstein_final(PG_FUNCTION_ARGS)
{
	const double *sref,
			   *scur;
	SampleState *s = sample_final_arg(fcinfo, WS_LAYOUT, &sref, &scur);
	double	   *ref,
			   *cur;
	int64		n,
				m,
				i = 0,
				j = 0;
	double		sum = 0,
				comp = 0,
				x;

	if (s == NULL)
		PG_RETURN_NULL();
	n = s->nref;
	m = s->ncur;
	ref = sorted_copy(sref, n);
	cur = sorted_copy(scur, m);
	x = Min(ref[0], cur[0]);
	for (;;)
	{
		double		next,
					term,
					t;

		while (i < n && ref[i] <= x)
			i++;
		while (j < m && cur[j] <= x)
			j++;
		if (i == n && j == m)
			break;
		next = i == n ? cur[j] : j == m ? ref[i] : Min(ref[i], cur[j]);
		term = fabs((double) i / n - (double) j / m) * (next - x);
		t = sum + term;
		comp += fabs(sum) >= fabs(term) ? (sum - t) + term : (term - t) + sum;
		sum = t;
		x = next;
	}
	PG_RETURN_FLOAT8(sum + comp);
}

PG_FUNCTION_INFO_V1(psi_accum);
/* psi_accum(bytea, value float8, is_current bool[, bins int]) */
Datum
psi_accum(PG_FUNCTION_ARGS)
{
	return sample_accum(fcinfo, PSI_LAYOUT, "mlsys._psi_accum");
}

PG_FUNCTION_INFO_V1(psi_combine);
/* psi_combine(bytea, bytea) */
Datum
psi_combine(PG_FUNCTION_ARGS)
{
	return sample_combine(fcinfo, PSI_LAYOUT, "mlsys._psi_combine");
}

/*
 * The bin of v: the number of edges ≤ v, by a branch-free binary search over
 * edges padded with +Infinity to 2^log2p − 1 entries (v is finite).
 */
static inline int
psi_bin(const double *padded, int log2p, double v)
{
	int			pos = 0,
				step;

	for (step = 1 << (log2p - 1); step > 0; step >>= 1)
		pos += padded[pos + step - 1] <= v ? step : 0;
	return pos;
}

/*
 * Count the reference per bin after select_ranks has put the order
 * statistics ranks[0 .. nranks) in place: every value between two
 * consecutive ones (or before the first, after the last) lies between them,
 * so a stretch whose lower end and the largest value below its upper end
 * share a bin is counted without binning each value; only values equal to
 * the upper end may fall in its bin instead (one comparison each). Other
 * stretches (an edge strictly inside them, which rounding could cause) are
 * binned value by value.
 */
static void
psi_count_selected(const double *a, int64 n, const int64 *ranks, int nranks,
				   const double *edges, int log2p, int nedges, int64 *counts)
{
	int			i;

	for (i = 0; i <= nranks; i++)
	{
		int64		p = i == 0 ? -1 : ranks[i - 1];
		int64		q = i == nranks ? n : ranks[i];
		int64		len = q - p - 1,
					j;
		int			bl = i == 0 ? 0 : psi_bin(edges, log2p, a[p]);

		if (q < n)
			counts[psi_bin(edges, log2p, a[q])]++;
		if (len <= 0)
			continue;
		if (q < n && psi_bin(edges, log2p, nextafter(a[q], -get_float8_infinity())) == bl)
		{
			double		u = a[q];
			int			bu = psi_bin(edges, log2p, u);
			int64		below = 0;

			if (bu == bl)
				counts[bl] += len;
			else
			{
				for (j = p + 1; j < q; j++)
					below += a[j] < u;
				counts[bl] += below;
				counts[bu] += len - below;
			}
		}
		else if (q == n && bl == nedges)
			counts[bl] += len;
		else
			for (j = p + 1; j < q; j++)
				counts[psi_bin(edges, log2p, a[j])]++;
	}
}

PG_FUNCTION_INFO_V1(psi_final);
/*
 * psi_final(bytea) → float8. The edges are the reference quantiles at
 * p = k/bins, k = 1 .. bins−1, as percentile_cont: h = p·(n−1),
 * q = x₍⌊h⌋₎ + (x₍⌈h⌉₎ − x₍⌊h⌋₎)·(h − ⌊h⌋) over the sorted reference
 * x₍₀₎ ≤ … ≤ x₍ₙ₋₁₎; the order statistics come from select_ranks on a copy
 * of the reference. PSI as in Yurdakul (2018), "Statistical properties of
 * population stability index".
 */
Datum
psi_final(PG_FUNCTION_ARGS)
{
	const double *sref,
			   *scur;
	SampleState *s = sample_final_arg(fcinfo, PSI_LAYOUT, &sref, &scur);
	double	   *ref;
	int64		n,
				m,
				i;
	int			bins,
				k,
				nranks = 0,
				nedges = 0,
				log2p = 1;
	int64	   *ranks;
	double	   *edges;
	int64	   *cref,
			   *ccur;
	double		psi = 0;

	if (s == NULL)
		PG_RETURN_NULL();
	n = s->nref;
	m = s->ncur;
	bins = s->bins;
	/* the order statistics the quantiles need, ascending and distinct */
	ranks = palloc(sizeof(int64) * 2 * bins);
	for (k = 1; k < bins; k++)
	{
		double		h = ((double) k / bins) * (double) (n - 1);
		int64		lo = (int64) floor(h);
		int64		hi = (int64) ceil(h);

		if (nranks == 0 || ranks[nranks - 1] < lo)
			ranks[nranks++] = lo;
		if (hi < n && ranks[nranks - 1] < hi)
			ranks[nranks++] = hi;
	}
	ref = palloc(sizeof(double) * (Size) n);
	memcpy(ref, sref, sizeof(double) * (Size) n);
	select_ranks(ref, 0, n, ranks, nranks, 2 * (int) ceil(log2((double) n + 1)) + 8);
	while ((1 << log2p) < bins)
		log2p++;
	edges = palloc(sizeof(double) * (1 << log2p));
	for (k = 1; k < bins; k++)
	{
		double		h = ((double) k / bins) * (double) (n - 1);
		int64		lo = (int64) floor(h);
		int64		hi = Min((int64) ceil(h), n - 1);

		edges[nedges++] = ref[lo] + (ref[hi] - ref[lo]) * (h - (double) lo);
	}
	/* ascending (rounding could swap neighbours by an ulp), equal edges merged */
	qsort(edges, nedges, sizeof(double), double_cmp);
	for (i = 1, k = 1; i < nedges; i++)
		if (edges[i] != edges[k - 1])
			edges[k++] = edges[i];
	nedges = k;
	for (k = nedges; k < (1 << log2p); k++)
		edges[k] = get_float8_infinity();
	cref = palloc0(sizeof(int64) * (nedges + 1));
	ccur = palloc0(sizeof(int64) * (nedges + 1));
	psi_count_selected(ref, n, ranks, nranks, edges, log2p, nedges, cref);
	for (i = 0; i < m; i++)
		ccur[psi_bin(edges, log2p, scur[i])]++;
	for (k = 0; k <= nedges; k++)
	{
		double		pr = cref[k] == 0 ? PSI_FLOOR : (double) cref[k] / n;
		double		pc = ccur[k] == 0 ? PSI_FLOOR : (double) ccur[k] / m;

		psi += (pc - pr) * log(pc / pr);
	}
	PG_RETURN_FLOAT8(psi);
}

/* ------------------------------------------------------------------------
 * Category state
 * ------------------------------------------------------------------------ */

#define CAT_LAYOUT	0x43540001	/* "CT", layout version 1 */

typedef struct CatSlot
{
	uint32		hash;			/* hash_bytes of the category */
	int32		len;			/* bytes of the category; −1: empty slot */
	uint32		off;			/* offset in the string area */
	int32		pad;
	int64		ref;			/* rows of the reference sample */
	int64		cur;			/* rows of the current sample */
} CatSlot;

typedef struct CatState
{
	int32		vl_len_;
	uint32		layout;
	int32		nslots;			/* a power of two */
	int32		ncats;			/* slots in use, at most 3/4 of nslots */
	int64		nref;
	int64		ncur;
	int64		strused;		/* bytes in use in the string area */
	CatSlot		slots[FLEXIBLE_ARRAY_MEMBER];
	/* then the string area, up to VARSIZE */
} CatState;

#define CAT_HDR offsetof(CatState, slots)
#define CAT_MAX_SLOTS (1 << 24)

static inline char *
cat_strings(const CatState *s)
{
	return (char *) &s->slots[s->nslots];
}

static inline int64
cat_strcap(const CatState *s)
{
	return (int64) VARSIZE(s) - (int64) CAT_HDR - (int64) sizeof(CatSlot) * s->nslots;
}

/* the header of a category state (O(1): called on every row) */
static void
cat_check_header(const CatState *s)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) < CAT_HDR || s->layout != CAT_LAYOUT ||
		s->nslots < 16 || s->nslots > CAT_MAX_SLOTS || (s->nslots & (s->nslots - 1)) != 0 ||
		(int64) VARSIZE(s) < (int64) CAT_HDR + (int64) sizeof(CatSlot) * s->nslots ||
		s->ncats < 0 || s->ncats > s->nslots / 4 * 3 ||
		s->nref < 0 || s->ncur < 0 || s->strused < 0 || s->strused > cat_strcap(s))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid categorical drift aggregate state")));
}

/* a whole category state: header, every slot, and the counts adding up */
static void
cat_check(const CatState *s)
{
	int64		nref = 0,
				ncur = 0;
	int32		used = 0,
				i;

	cat_check_header(s);
	for (i = 0; i < s->nslots; i++)
	{
		const CatSlot *e = &s->slots[i];

		if (e->len == -1)
			continue;
		if (e->len < 0 || (int64) e->off + e->len > s->strused ||
			e->ref < 0 || e->cur < 0 || e->ref + e->cur == 0 ||
			e->ref > s->nref - nref || e->cur > s->ncur - ncur)
			break;
		nref += e->ref;
		ncur += e->cur;
		used++;
	}
	if (i < s->nslots || used != s->ncats || nref != s->nref || ncur != s->ncur)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid categorical drift aggregate state")));
}

/* an empty state with nslots slots and strcap bytes of string area */
static CatState *
cat_new(int32 nslots, int64 strcap)
{
	Size		size = CAT_HDR + sizeof(CatSlot) * (Size) nslots + (Size) strcap;
	CatState   *s;
	int32		i;

	if (nslots > CAT_MAX_SLOTS || size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct categories for a categorical drift statistic"),
				 errdetail("The limit is %d categories of at most 1 GB in all.", CAT_MAX_SLOTS / 4 * 3)));
	s = palloc0(size);
	SET_VARSIZE(s, size);
	s->layout = CAT_LAYOUT;
	s->nslots = nslots;
	for (i = 0; i < nslots; i++)
		s->slots[i].len = -1;
	return s;
}

/*
 * Add (ref, cur) rows to category str of s; returns s, or a larger copy when
 * the table or string area is full (made in the current context: the
 * executor moves it into the aggregate context). s may be NULL.
 */
static CatState *
cat_add(CatState *s, uint32 hash, const char *str, int32 len, int64 ref, int64 cur)
{
	uint32		mask,
				i;
	CatSlot    *e;

	if (s == NULL)
		s = cat_new(64, Max(1024, (int64) len));
	for (;;)
	{
		mask = (uint32) s->nslots - 1;
		for (i = hash & mask;; i = (i + 1) & mask)
		{
			e = &s->slots[i];
			if (e->len == -1)
				break;
			if (e->hash == hash && e->len == len &&
				memcmp(cat_strings(s) + e->off, str, len) == 0)
			{
				e->ref += ref;
				e->cur += cur;
				s->nref += ref;
				s->ncur += cur;
				return s;
			}
		}
		/* a new category: insert it in slot i if there is room */
		if (s->ncats + 1 <= s->nslots / 4 * 3 && s->strused + len <= cat_strcap(s))
			break;
		{
			bool		more_slots = s->ncats + 1 > s->nslots / 4 * 3;
			int64		strcap = cat_strcap(s);
			CatState   *n;
			int32		j;

			if (s->strused + len > strcap)
				strcap = Max(strcap * 2, s->strused + len);
			n = cat_new(more_slots ? s->nslots * 2 : s->nslots, strcap);
			/* re-insert every category: all distinct, so no comparisons */
			for (j = 0; j < s->nslots; j++)
			{
				const CatSlot *o = &s->slots[j];
				uint32		nm = (uint32) n->nslots - 1,
							p;

				if (o->len == -1)
					continue;
				for (p = o->hash & nm; n->slots[p].len != -1; p = (p + 1) & nm)
					;
				n->slots[p] = *o;
				n->slots[p].off = (uint32) n->strused;
				memcpy(cat_strings(n) + n->strused, cat_strings(s) + o->off, o->len);
				n->strused += o->len;
			}
			n->ncats = s->ncats;
			n->nref = s->nref;
			n->ncur = s->ncur;
			s = n;
		}
	}
	e->hash = hash;
	e->len = len;
	e->off = (uint32) s->strused;
	e->ref = ref;
	e->cur = cur;
	memcpy(cat_strings(s) + s->strused, str, len);
	s->strused += len;
	s->ncats++;
	s->nref += ref;
	s->ncur += cur;
	return s;
}

PG_FUNCTION_INFO_V1(category_accum);
/* category_accum(bytea, category text, is_current bool): count the row */
Datum
category_accum(PG_FUNCTION_ARGS)
{
	CatState   *s = NULL;
	text	   *t;
	int32		len;
	bool		is_cur;

	check_agg_call(fcinfo, "mlsys._category_accum");
	if (!PG_ARGISNULL(0))
	{
		s = (CatState *) PG_GETARG_POINTER(0);
		cat_check_header(s);
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	t = PG_GETARG_TEXT_PP(1);
	len = VARSIZE_ANY_EXHDR(t);
	is_cur = PG_GETARG_BOOL(2);
	s = cat_add(s, hash_bytes((const unsigned char *) VARDATA_ANY(t), len),
				VARDATA_ANY(t), len, is_cur ? 0 : 1, is_cur ? 1 : 0);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(category_combine);
/* category_combine(bytea, bytea): the counts of both */
Datum
category_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	CatState   *a,
			   *b;
	int32		i;

	mlsys_agg_context(fcinfo, "mlsys._category_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (CatState *) state_arg(fcinfo, 1);
	cat_check(b);
	a = (CatState *) PG_GETARG_POINTER(0);
	cat_check(a);				/* may be an unchecked copy of another worker's state */
	for (i = 0; i < b->nslots; i++)
	{
		const CatSlot *e = &b->slots[i];
		const char *str = cat_strings(b) + e->off;

		if (e->len == -1)
			continue;
		/* the hash is recomputed: b's is not trusted */
		a = cat_add(a, hash_bytes((const unsigned char *) str, e->len), str, e->len, e->ref, e->cur);
	}
	PG_RETURN_POINTER(a);
}

typedef struct CatCounts
{
	int64		ref;
	int64		cur;
} CatCounts;

static int
cat_counts_cmp(const void *x, const void *y)
{
	const CatCounts *a = x;
	const CatCounts *b = y;

	if (a->ref != b->ref)
		return a->ref < b->ref ? -1 : 1;
	return (a->cur > b->cur) - (a->cur < b->cur);
}

/*
 * The (ref, cur) counts of every category of the final function's state, in
 * a canonical order (by counts), so sums do not depend on the order rows
 * arrived in (serial and parallel plans agree to the last bit). NULL when a
 * sample is empty.
 */
static CatState *
cat_final_arg(FunctionCallInfo fcinfo, CatCounts **counts)
{
	CatState   *s = (CatState *) state_arg(fcinfo, 0);
	CatCounts  *c;
	int32		i,
				k = 0;

	cat_check(s);
	if (s->nref == 0 || s->ncur == 0)
		return NULL;
	c = palloc(sizeof(CatCounts) * s->ncats);
	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].len != -1)
		{
			c[k].ref = s->slots[i].ref;
			c[k].cur = s->slots[i].cur;
			k++;
		}
	qsort(c, k, sizeof(CatCounts), cat_counts_cmp);
	*counts = c;
	return s;
}

/* x·ln(x/y), 0 for x = 0 (scipy.special.rel_entr) */
static inline double
rel_entr(double x, double y)
{
	return x > 0 ? x * log(x / y) : 0.0;
}

PG_FUNCTION_INFO_V1(js_distance_final);
/* js_distance_final(bytea) → float8: Jensen–Shannon distance, base 2 (Lin 1991) */
Datum
js_distance_final(PG_FUNCTION_ARGS)
{
	CatCounts  *c;
	CatState   *s = cat_final_arg(fcinfo, &c);
	double		left = 0,
				right = 0,
				js;
	int32		i;

	if (s == NULL)
		PG_RETURN_NULL();
	for (i = 0; i < s->ncats; i++)
	{
		double		p = (double) c[i].ref / s->nref;
		double		q = (double) c[i].cur / s->ncur;
		double		mid = (p + q) / 2.0;

		left += rel_entr(p, mid);
		right += rel_entr(q, mid);
	}
	js = (left + right) / M_LN2;
	PG_RETURN_FLOAT8(sqrt(Max(js / 2.0, 0.0)));
}

PG_FUNCTION_INFO_V1(chi2_test_final);
/*
 * chi2_test_final(bytea) → mlsys.chi2_result: Pearson's χ² = Σ (O − E)²/E
 * over the 2×k table, E = row total · column total / N (Pearson 1900).
 */
Datum
chi2_test_final(PG_FUNCTION_ARGS)
{
	CatCounts  *c;
	CatState   *s = cat_final_arg(fcinfo, &c);
	double		nref,
				ncur,
				total,
				chi2 = 0;
	int32		i,
				dof;

	if (s == NULL)
		PG_RETURN_NULL();
	dof = s->ncats - 1;
	if (dof == 0)
		return stat_result(fcinfo, 0.0, 1.0, 0, true);
	nref = (double) s->nref;
	ncur = (double) s->ncur;
	total = nref + ncur;
	for (i = 0; i < s->ncats; i++)
	{
		double		col = (double) (c[i].ref + c[i].cur);
		double		eref = nref * col / total;
		double		ecur = ncur * col / total;
		double		dref = (double) c[i].ref - eref;
		double		dcur = (double) c[i].cur - ecur;

		chi2 += dref * dref / eref + dcur * dcur / ecur;
	}
	return stat_result(fcinfo, chi2, gamma_q(dof / 2.0, chi2 / 2.0), dof, true);
}

PG_FUNCTION_INFO_V1(linf_distance_final);
/* linf_distance_final(bytea) → float8: max over categories of |p − q| */
Datum
linf_distance_final(PG_FUNCTION_ARGS)
{
	CatCounts  *c;
	CatState   *s = cat_final_arg(fcinfo, &c);
	double		d = 0;
	int32		i;

	if (s == NULL)
		PG_RETURN_NULL();
	for (i = 0; i < s->ncats; i++)
	{
		double		diff = fabs((double) c[i].ref / s->nref - (double) c[i].cur / s->ncur);

		if (diff > d)
			d = diff;
	}
	PG_RETURN_FLOAT8(d);
}
