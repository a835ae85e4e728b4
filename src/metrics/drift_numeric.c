/*
 * drift_numeric.c — the final functions of mlsys.ks_test, mlsys.wasserstein
 * and mlsys.psi over a numeric sample state (drift_sample.c; see
 * metrics.h), with the sorting and selection of float8 values they need.
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
 *                not by sorting.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/float.h"

#include "metrics/metrics.h"

#define PSI_FLOOR 0.0001

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

/* a (statistic, p_value[, dof]) row of the final function's composite result type */
Datum
drift_stat_result(FunctionCallInfo fcinfo, double statistic, double p_value, int dof, bool with_dof)
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
	SampleState *s = drift_sample_final_arg(fcinfo, KS_LAYOUT, &sref, &scur);
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
	return drift_stat_result(fcinfo, d, kolmogorov_q(sqrt(en) * d), 0, false);
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
	SampleState *s = drift_sample_final_arg(fcinfo, WS_LAYOUT, &sref, &scur);
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
	SampleState *s = drift_sample_final_arg(fcinfo, PSI_LAYOUT, &sref, &scur);
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
