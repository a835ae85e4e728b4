/*
 * strata.c — the exactly stratified split of classifiers: per class, the cut
 * points on the content-hash number u (split.c) that hold out exactly
 * round(test_size · n_c) rows of class c, or cut its rows into folds of
 * round(k · n_c / folds) rows (the k-th cut), as scikit-learn's stratified
 * splitters do; identical rows share u, so they always fall on the same side
 * and a class can differ from its target by less than the number of copies
 * of one row.
 *
 * A row of class c is in stratum s = #{l : u ≥ cut[c][l]}: for a holdout
 * (one cut per class) stratum 0 is the holdout, for folds stratum s is fold
 * s + 1. The cuts are order statistics of u per class; one pass of
 * mlsys._strata_agg finds them without sorting the table or keeping it:
 *
 *   per (class, cut) a window [lo, hi) of u and the distinct values of u in
 *   it with their counts (at most `cap`), plus the count of rows below lo.
 *   The window starts as [0, 1); when its buffer fills, it shrinks to the
 *   cap/2 values around the rank the cut is expected at (u is uniform), so
 *   the buffer ends holding the rows around the cut. It also keeps a
 *   256-bin histogram of u over its first window.
 *
 * After the pass the cut is exact when its rank lies in the window, which
 * for a uniform u misses only with tiny probability (the window is many
 * standard deviations of the rank wide up to millions of rows per class).
 * A miss is not an error: the histogram says which bin holds the rank and
 * the pass runs again with that (fixed) window for the missed cuts only,
 * narrowing 85-fold per pass until it fits. Parallel workers each keep their
 * windows; combining intersects them (a row below either lower bound is
 * counted below, one above either upper bound is dropped).
 *
 * The state is a bytea of fixed size, updated in place, with a combine
 * function; its size depends on classes × cuts and on cap only.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "data/data.h"

#define STRATA_LAYOUT 0x53540001	/* "ST", layout version 1 */


typedef struct StrataEntry
{
	double		u;
	int64		count;
} StrataEntry;

typedef struct StrataWindow
{
	double		lo;
	double		hi;
	double		lo0;			/* the histogram's range: the first window */
	double		hi0;
	int64		below;			/* rows of the class with u < lo */
	int32		nbuf;
	int32		mode;
	int32		overflow;		/* fixed window with more distinct values than cap */
	int32		pad;
	int64		hist[STRATA_BINS];
} StrataWindow;

typedef struct StrataState
{
	int32		vl_len_;
	uint32		layout;
	int32		nclass;			/* K */
	int32		nlev;			/* L cuts per class */
	int32		cap;			/* entries per window */
	int32		folds;			/* 0: holdout of test_size */
	double		test_size;
	uint64		split_key;
	int32		nfeat;
	int32		pad;
	/* then: int64 n[K], StrataWindow win[K·L], StrataEntry buf[K·L·cap] */
} StrataState;

StaticAssertDecl(sizeof(StrataState) % sizeof(double) == 0, "StrataState must keep its arrays aligned");

static inline int64 *
st_counts(const StrataState *s)
{
	return (int64 *) ((const char *) s + sizeof(StrataState));
}

static inline StrataWindow *
st_windows(const StrataState *s)
{
	return (StrataWindow *) (st_counts(s) + s->nclass);
}

static inline StrataEntry *
st_buf(const StrataState *s, int w)
{
	return (StrataEntry *) (st_windows(s) + (Size) s->nclass * s->nlev) + (Size) w * s->cap;
}

static Size
strata_state_size(int K, int L, int cap)
{
	return sizeof(StrataState) + sizeof(int64) * K +
		(sizeof(StrataWindow) + sizeof(StrataEntry) * (Size) cap) * (Size) K * L;
}

static void
strata_state_check(const StrataState *s)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) < sizeof(StrataState) ||
		s->layout != STRATA_LAYOUT || s->nclass < 2 || s->nclass > MLSYS_MAX_CLASSES ||
		s->nlev < 1 || s->nlev >= 1000 || s->cap < 64 || s->cap > 65536 ||
		VARSIZE(s) != strata_state_size(s->nclass, s->nlev, s->cap))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid stratified split aggregate state")));
}

/* the rank of cut l of a class of n rows: how many of its rows go below it */
static int64
strata_rank(int64 n, int l, int folds, double test_size)
{
	int64		r;

	if (n <= 0)
		return 0;
	if (folds > 0)
		return (2 * (int64) (l + 1) * n + folds) / (2 * (int64) folds);
	r = (int64) floor(test_size * (double) n + 0.5);
	/* every class keeps a training row */
	return Min(Max(r, 0), n - 1);
}

/*
 * Sort entries by u: a stable least-significant-digit radix sort on the bit
 * pattern of u (u ≥ 0, so the patterns order as the values do), one byte
 * per pass, skipping the bytes every entry shares (a narrow window's leading
 * bytes). Compaction runs a handful of times per window and pass; a
 * comparison sort cost a tenth of the pass.
 */
static void
entries_sort(StrataEntry *e, int n)
{
	StrataEntry *tmp = palloc(sizeof(StrataEntry) * (Size) n);
	StrataEntry *src = e,
			   *dst = tmp;
	int			shift,
				i;

	for (shift = 0; shift < 64; shift += 8)
	{
		int			count[256] = {0};
		int			pos = 0,
					b;
		StrataEntry *t;

		for (i = 0; i < n; i++)
		{
			uint64		bits;

			memcpy(&bits, &src[i].u, sizeof(bits));
			count[(bits >> shift) & 0xFF]++;
		}
		for (b = 0; b < 256 && count[b] == 0; b++)
			;
		if (count[b] == n)
			continue;			/* every entry has this byte */
		for (b = 0; b < 256; b++)
		{
			int			c = count[b];

			count[b] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++)
		{
			uint64		bits;

			memcpy(&bits, &src[i].u, sizeof(bits));
			dst[count[(bits >> shift) & 0xFF]++] = src[i];
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != e)
		memcpy(e, src, sizeof(StrataEntry) * (Size) n);
	pfree(tmp);
}

/* sort the window's entries and merge equal values */
static void
window_compact(StrataEntry *e, StrataWindow *w)
{
	int			i,
				m = 0;

	if (w->nbuf == 0)
		return;
	entries_sort(e, w->nbuf);
	for (i = 1; i < w->nbuf; i++)
	{
		if (e[i].u == e[m].u)
			e[m].count += e[i].count;
		else
			e[++m] = e[i];
	}
	w->nbuf = m + 1;
}

/*
 * Make room in a full window: compact it, and if that is not enough, keep
 * the cap/2 distinct values around the rank the cut is expected at given the
 * n rows of the class seen so far (adaptive), or stop buffering (fixed: the
 * histogram will narrow the next pass).
 */
static void
window_make_room(const StrataState *s, StrataEntry *e, StrataWindow *w, int l, int64 n)
{
	int64		target,
				cum;
	int			i,
				start,
				end,
				keep = s->cap / 2;

	window_compact(e, w);
	if (w->nbuf < s->cap)
		return;
	if (w->mode == WIN_FIXED)
	{
		w->overflow = 1;
		w->nbuf = 0;
		return;
	}
	target = strata_rank(n, l, s->folds, s->test_size) - w->below;
	cum = 0;
	for (i = 0; i < w->nbuf && cum + e[i].count <= target; i++)
		cum += e[i].count;
	start = Min(Max(i - keep / 2, 0), w->nbuf - keep);
	end = start + keep;
	for (i = 0; i < start; i++)
		w->below += e[i].count;
	w->lo = e[start].u;
	if (end < w->nbuf)
		w->hi = e[end].u;
	memmove(e, e + start, sizeof(StrataEntry) * keep);
	w->nbuf = keep;
}

/*
 * count rows with value u into window w (cut l of a class with n rows so
 * far): below it, dropped above it, else buffered (making room if full)
 */
static void
window_insert(const StrataState *s, StrataEntry *e, StrataWindow *w, int l, int64 n,
			  double u, int64 count)
{
	if (u >= w->lo && u < w->hi && !w->overflow && w->nbuf == s->cap)
		window_make_room(s, e, w, l, n);
	if (u < w->lo)
		w->below += count;
	else if (u < w->hi && !w->overflow)
	{
		e[w->nbuf].u = u;
		e[w->nbuf].count = count;
		w->nbuf++;
	}
}

/* one row's u into window wi: its histogram, then the window */
static inline void
window_add(const StrataState *s, int wi, int l, int64 n, double u)
{
	StrataWindow *w = st_windows(s) + wi;

	if (w->mode == WIN_DONE)
		return;
	if (u >= w->lo0 && u < w->hi0)
	{
		/* the first pass's window is [0, 1): no division per row */
		int			b = (w->lo0 == 0.0 && w->hi0 == 1.0) ? (int) (u * STRATA_BINS) :
			(int) ((u - w->lo0) / (w->hi0 - w->lo0) * STRATA_BINS);

		w->hist[Min(Max(b, 0), STRATA_BINS - 1)]++;
	}
	window_insert(s, st_buf(s, wi), w, l, n, u, 1);
}

/* the windows of the first pass (windows NULL) or of a refining pass */
static void
strata_init_windows(StrataState *s, ArrayType *windows)
{
	int			W = s->nclass * s->nlev,
				i;
	const double *spec = NULL;

	if (windows != NULL)
	{
		if (ARR_NDIM(windows) != 1 || ARR_HASNULL(windows) || ARR_ELEMTYPE(windows) != FLOAT8OID ||
			ARR_DIMS(windows)[0] != 3 * W)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("stratified split windows must hold %d values", 3 * W)));
		spec = (const double *) ARR_DATA_PTR(windows);
	}
	for (i = 0; i < W; i++)
	{
		StrataWindow *w = st_windows(s) + i;

		w->mode = spec ? (int) spec[3 * i] : WIN_ADAPTIVE;
		w->lo = spec ? spec[3 * i + 1] : 0.0;
		w->hi = spec ? spec[3 * i + 2] : 1.0;
		if ((w->mode != WIN_ADAPTIVE && w->mode != WIN_FIXED && w->mode != WIN_DONE) ||
			!(w->lo >= 0.0 && w->lo < w->hi && w->hi <= 1.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid stratified split window")));
		w->lo0 = w->lo;
		w->hi0 = w->hi;
	}
}

PG_FUNCTION_INFO_V1(strata_accum);
/*
 * strata_accum(state bytea, y float8 (class index), x float8[], seed int8,
 *              nclass int, test_size float8, folds int, windows float8[],
 *              names text[])
 */
Datum
strata_accum(PG_FUNCTION_ARGS)
{
	StrataState *s;
	Float8ArrayView v;
	double		y,
				u;
	int			c,
				l;
	bool		finite,
				known = mlsys_state_is_known(fcinfo);

	if (!known)
		mlsys_agg_context(fcinfo, "mlsys._strata_accum");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed, nclass, test_size and folds must not be null")));
	if (PG_ARGISNULL(2))
		mlsys_reject_missing_row((Datum) 0, true, PG_ARGISNULL(8) ? NULL : PG_GETARG_ARRAYTYPE_P(8));
	mlsys_array_view(PG_GETARG_DATUM(2), &v);
	if (v.hasnull)
		mlsys_reject_missing_row(PG_GETARG_DATUM(2), false, PG_ARGISNULL(8) ? NULL : PG_GETARG_ARRAYTYPE_P(8));

	if (PG_ARGISNULL(0))
	{
		int			K = PG_GETARG_INT32(4),
					folds = PG_GETARG_INT32(6),
					L,
					cap;
		double		ts = PG_GETARG_FLOAT8(5);
		Size		size;

		if (K < 2 || K > MLSYS_MAX_CLASSES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("nclass must be between 2 and %d", MLSYS_MAX_CLASSES)));
		if (folds != 0 && (folds < 2 || folds > 1000))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("folds must be 0 or between 2 and 1000")));
		if (folds == 0 && !(ts > 0.0 && ts < 1.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("test_size must be between 0 and 1 exclusive")));
		L = folds > 0 ? folds - 1 : 1;
		/* 256 KB of buffers per cut at most, 16 MB in all */
		cap = Max(64, Min(16384, (1 << 20) / (K * L)));
		size = strata_state_size(K, L, cap);
		s = palloc0(size);
		SET_VARSIZE(s, size);
		s->layout = STRATA_LAYOUT;
		s->nclass = K;
		s->nlev = L;
		s->cap = cap;
		s->folds = folds;
		s->test_size = ts;
		s->split_key = mlsys_split_key(PG_GETARG_INT64(3));
		s->nfeat = v.n;
		strata_init_windows(s, PG_ARGISNULL(7) ? NULL : PG_GETARG_ARRAYTYPE_P(7));
	}
	else
	{
		s = (StrataState *) PG_GETARG_POINTER(0);
		if (!known)
			strata_state_check(s);
		if (v.n != s->nfeat)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (v.n), v.n, s->nfeat)));
	}
	y = PG_GETARG_FLOAT8(1);
	c = mlsys_class_index(y, s->nclass);
	u = mlsys_split_u(mlsys_row_hash(v.data, v.n, y, &finite), s->split_key);
	if (unlikely(!finite))
		mlsys_reject_missing_row(PG_GETARG_DATUM(2), false, PG_ARGISNULL(8) ? NULL : PG_GETARG_ARRAYTYPE_P(8));
	st_counts(s)[c]++;
	for (l = 0; l < s->nlev; l++)
		window_add(s, c * s->nlev + l, l, st_counts(s)[c], u);
	if (!known)
		mlsys_state_remember(fcinfo, s);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(strata_combine);
/* strata_combine(bytea, bytea): b's rows into a's windows */
Datum
strata_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	StrataState *a,
			   *b;
	int			c,
				l,
				i;

	mlsys_agg_context(fcinfo, "mlsys._strata_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (StrataState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	strata_state_check(b);
	a = (StrataState *) PG_GETARG_POINTER(0);
	strata_state_check(a);
	if (a->nclass != b->nclass || a->nlev != b->nlev || a->cap != b->cap || a->folds != b->folds ||
		a->test_size != b->test_size || a->split_key != b->split_key || a->nfeat != b->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot combine stratified split states with different parameters")));
	for (c = 0; c < a->nclass; c++)
	{
		st_counts(a)[c] += st_counts(b)[c];
		for (l = 0; l < a->nlev; l++)
		{
			int			wi = c * a->nlev + l;
			StrataWindow *wa = st_windows(a) + wi;
			StrataWindow *wb = st_windows(b) + wi;
			StrataEntry *ea = st_buf(a, wi);
			const StrataEntry *eb = st_buf(b, wi);
			int			keep = 0;

			if (wa->mode == WIN_DONE)
				continue;
			if (wa->lo0 != wb->lo0 || wa->hi0 != wb->hi0 || wa->mode != wb->mode ||
				wb->nbuf < 0 || wb->nbuf > b->cap)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("invalid stratified split aggregate state")));
			for (i = 0; i < STRATA_BINS; i++)
				wa->hist[i] += wb->hist[i];
			wa->overflow |= wb->overflow;
			/* the intersection of both windows; rows below it counted, above it dropped */
			wa->below += wb->below;
			if (wb->lo > wa->lo || wb->hi < wa->hi)
			{
				double		lo = Max(wa->lo, wb->lo),
							hi = Min(wa->hi, wb->hi);

				for (i = 0; i < wa->nbuf; i++)
				{
					if (ea[i].u < lo)
						wa->below += ea[i].count;
					else if (ea[i].u < hi)
						ea[keep++] = ea[i];
				}
				wa->nbuf = keep;
				wa->lo = lo;
				wa->hi = hi;
			}
			for (i = 0; i < wb->nbuf; i++)
				window_insert(a, ea, wa, l, st_counts(a)[c], eb[i].u, eb[i].count);
		}
	}
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(strata_final);
/*
 * strata_final(bytea) → float8[]: n_0 .. n_{K−1} (the rows of each class),
 * then per (class, cut) three values: the cut (NaN when this pass could not
 * place it) and the window [lo, hi) to search next; then per (class, cut)
 * the exact number of the class's rows below the cut (NaN when not placed),
 * from which the rows of every stratum follow without another pass.
 */
Datum
strata_final(PG_FUNCTION_ARGS)
{
	StrataState *s;
	double	   *out;
	int			K,
				L,
				c,
				l,
				i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (StrataState *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));
	strata_state_check(s);
	K = s->nclass;
	L = s->nlev;
	out = palloc(sizeof(double) * (K + 4 * K * L));
	for (c = 0; c < K; c++)
		out[c] = (double) st_counts(s)[c];
	for (c = 0; c < K; c++)
		for (l = 0; l < L; l++)
		{
			int			wi = c * L + l;
			StrataWindow *w = st_windows(s) + wi;
			StrataEntry *e = st_buf(s, wi);
			int64		r = strata_rank(st_counts(s)[c], l, s->folds, s->test_size);
			double	   *o = out + K + 3 * wi;

			o[0] = get_float8_nan();
			o[1] = w->lo0;
			o[2] = w->hi0;
			out[K + 3 * K * L + wi] = get_float8_nan();
			if (w->mode == WIN_DONE)
				continue;
			if (w->nbuf < 0 || w->nbuf > s->cap)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("invalid stratified split aggregate state")));
			window_compact(e, w);
			if (!w->overflow)
			{
				int64		total = w->below;

				for (i = 0; i < w->nbuf; i++)
					total += e[i].count;
				if (r >= w->below && r <= total)
				{
					/* the candidate cut closest to rank r: lo, a buffered value or hi */
					double		best_cut = w->lo;
					int64		best = w->below,
								cum = w->below;

					for (i = 0; i <= w->nbuf; i++)
					{
						double		cut = i < w->nbuf ? e[i].u : w->hi;

						if (i > 0 || cut > w->lo)
						{
							if (mlsys_abs64(cum - r) < mlsys_abs64(best - r))
							{
								best = cum;
								best_cut = cut;
							}
						}
						if (i < w->nbuf)
							cum += e[i].count;
					}
					o[0] = best_cut;
					out[K + 3 * K * L + wi] = (double) best;
					continue;
				}
			}
			/* not placed: narrow to the histogram bin holding rank r, and its neighbours */
			{
				int64		cum = w->mode == WIN_FIXED ? w->below : 0;
				double		width = (w->hi0 - w->lo0) / STRATA_BINS;
				int			b;

				if (w->mode == WIN_FIXED && w->below > r)
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("the relation changed while its stratified split was computed"),
							 errhint("Train again, or train on a snapshot of the data.")));
				for (b = 0; b < STRATA_BINS - 1 && cum + w->hist[b] <= r; b++)
					cum += w->hist[b];
				o[1] = Max(w->lo0, w->lo0 + (b - 1) * width);
				o[2] = Min(w->hi0, w->lo0 + (b + 2) * width);
			}
		}
	PG_RETURN_ARRAYTYPE_P(mlsys_float8_array(out, K + 4 * K * L));
}

/* the class of a row from its index y (0 .. K − 1), checked */
int
mlsys_class_index(double y, int K)
{
	if (!(y >= 0 && y < K) || y != floor(y))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("class index must be a whole number from 0 to %d, not %g", K - 1, y)));
	return (int) y;
}

/*
 * Check a cuts array and view it: nclass classes (or, with nclass −1, one cut
 * per element, a holdout), so nlev = length / nclass cuts each.
 */
void
mlsys_strata_view(ArrayType *cuts, int nclass, StrataCuts *out)
{
	int			n;

	if (ARR_NDIM(cuts) != 1 || ARR_HASNULL(cuts) || ARR_ELEMTYPE(cuts) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stratified split cuts must be a float8 array without nulls")));
	n = ARR_DIMS(cuts)[0];
	if (nclass < 0)
		nclass = n;
	if (nclass < 2 || nclass > MLSYS_MAX_CLASSES || n % nclass != 0 || n / nclass < 1 || n / nclass >= 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stratified split cuts must hold a positive multiple of %d values", Max(nclass, 2))));
	out->cuts = (const double *) ARR_DATA_PTR(cuts);
	out->nclass = nclass;
	out->nlev = n / nclass;
}
