/*
 * auc.c — exact ROC AUC: the state of mlsys.auc, whose bytea keeps every
 * (score, label) pair (16 bytes a row) and sorts them by radix in the final
 * function, ties counting one half as in scikit-learn's roc_auc_score; and
 * the binary holdout metrics of a classifier's evaluation pass
 * (mlsys._logreg_holdout_agg collects the same pairs), which come from the
 * pairs: AUC, log loss and the confusion counts at the threshold.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "metrics/metrics.h"

/*
 * ROC AUC state: a bytea holding (score, label) pairs. VARSIZE is the
 * allocated size; npairs says how many are used. Growing it returns a new
 * state, which the executor copies into the aggregate context (freeing the
 * old one), so capacity doubles to keep that amortized O(1) per row.
 */
#define AUC_LAYOUT 0x41550001	/* "AU", layout version 1 */

typedef struct AucPair
{
	double		score;
	double		label;			/* 0 or 1 */
} AucPair;

typedef struct AucState
{
	int32		vl_len_;
	uint32		layout;
	int64		npairs;
	AucPair		pairs[FLEXIBLE_ARRAY_MEMBER];
} AucState;

/* a varlena is at most 1 GB: about 67 million pairs */
#define AUC_MAX_PAIRS ((int64) ((MaxAllocSize - offsetof(AucState, pairs)) / sizeof(AucPair)))

static int64
auc_capacity(const AucState *s)
{
	return (int64) ((VARSIZE(s) - offsetof(AucState, pairs)) / sizeof(AucPair));
}

static void
auc_check(const AucState *s)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) < offsetof(AucState, pairs) ||
		s->layout != AUC_LAYOUT || s->npairs < 0 || s->npairs > auc_capacity(s))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid ROC AUC aggregate state")));
}

/* a copy of s (or a new state) with room for at least need pairs */
static AucState *
auc_grow(const AucState *s, int64 need)
{
	int64		cap = s ? auc_capacity(s) : 0;
	AucState   *n;
	Size		size;

	if (need <= cap)
		return (AucState *) s;
	if (need > AUC_MAX_PAIRS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows for an exact ROC AUC"),
				 errdetail("The limit is " INT64_FORMAT " rows.", AUC_MAX_PAIRS)));
	cap = Max(Min(Max(cap * 2, 256), AUC_MAX_PAIRS), need);
	size = offsetof(AucState, pairs) + sizeof(AucPair) * (Size) cap;
	n = palloc0(size);			/* zeroed: the unused tail is copied too */
	SET_VARSIZE(n, size);
	n->layout = AUC_LAYOUT;
	n->npairs = s ? s->npairs : 0;
	if (s)
		memcpy(n->pairs, s->pairs, sizeof(AucPair) * (Size) s->npairs);
	return n;
}

PG_FUNCTION_INFO_V1(auc_accum);
/* auc_accum(bytea, score float8, label bool) */
Datum
auc_accum(PG_FUNCTION_ARGS)
{
	AucState   *s = NULL;
	double		score;

	mlsys_agg_context(fcinfo, "mlsys._auc_accum");
	if (!PG_ARGISNULL(0))
	{
		s = (AucState *) PG_GETARG_POINTER(0);
		auc_check(s);
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	score = PG_GETARG_FLOAT8(1);
	metrics_check_finite(score, "score");
	s = auc_grow(s, (s ? s->npairs : 0) + 1);
	s->pairs[s->npairs].score = score;
	s->pairs[s->npairs].label = PG_GETARG_BOOL(2) ? 1.0 : 0.0;
	s->npairs++;
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(auc_combine);
/* auc_combine(bytea, bytea): the pairs of both */
Datum
auc_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	AucState   *a,
			   *b;

	mlsys_agg_context(fcinfo, "mlsys._auc_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (AucState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	auc_check(b);
	a = (AucState *) PG_GETARG_POINTER(0);
	auc_check(a);
	if (b->npairs == 0)
		PG_RETURN_POINTER(a);
	a = auc_grow(a, a->npairs + b->npairs);
	memcpy(a->pairs + a->npairs, b->pairs, sizeof(AucPair) * (Size) b->npairs);
	a->npairs += b->npairs;
	PG_RETURN_POINTER(a);
}

/* the score as an unsigned key in the same order (finite scores; -0.0 just below +0.0) */
static inline uint64
auc_sort_key(double score)
{
	uint64		bits;

	memcpy(&bits, &score, sizeof(bits));
	return (bits & (UINT64CONST(1) << 63)) ? ~bits : bits | (UINT64CONST(1) << 63);
}

/*
 * Sort the pairs by score, ascending: a least-significant-digit radix sort on
 * the keys, eight passes of one byte, each skipped when every key has the
 * same byte there (the high bytes of scores in [0, 1] mostly do). O(n) time
 * and one scratch copy, against qsort's O(n log n) calls of a comparator: the
 * sort was the larger part of an exact AUC over a large holdout.
 */
static void
auc_sort_pairs(AucPair *pairs, int64 n)
{
	int64		(*count)[256] = palloc0(sizeof(int64) * 8 * 256);
	AucPair    *tmp = palloc(sizeof(AucPair) * (Size) n);
	AucPair    *src = pairs,
			   *dst = tmp;
	int64		i;
	int			d;

	for (i = 0; i < n; i++)
	{
		uint64		k = auc_sort_key(src[i].score);

		for (d = 0; d < 8; d++)
			count[d][(k >> (8 * d)) & 0xFF]++;
	}
	for (d = 0; d < 8; d++)
	{
		int64		pos = 0;
		int			b;

		CHECK_FOR_INTERRUPTS();
		if (count[d][(auc_sort_key(src[0].score) >> (8 * d)) & 0xFF] == n)
			continue;			/* every key has this byte: the pass would not move anything */
		for (b = 0; b < 256; b++)
		{
			int64		c = count[d][b];

			count[d][b] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++)
			dst[count[d][(auc_sort_key(src[i].score) >> (8 * d)) & 0xFF]++] = src[i];
		{
			AucPair    *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != pairs)
		memcpy(pairs, src, sizeof(AucPair) * (Size) n);
	pfree(tmp);
	pfree(count);
}

/*
 * ROC AUC = (R⁺ − n⁺(n⁺ + 1)/2) / (n⁺ · n⁻) where R⁺ is the sum of the
 * positives' ranks among all scores, tied scores sharing their mean rank
 * (Mann and Whitney, 1947): exactly the area under the ROC curve with ties
 * drawn as diagonal segments, as scikit-learn's roc_auc_score computes it.
 * The n > 0 pairs are checked, then sorted in place.
 */
static double
auc_of_pairs(AucPair *pairs, int64 n)
{
	int64		i,
				j;
	double		npos = 0,
				rank_sum = 0;

	/* the pairs may come from another process or a forged state: check them all */
	for (i = 0; i < n; i++)
		if (!isfinite(pairs[i].score) || (pairs[i].label != 0.0 && pairs[i].label != 1.0))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid ROC AUC aggregate state")));
	auc_sort_pairs(pairs, n);
	for (i = 0; i < n; i = j)
	{
		double		pos = 0,
					mid_rank;

		CHECK_FOR_INTERRUPTS();
		for (j = i; j < n && (j == i || pairs[j].score == pairs[i].score); j++)
			pos += pairs[j].label;
		mid_rank = (i + 1 + j) / 2.0;	/* ranks i+1 .. j, averaged */
		rank_sum += pos * mid_rank;
		npos += pos;
	}
	if (npos == 0 || npos == n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("ROC AUC is not defined when only one class is present"),
				 errdetail_plural("The " INT64_FORMAT " label is %s.", "All " INT64_FORMAT " labels are %s.",
								  (unsigned long) n, n, npos == 0 ? "false" : "true")));
	return (rank_sum - npos * (npos + 1) / 2) / (npos * (n - npos));
}

PG_FUNCTION_INFO_V1(auc_final);
/* auc_final(bytea) → float8: the exact ROC AUC of the pairs (NULL for none) */
Datum
auc_final(PG_FUNCTION_ARGS)
{
	AucState   *s;
	AucPair    *pairs;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (AucState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	auc_check(s);
	if (s->npairs == 0)
		PG_RETURN_NULL();
	/* sort a copy: a final function must not change its state */
	pairs = palloc(sizeof(AucPair) * (Size) s->npairs);
	memcpy(pairs, s->pairs, sizeof(AucPair) * (Size) s->npairs);
	PG_RETURN_FLOAT8(auc_of_pairs(pairs, s->npairs));
}

/*
 * Append a (score, label) pair to an AUC state (NULL: a new one; checked:
 * one the caller checked before); returns the state, which is new when it
 * had to grow (a transition function returns it, and the executor moves it
 * into the aggregate context).
 */
void *
mlsys_auc_add(void *state, bool checked, double score, bool label)
{
	AucState   *s = (AucState *) state;

	if (s != NULL && !checked)
		auc_check(s);
	s = auc_grow(s, (s ? s->npairs : 0) + 1);
	s->pairs[s->npairs].score = score;
	s->pairs[s->npairs].label = label ? 1.0 : 0.0;
	s->npairs++;
	return s;
}

/*
 * The binary holdout metrics of the (probability of the positive class,
 * label) pairs of an AUC state: what mlsys.auc, mlsys.log_loss and the
 * confusion counts at the threshold give over the same rows, in one pass
 * over the pairs (log loss summed in the rows' order, as the aggregate
 * does). No pairs give zeros.
 */
void
mlsys_binary_holdout_metrics(Datum state, bool isnull, double threshold, BinaryHoldout *out)
{
	AucState   *s;
	int64		i;
	double		loss = 0;

	memset(out, 0, sizeof(*out));
	if (isnull)
		return;
	s = (AucState *) PG_DETOAST_DATUM_COPY(state);
	auc_check(s);
	if (s->npairs == 0)
		return;
	for (i = 0; i < s->npairs; i++)
	{
		double		prob = s->pairs[i].score;
		bool		pos = s->pairs[i].label > 0;

		if (!(prob >= 0.0 && prob <= 1.0))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("probability must be between 0 and 1, not %g", prob)));
		out->tp += (prob >= threshold && pos);
		out->fp += (prob >= threshold && !pos);
		out->fn += (prob < threshold && pos);
		prob = Max(DBL_EPSILON, Min(1.0 - DBL_EPSILON, prob));
		loss -= pos ? log(prob) : log1p(-prob);
	}
	out->n = (double) s->npairs;
	out->log_loss = loss / out->n;
	out->auc = auc_of_pairs(s->pairs, s->npairs);
	pfree(s);
}

PG_FUNCTION_INFO_V1(binary_holdout_metrics);
/*
 * mlsys._binary_holdout_metrics(state bytea, threshold float8) → float8[]
 * {n, tp, fp, fn, log_loss, auc} of the state of mlsys._logreg_holdout_agg
 * (or of mlsys.auc): for tests and inspection.
 */
Datum
binary_holdout_metrics(PG_FUNCTION_ARGS)
{
	BinaryHoldout bh;
	double		v[6];

	mlsys_binary_holdout_metrics(PG_GETARG_DATUM(0), false, PG_GETARG_FLOAT8(1), &bh);
	v[0] = bh.n;
	v[1] = bh.tp;
	v[2] = bh.fp;
	v[3] = bh.fn;
	v[4] = bh.log_loss;
	v[5] = bh.auc;
	PG_RETURN_ARRAYTYPE_P(mlsys_float8_array(v, 6));
}
