/*
 * drift_categorical.c — mlsys.js_distance, mlsys.chi2_test and
 * mlsys.linf_distance (category text, is_current bool; see metrics.h):
 * a "category state", an open-addressing hash table of (hash, length,
 * offset, ref count, current count) slots followed by a string area; it
 * grows with the number of distinct categories, not rows.
 *
 * Definitions (scipy's, so results can be checked against it):
 *   JS distance  √(½ KL(p‖m) + ½ KL(q‖m)), m = (p+q)/2, base 2
 *                (scipy.spatial.distance.jensenshannon(p, q, base=2));
 *   chi-square   Pearson's statistic on the 2×k contingency table without
 *                Yates' correction, dof = k − 1, p-value from the chi-square
 *                survival function Q(dof/2, χ²/2) (regularized upper
 *                incomplete gamma, by its power series or Legendre's
 *                continued fraction); one category gives (0, 1, 0) as
 *                scipy.stats.chi2_contingency does;
 *   L-infinity   max_c |p_c − q_c|.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "metrics/metrics.h"

/* ------------------------------------------------------------------------
 * Distributions
 * ------------------------------------------------------------------------ */

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

	drift_check_agg_call(fcinfo, "mlsys._category_accum");
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
	b = (CatState *) drift_state_arg(fcinfo, 1);
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
	CatState   *s = (CatState *) drift_state_arg(fcinfo, 0);
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
		return drift_stat_result(fcinfo, 0.0, 1.0, 0, true);
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
	return drift_stat_result(fcinfo, chi2, gamma_q(dof / 2.0, chi2 / 2.0), dof, true);
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
