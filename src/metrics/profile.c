/*
 * profile.c — the column profiles of a drift baseline as aggregates:
 * mlsys._profile_num_agg(value float8, name text) here and
 * mlsys._profile_cat_agg(value text, name text) in profile_cat.c. Both are
 * PARALLEL SAFE with a combine function and a concrete bytea state, so a
 * baseline is gathered by
 * the training's own parallel passes (or one parallel query of
 * mlsys._capture_baseline) instead of a row-by-row scan in the leader.
 *
 * Vocabulary (see also monitor.h):
 *   grid   the quantile sketch of a numeric column: at most MON_BINS
 *          equal-width bins [k·2^e, (k+1)·2^e), k = k0 .. k0 + nbins − 1,
 *          built without knowing the range: the width doubles (adjacent bins
 *          merge) whenever a value would make the occupied span exceed
 *          MON_BINS bins. Two grids combine by bringing both to the wider
 *          width and adding; bins are aligned to multiples of 2^e, so the
 *          counts do not depend on the order rows arrive in.
 *   categories  counted per 64-bit hash of their text, at most
 *          MON_MAX_DISTINCT of them; values of further categories count as
 *          "other". The final profile keeps the MON_TOP_N most frequent.
 *
 * A NULL or NaN value counts as missing; ±Infinity is an error. The final
 * functions return the column's profile as JSON text, with its name.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "metrics/metrics.h"

#define PROFILE_NUM_LAYOUT 0x504E0001	/* "PN", layout version 1 */

/* the state of mlsys._profile_num_agg; the name follows, NUL-terminated */
typedef struct ProfileNum
{
	int32		vl_len_;
	uint32		layout;
	ProfileGrid g;
} ProfileNum;

#define PN_NAME(s) ((char *) (s) + sizeof(ProfileNum))


/*
 * The PSI bins of a grid: the first grid edge where the cumulative share
 * reaches k/MON_PSI_BINS, k = 1 .. MON_PSI_BINS − 1, duplicates merged.
 * Returns how many cuts (grid bin indexes) it wrote.
 */
int
profile_psi_cuts(const double *counts, int nbins, double n, int *cuts)
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

/* floor(k / 2^s) for 0 <= s <= 62 */
static inline int64
floor_shift(int64 k, int s)
{
	return k >= 0 ? k >> s : -((-(k + 1)) >> s) - 1;
}

/*
 * Where the fast path of profile_grid_add may bin a value by one product:
 * [lo, hi) and 1/2^e, all exact while |k0| + nbins < 2^52 and |e| <= 1000.
 */
static void
grid_set_window(ProfileGrid *c)
{
	if (c->nbins > 0 && c->e >= -1000 && c->e <= 1000 &&
		mlsys_abs64(c->k0) + c->nbins < (INT64CONST(1) << 52))
	{
		c->lo = ldexp((double) c->k0, c->e);
		c->hi = ldexp((double) (c->k0 + c->nbins), c->e);
		c->inv = ldexp(1.0, -c->e);
	}
	else
	{
		c->lo = 1;				/* empty: every value takes the slow path */
		c->hi = 0;
		c->inv = 0;
	}
}

/* doubles the grid's bin width s times (adjacent bins merge) */
static void
grid_collapse(ProfileGrid *c, int s)
{
	while (s > 0)
	{
		int			step = Min(s, 62);
		int64		nk0 = floor_shift(c->k0, step);
		int64		nkhi = floor_shift(c->k0 + c->nbins - 1, step);
		int64		tmp[MON_BINS];
		int			j;

		memset(tmp, 0, sizeof(int64) * (nkhi - nk0 + 1));
		for (j = 0; j < c->nbins; j++)
			tmp[floor_shift(c->k0 + j, step) - nk0] += c->counts[j];
		c->nbins = (int) (nkhi - nk0 + 1);
		memcpy(c->counts, tmp, sizeof(int64) * c->nbins);
		c->k0 = nk0;
		c->e += step;
		s -= step;
	}
	grid_set_window(c);
}

/* makes room in the grid for bin k (at the current width), widening as needed; returns k */
static int64
grid_reach(ProfileGrid *c, int64 k)
{
	for (;;)
	{
		int64		lo = Min(c->k0, k),
					hi = Max(c->k0 + c->nbins - 1, k);

		if (hi - lo + 1 <= MON_BINS)
			break;
		grid_collapse(c, 1);
		k = floor_shift(k, 1);
	}
	if (k < c->k0)
	{
		int			d = (int) (c->k0 - k);

		memmove(c->counts + d, c->counts, sizeof(int64) * c->nbins);
		memset(c->counts, 0, sizeof(int64) * d);
		c->nbins += d;
		c->k0 = k;
	}
	else if (k >= c->k0 + c->nbins)
	{
		int			d = (int) (k - (c->k0 + c->nbins) + 1);

		memset(c->counts + c->nbins, 0, sizeof(int64) * d);
		c->nbins += d;
	}
	grid_set_window(c);
	return k;
}

/* adds a finite value to the grid's bins (before c->n counts it) */
static void
grid_add_slow(ProfileGrid *c, double x)
{
	int64		k;

	if (c->n == 0)
	{
		c->e = (x == 0) ? -1074 : ilogb(x) - 52;
		c->k0 = (int64) floor(ldexp(x, -c->e));
		c->nbins = 1;
		c->counts[0] = 1;
		grid_set_window(c);
		return;
	}
	if (x != 0 && ilogb(x) - c->e >= 61)
		grid_collapse(c, ilogb(x) - c->e - 60);
	k = grid_reach(c, (int64) floor(ldexp(x, -c->e)));
	c->counts[k - c->k0] += 1;
}

/* adds b's bins (b not empty) to a's (a not empty) */
static void
grid_merge(ProfileGrid *a, const ProfileGrid *b)
{
	ProfileGrid *bb = palloc(sizeof(ProfileGrid));
	int64		lo,
				hi;
	int			j;

	memcpy(bb, b, sizeof(ProfileGrid));
	if (a->e < bb->e)
		grid_collapse(a, bb->e - a->e);
	else if (bb->e < a->e)
		grid_collapse(bb, a->e - bb->e);
	/* both ends of b must fit; widening a widens b's bins with it */
	for (;;)
	{
		lo = Min(a->k0, bb->k0);
		hi = Max(a->k0 + a->nbins - 1, bb->k0 + bb->nbins - 1);
		if (hi - lo + 1 <= MON_BINS)
			break;
		grid_collapse(a, 1);
		grid_collapse(bb, 1);
	}
	(void) grid_reach(a, lo);
	(void) grid_reach(a, hi);
	for (j = 0; j < bb->nbins; j++)
		a->counts[bb->k0 + j - a->k0] += bb->counts[j];
	pfree(bb);
}

/* the error for an infinite value of a profiled column */
void
profile_reject_infinite(const char *column)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("column \"%s\" contains an infinite value", column),
			 errdetail("Drift statistics need finite numbers; infinity cannot be binned (NaN counts as missing).")));
}

/* an empty grid */
void
profile_grid_init(ProfileGrid *g)
{
	memset(g, 0, offsetof(ProfileGrid, counts));
	grid_set_window(g);
}

/*
 * Counts a value: NaN as missing. Returns false for ±Infinity, which is not
 * counted: the caller raises profile_reject_infinite with the column's name.
 */
bool
profile_grid_add(ProfileGrid *c, double x)
{
	if (isnan(x))
	{
		c->nulls += 1;
		return true;
	}
	if (likely(x >= c->lo && x < c->hi))
	{
		/* floor without a libm call: t is within the grid, so it fits an int64 */
		double		t = x * c->inv;
		int64		k = (int64) t;

		k -= (t < (double) k);
		k -= c->k0;
		c->counts[Max(0, Min(k, c->nbins - 1))]++;
	}
	else if (!isfinite(x))
		return false;
	else
		grid_add_slow(c, x);
	if (c->n == 0 || x < c->min)
		c->min = x;
	if (c->n == 0 || x > c->max)
		c->max = x;
	c->sum += x;
	c->sumsq += x * x;
	c->n += 1;
	return true;
}

/* adds grid b to grid a */
void
profile_grid_merge(ProfileGrid *a, const ProfileGrid *b)
{
	if (b->n > 0)
	{
		if (a->n == 0)
		{
			a->e = b->e;
			a->k0 = b->k0;
			a->nbins = b->nbins;
			memcpy(a->counts, b->counts, sizeof(int64) * b->nbins);
			a->min = b->min;
			a->max = b->max;
			grid_set_window(a);
		}
		else
		{
			grid_merge(a, b);
			a->min = Min(a->min, b->min);
			a->max = Max(a->max, b->max);
		}
		a->sum += b->sum;
		a->sumsq += b->sumsq;
		a->n += b->n;
	}
	a->nulls += b->nulls;
}

/* is a grid from another process sound? (its bins are read by index) */
bool
profile_grid_valid(const ProfileGrid *g)
{
	/* bin indexes stay below 2^62 (the slow path widens before they would not) */
	return g->nbins >= 0 && g->nbins <= MON_BINS && (g->n == 0 || g->nbins > 0) &&
		g->e >= -1074 - 64 && g->e <= 1100 &&
		g->k0 > -(INT64CONST(1) << 62) && g->k0 < (INT64CONST(1) << 62);
}

/* a numeric profile state argument, checked: its layout and size (it may come from another process) */
static ProfileNum *
profile_num_state_arg(FunctionCallInfo fcinfo, int argno)
{
	bytea	   *b = PG_GETARG_BYTEA_P(argno);
	Size		len = VARSIZE(b);
	ProfileNum *s = (ProfileNum *) b;

	if (len <= sizeof(ProfileNum) || s->layout != PROFILE_NUM_LAYOUT ||
		!profile_grid_valid(&s->g) || ((char *) s)[len - 1] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid numeric profile state")));
	return s;
}

/* the column name argument (argno), which must not be null */
text *
profile_name_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("profile column name must not be null")));
	return PG_GETARG_TEXT_PP(argno);
}

PG_FUNCTION_INFO_V1(profile_num_accum);
/* transition function of mlsys._profile_num_agg(value float8, name text) */
Datum
profile_num_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = mlsys_agg_context(fcinfo, "profile_num_accum");
	ProfileNum *s;

	if (PG_ARGISNULL(0))
	{
		text	   *name = profile_name_arg(fcinfo, 2);
		int			len = VARSIZE_ANY_EXHDR(name);

		s = MemoryContextAllocZero(aggcxt, sizeof(ProfileNum) + len + 1);
		SET_VARSIZE(s, sizeof(ProfileNum) + len + 1);
		s->layout = PROFILE_NUM_LAYOUT;
		profile_grid_init(&s->g);
		memcpy(PN_NAME(s), VARDATA_ANY(name), len);
	}
	else
		s = (ProfileNum *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
		s->g.nulls += 1;
	else if (!profile_grid_add(&s->g, PG_GETARG_FLOAT8(1)))
		profile_reject_infinite(PN_NAME(s));
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(profile_num_combine);
/* combine function of mlsys._profile_num_agg */
Datum
profile_num_combine(PG_FUNCTION_ARGS)
{
	ProfileNum *a,
			   *b;
	Datum		trivial;

	(void) mlsys_agg_context(fcinfo, "profile_num_combine");
	if (mlsys_combine_trivial(fcinfo, &trivial))
		return trivial;
	a = profile_num_state_arg(fcinfo, 0);
	b = profile_num_state_arg(fcinfo, 1);
	profile_grid_merge(&a->g, &b->g);
	PG_RETURN_POINTER(a);
}

/* a JSON array of numbers */
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

/* the head of a profile: name, kind, counts and null rate */
void
profile_append_head(StringInfo buf, const char *name, bool categorical, double n, double nulls)
{
	double		total = n + nulls;

	appendStringInfoString(buf, "{\"name\": ");
	escape_json(buf, name);
	appendStringInfo(buf, ", \"kind\": \"%s\", \"count\": %.0f, \"nulls\": %.0f, \"null_rate\": ",
					 categorical ? "categorical" : "numeric", n, nulls);
	mlsys_append_json_number(buf, total > 0 ? nulls / total : 0);
}

/* the profile of a numeric column as JSON: counts, moments, grid and PSI bins */
void
profile_grid_json(StringInfo buf, const ProfileGrid *c, const char *name)
{
	double		mean = c->n > 0 ? c->sum / c->n : NAN;
	double		var = c->n > 1 ? (c->sumsq - c->n * mean * mean) / (c->n - 1) : NAN;

	profile_append_head(buf, name, false, c->n, c->nulls);
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
		int			cuts[MON_PSI_BINS];
		double		edges[MON_PSI_BINS];
		double		props[MON_PSI_BINS];
		double	   *counts = palloc(sizeof(double) * c->nbins);
		int			ncuts,
					b,
					j;

		for (j = 0; j < c->nbins; j++)
			counts[j] = (double) c->counts[j];
		ncuts = profile_psi_cuts(counts, c->nbins, c->n, cuts);

		memset(props, 0, sizeof(props));
		for (j = 0, b = 0; j < c->nbins; j++)
		{
			while (b < ncuts && j >= cuts[b])
				b++;
			props[b] += counts[j] / c->n;
		}
		for (b = 0; b < ncuts; b++)
			edges[b] = ldexp((double) (c->k0 + cuts[b]), c->e);
		appendStringInfo(buf, ", \"grid\": {\"e\": %d, \"k0\": " INT64_FORMAT ", \"width\": ",
						 c->e, c->k0);
		mlsys_append_json_number(buf, ldexp(1.0, c->e));
		appendStringInfoString(buf, ", \"lo\": ");
		mlsys_append_json_number(buf, ldexp((double) c->k0, c->e));
		appendStringInfoString(buf, ", \"counts\": ");
		append_numbers(buf, counts, c->nbins);
		appendStringInfoString(buf, "}, \"psi_edges\": ");
		append_numbers(buf, edges, ncuts);
		appendStringInfoString(buf, ", \"psi_proportions\": ");
		append_numbers(buf, props, ncuts + 1);
	}
	appendStringInfoChar(buf, '}');
}

PG_FUNCTION_INFO_V1(profile_num_final);
/* final function of mlsys._profile_num_agg: the profile as JSON text */
Datum
profile_num_final(PG_FUNCTION_ARGS)
{
	ProfileNum *c;
	StringInfoData buf;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	c = profile_num_state_arg(fcinfo, 0);
	initStringInfo(&buf);
	profile_grid_json(&buf, &c->g, PN_NAME(c));
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}

/*
 * The profile aggregate of one column, as SQL: expr is the column's value
 * (cast by this function to float8 or text), name its name in the profile.
 */
void
profile_append_sql(StringInfo buf, const char *expr, bool categorical, const char *name)
{
	appendStringInfo(buf, "mlsys.%s((%s)::pg_catalog.%s, %s)",
					 categorical ? "_profile_cat_agg" : "_profile_num_agg", expr,
					 categorical ? "text" : "float8", quote_literal_cstr(name));
}

/* whether a column of this type is profiled by category (else as a number) */
bool
profile_type_is_categorical(Oid typid)
{
	Oid			base = getBaseType(typid);

	return base == TEXTOID || base == VARCHAROID || base == BPCHAROID ||
		base == BOOLOID || base == NAMEOID || type_is_enum(base);
}

/*
 * A baseline's columns (the profiled feature columns, the prediction when
 * pred_expr is not NULL, then the target), as SQL select-list items after
 * the first: ", count(*), <profile aggregate> ...". Columns are read as
 * r.<name>, so the query names its relation r. A feature column whose
 * profile is given (given[i] not NULL, given may be NULL) gets no item.
 */
void
profile_baseline_sql(StringInfo buf, int ncols, char **names, const bool *categorical,
					 char **given, const char *pred_expr, bool pred_categorical,
					 const char *target, bool target_categorical)
{
	int			i;

	if (target != NULL)
		appendStringInfoString(buf, ", pg_catalog.count(*)");
	for (i = 0; i < ncols; i++)
	{
		if (given != NULL && given[i] != NULL)
			continue;
		appendStringInfoString(buf, ", ");
		profile_append_sql(buf, psprintf("r.%s", quote_identifier(names[i])), categorical[i],
						   names[i]);
	}
	if (target == NULL)
		return;
	if (pred_expr != NULL)
	{
		appendStringInfoString(buf, ", ");
		profile_append_sql(buf, pred_expr, pred_categorical, "<prediction>");
	}
	appendStringInfoString(buf, ", ");
	profile_append_sql(buf, psprintf("r.%s", quote_identifier(target)), target_categorical, target);
}

/* the profile of a column no row reached (the aggregate returned NULL) */
static char *
profile_empty(const char *name, bool categorical)
{
	StringInfoData buf;

	initStringInfo(&buf);
	profile_append_head(&buf, name, categorical, 0, 0);
	if (categorical)
		appendStringInfoString(&buf, ", \"distinct\": 0, \"categories\": [], \"counts\": [], \"other\": 0}");
	else
		appendStringInfoString(&buf, ", \"mean\": null, \"std\": null, \"min\": null, \"max\": null}");
	return buf.data;
}

/* result column col of an SPI row, a profile (empty when NULL) */
static char *
profile_value(HeapTuple tup, TupleDesc desc, int col, const char *name, bool categorical)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	return v != NULL ? v : profile_empty(name, categorical);
}

/*
 * The baseline document from the results of profile_baseline_sql's items,
 * columns first .. of an SPI result row (the same names and kinds; a column
 * whose profile is given has no item, its given JSON is used): rows,
 * relation, the feature profiles, the prediction's (when has_pred) and the
 * target's. rows, pred_json and target_json, when given (rows >= 0), are
 * the row count and those profiles gathered by the caller instead.
 */
char *
profile_baseline_json(HeapTuple tup, TupleDesc desc, int first, int ncols, char **names,
					  const bool *categorical, char **given, bool has_pred, bool pred_categorical,
					  const char *target, bool target_categorical, const char *relation,
					  int64 rows, const char *pred_json, const char *target_json)
{
	StringInfoData out;
	bool		isnull;
	int			i,
				col;

	/* without the caller's count, the row's first item is count(*) */
	if (rows < 0)
		rows = DatumGetInt64(SPI_getbinval(tup, desc, first++, &isnull));

	initStringInfo(&out);
	appendStringInfo(&out, "{\"rows\": " INT64_FORMAT ", \"relation\": ", rows);
	escape_json(&out, relation);
	appendStringInfo(&out, ", \"sample\": \"whole relation at training time\", \"grid_bins\": %d, "
					 "\"top_n\": %d, \"features\": [", MON_BINS, MON_TOP_N);
	col = first;
	for (i = 0; i < ncols; i++)
		appendStringInfo(&out, "%s%s", i > 0 ? ", " : "",
						 given != NULL && given[i] != NULL ? given[i] :
						 profile_value(tup, desc, col++, names[i], categorical[i]));
	appendStringInfoString(&out, "]");
	if (has_pred)
		appendStringInfo(&out, ", \"prediction\": %s", pred_json != NULL ? pred_json :
						 profile_value(tup, desc, col++, "<prediction>", pred_categorical));
	appendStringInfo(&out, ", \"target\": %s}", target_json != NULL ? target_json :
					 profile_value(tup, desc, col, target, target_categorical));
	return out.data;
}
