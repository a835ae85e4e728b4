/*
 * drift_sample.c — the numeric "sample state" of mlsys.ks_test,
 * mlsys.wasserstein and mlsys.psi (value float8, is_current bool; see
 * metrics.h): its transition and combine functions, and the checked
 * state their final functions (drift_numeric.c) read.
 *
 * The state keeps every value, the reference sample growing from the front
 * of one float8 buffer and the current sample from its back, so neither
 * needs to be moved until the two meet (then the buffer doubles). Exact
 * two-sample statistics need all values, so the state grows with the rows:
 * 8 bytes a row, at most about 134 million rows (a varlena is at most 1 GB).
 */
#include "postgres.h"

#include <math.h>

#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "metrics/metrics.h"

/* ------------------------------------------------------------------------
 * Numeric sample state
 * ------------------------------------------------------------------------ */

#define PSI_DEFAULT_BINS 10
#define PSI_MAX_BINS 1000

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
void *
drift_state_arg(FunctionCallInfo fcinfo, int argno)
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

	drift_check_agg_call(fcinfo, fname);
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
	SampleState *s = (SampleState *) drift_state_arg(fcinfo, argno);

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
SampleState *
drift_sample_final_arg(FunctionCallInfo fcinfo, uint32 layout, const double **ref, const double **cur)
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
 * Transition and combine functions of ks_test, wasserstein, psi
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
