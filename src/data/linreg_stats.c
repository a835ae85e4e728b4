/*
 * linreg_stats.c — the least-squares sufficient statistics of the training
 * split: the first pass of every feature-based training, parallel safe.
 *
 * A linreg state holds the sufficient statistics of the rows seen so far for
 * the augmented vector z = (x1..xp, y): the row count n, the mean of z and the
 * centred co-moment matrix C = Σ (z − z̄)(z − z̄)ᵀ (upper triangle, row-major),
 * plus per-column minimum and maximum. Rows are buffered in a block inside the
 * state; a full block is centred on its own mean, folded into C with one
 * level-3 BLAS call (dsyrk) and merged with the running moments by Chan,
 * Golub and LeVeque's pairwise update ("Updating formulae and a pairwise
 * algorithm for computing sample variances", 1979):
 *     C ← C + C_b + (n·n_b / (n + n_b)) · δδᵀ,   δ = z̄_b − z̄.
 * Centring keeps the normal equations well conditioned when features have
 * large means, and the state's size depends on p only, never on the rows.
 *
 * The state is a bytea allocated in the aggregate context and updated in place
 * by the transition function (the aggregates are declared with STYPE = bytea,
 * not internal, so that Citus can push partial aggregation to its workers).
 * Its layout is versioned and checked wherever a state is read, because in
 * parallel query (and under Citus) it arrives from another process.
 *
 * Solving the state is linreg_solve.c's.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "data/data.h"
#include "data/linreg_stats.h"

/* the sample state after the arrays (sample_cap > 0) */
static inline void *
ls_sample(const LinregState *s)
{
	return (char *) s + linreg_state_size(s->nfeat, s->block_cap);
}

/* the whole state's bytes: the arrays, and the sample slots it carries */
static Size
linreg_state_total_size(int nfeat, int block_cap, int sample_alloc)
{
	return linreg_state_size(nfeat, block_cap) +
		(sample_alloc > 0 ? MAXALIGN(mlsys_sample_size(nfeat, sample_alloc)) : 0);
}

/* the sample slots a new state allocates; they double as rows are kept */
#define LINREG_SAMPLE_START 64

/* rows per block: about 128 kB of buffered values, 16 to 1024 rows */
static int
linreg_block_capacity(int nfeat)
{
	int			rows = 131072 / (int) (sizeof(double) * (nfeat + 1));

	return Max(16, Min(rows, 1024));
}

/*
 * A fresh state for p features. Transition functions create it in the
 * per-call context: the executor copies a newly returned state into the
 * aggregate context once, and every later call updates that copy in place.
 */
static LinregState *
linreg_state_new(MemoryContext cxt, int nfeat, int flags, int sample_cap)
{
	LinregState *s;
	int			cap;
	Size		size;
	int			j;

	if (nfeat < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector must not be empty")));
	if (nfeat > MLSYS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("feature vector has %d elements, the limit is %d",
						nfeat, MLSYS_MAX_FEATURES)));
	cap = linreg_block_capacity(nfeat);
	size = linreg_state_total_size(nfeat, cap, Min(sample_cap, LINREG_SAMPLE_START));
	s = MemoryContextAllocZero(cxt, size);
	SET_VARSIZE(s, size);
	s->layout = LINREG_LAYOUT;
	s->nfeat = nfeat;
	s->block_cap = cap;
	s->flags = flags;
	s->sample_cap = sample_cap;
	s->sample_alloc = Min(sample_cap, LINREG_SAMPLE_START);
	for (j = 0; j <= nfeat; j++)
	{
		ls_min(s)[j] = get_float8_infinity();
		ls_max(s)[j] = -get_float8_infinity();
	}
	return s;
}

/* reject a state whose bytes do not describe a valid layout */
static void
linreg_state_check(const LinregState *s)
{
	if (VARSIZE_ANY(s) < sizeof(LinregState) ||
		VARATT_IS_SHORT(s) ||
		s->layout != LINREG_LAYOUT ||
		s->nfeat < 1 || s->nfeat > MLSYS_MAX_FEATURES ||
		s->block_cap < 16 || s->block_cap > 1024 ||
		s->block_rows < 0 || s->block_rows >= s->block_cap ||
		s->n < 0 || s->n_seen < 0 || s->sample_cap < 0 ||
		(s->sample_cap > 0 ? s->sample_alloc < 1 || s->sample_alloc > s->sample_cap : s->sample_alloc != 0) ||
		(s->flags & ~(LINREG_RIDGE | LINREG_SPLIT | LINREG_DIAG)) != 0 ||
		((s->flags & LINREG_DIAG) != 0) != ((s->flags & LINREG_SPLIT) != 0 && s->sample_cap > 0) ||
		VARSIZE(s) != linreg_state_total_size(s->nfeat, s->block_cap, s->sample_alloc))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid linear regression aggregate state"),
				 errdetail("The state's layout version or length does not match this build of mlsys.")));
	/* the sample it carries, once it has seen a row: its own checks, and the shape allotted */
	if (s->sample_cap > 0 && s->n_seen > 0)
	{
		mlsys_sample_check(ls_sample(s), s->nfeat, s->sample_alloc, s->sample_cap);
	}
}

/* does this bytea hold a linreg state (of this layout) that carries a training sample? */
bool
linreg_state_carries_sample(const struct varlena *v)
{
	const LinregState *s = (const LinregState *) v;

	return !VARATT_IS_SHORT(v) && VARSIZE(v) >= sizeof(LinregState) &&
		s->layout == LINREG_LAYOUT && s->sample_cap > 0;
}

/* the training sample a first-pass state carries (a datum for mlsys_sample_rows), or 0 */
Datum
linreg_state_sample(const LinregState *s)
{
	if (s->sample_cap <= 0 || s->n_seen == 0)
		return (Datum) 0;
	mlsys_sample_check(ls_sample(s), s->nfeat, s->sample_alloc, s->sample_cap);
	return PointerGetDatum(ls_sample(s));
}

/*
 * A copy of a (checked) state with alloc sample slots, palloc'd in the
 * current context: the moments, the buffered rows and the sample kept.
 */
static LinregState *
linreg_grow_sample(const LinregState *s, int alloc)
{
	Size		size = linreg_state_total_size(s->nfeat, s->block_cap, alloc);
	LinregState *g = palloc(size);

	memcpy(g, s, linreg_state_size(s->nfeat, s->block_cap));
	SET_VARSIZE(g, size);
	g->sample_alloc = alloc;
	if (s->n_seen > 0)
		mlsys_sample_copy(ls_sample(g), ls_sample(s), alloc);
	return g;
}

/* the state in a datum, validated; copied when the caller will modify it */
LinregState *
linreg_state_from_datum(Datum d, bool copy)
{
	LinregState *s;

	s = (LinregState *) (copy ? PG_DETOAST_DATUM_COPY(d) : PG_DETOAST_DATUM(d));
	linreg_state_check(s);
	return s;
}


/* fold any buffered rows into the moments (before reading column statistics) */
void
linreg_state_finish(LinregState *s)
{
	linreg_flush(s);
}

int
linreg_state_nfeat(const LinregState *s)
{
	return s->nfeat;
}

int64
linreg_state_rows(const LinregState *s)
{
	return s->n + s->block_rows;
}

void
linreg_state_split_counts(const LinregState *s, int64 *seen, int64 *holdout,
						  uint64 *fingerprint)
{
	*seen = s->n_seen;
	*holdout = s->n_holdout;
	*fingerprint = s->fp_sum;
}

/* profile of column j (p = the target) over the merged rows; call linreg_state_finish first */
void
linreg_state_column_stats(const LinregState *s, int j, double *mean,
						  double *stddev, double *minv, double *maxv)
{
	int			m = s->nfeat + 1;

	*mean = ls_mean(s)[j];
	*stddev = s->n > 0 ? sqrt(Max(ls_comoment(s)[(Size) j * m + j], 0.0) / s->n) : 0.0;
	*minv = ls_min(s)[j];
	*maxv = ls_max(s)[j];
}


/* column j of the block has a non-finite sum: report the value, or the overflow */
static void
linreg_block_not_finite(LinregState *s, int j)
{
	int			m = s->nfeat + 1;
	int			i;

	for (i = 0; i < s->block_rows; i++)
		mlsys_check_finite_row(ls_block(s) + (Size) i * m, m, true, NULL);
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("%s values are too large to fit",
					j == s->nfeat ? "target" : psprintf("feature vector element %d", j + 1))));
}

/*
 * LINREG_DIAG: each column's variance alone, accumulated row by row without
 * buffering the row. The block area holds, for the rows since the last
 * fold, the sums of z − r and of (z − r)² per column (r the running mean,
 * the first row for the first rows); a fold applies the same update as
 * linreg_flush restricted to the diagonal.
 */
static inline void
linreg_diag_add(LinregState *s, const char *x, double y)
{
	int			p = s->nfeat,
				m = p + 1,
				j;
	double	   *restrict s1 = ls_block(s);
	double	   *restrict s2 = s1 + m;
	double	   *restrict shift = ls_mean(s);
	double	   *restrict minv = ls_min(s);
	double	   *restrict maxv = ls_max(s);

	if (s->n == 0 && s->block_rows == 0)
	{
		memcpy(shift, x, sizeof(double) * p);
		shift[p] = y;
	}
	for (j = 0; j <= p; j++)
	{
		double		v,
					d;

		if (j < p)
			memcpy(&v, x + sizeof(double) * j, sizeof(double));
		else
			v = y;
		minv[j] = v < minv[j] ? v : minv[j];
		maxv[j] = v > maxv[j] ? v : maxv[j];
		d = v - shift[j];
		s1[j] += d;
		s2[j] += d * d;
	}
	if (++s->block_rows == s->block_cap)
		linreg_flush(s);
}

static void
linreg_diag_flush(LinregState *s)
{
	int			m = s->nfeat + 1,
				nb = s->block_rows,
				j;
	double	   *s1 = ls_block(s);
	double	   *s2 = s1 + m;
	double	   *mean = ls_mean(s);
	double	   *c = ls_comoment(s);
	int64		n_new = s->n + nb;

	for (j = 0; j < m; j++)
	{
		double		d = s1[j] / nb;

		if (unlikely(!isfinite(s1[j]) || !isfinite(s2[j])))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s values are too large to fit",
							j == s->nfeat ? "target" : psprintf("feature vector element %d", j + 1))));
		c[(Size) j * m + j] += s2[j] - ((double) nb * nb) / n_new * d * d;
		mean[j] += d * nb / n_new;
		s1[j] = 0;
		s2[j] = 0;
	}
	s->n = n_new;
	s->block_rows = 0;
}

/*
 * Fold the buffered rows into the moments with one pass over the block and
 * one dsyrk. Rows are shifted by r, the running mean (the block's first row
 * for the first block), so with d = z̄_b − r and S = Σ (z − r)(z − r)ᵀ:
 *     C ← C + S − (n_b² / (n + n_b)) · ddᵀ,   z̄ ← z̄ + d · n_b / (n + n_b),
 * which is Chan et al.'s update with the block's own co-moment S − n_b·ddᵀ.
 */
void
linreg_flush(LinregState *s)
{
	int			m = s->nfeat + 1;
	int			nb = s->block_rows;
	double	   *blk = ls_block(s);
	/* disjoint parts of the state: tell the compiler, so the loop vectorizes */
	double	   *restrict d = ls_scratch(s);
	double	   *restrict mean = ls_mean(s);
	double	   *restrict minv = ls_min(s);
	double	   *restrict maxv = ls_max(s);
	int64		n_new;
	int			i,
				j;

	if (nb == 0)
		return;
	if (s->flags & LINREG_DIAG)
	{
		linreg_diag_flush(s);
		return;
	}
	if (s->n == 0)
	{
		/* shift by the first row, which must then be finite itself */
		mlsys_check_finite_row(blk, m, true, NULL);
		memcpy(mean, blk, sizeof(double) * m);
	}
	memset(d, 0, sizeof(double) * m);
	if (s->flags & LINREG_SPLIT)
	{
		/* training also profiles each column's range */
		for (i = 0; i < nb; i++)
		{
			double	   *restrict row = blk + (Size) i * m;

			for (j = 0; j < m; j++)
			{
				double		v = row[j];

				minv[j] = v < minv[j] ? v : minv[j];
				maxv[j] = v > maxv[j] ? v : maxv[j];
				v -= mean[j];
				row[j] = v;
				d[j] += v;
			}
		}
	}
	else
	{
		for (i = 0; i < nb; i++)
		{
			double	   *restrict row = blk + (Size) i * m;

			for (j = 0; j < m; j++)
			{
				double		v = row[j] - mean[j];

				row[j] = v;
				d[j] += v;
			}
		}
	}
	n_new = s->n + nb;
	for (j = 0; j < m; j++)
	{
		/* a NaN or infinity anywhere in the block makes its column sum non-finite */
		if (unlikely(!isfinite(d[j])))
			linreg_block_not_finite(s, j);
		d[j] /= nb;
	}
	mlsys_syrk_upper(ls_comoment(s), m, blk, nb);
	mlsys_syr_upper(ls_comoment(s), m, -((double) nb * nb) / n_new, d);
	for (j = 0; j < m; j++)
		mean[j] += d[j] * nb / n_new;
	s->n = n_new;
	s->block_rows = 0;
}

/* append one row (x already in the next block slot) and flush a full block */
static inline void
linreg_commit_row(LinregState *s)
{
	if (++s->block_rows == s->block_cap)
		linreg_flush(s);
}


/*
 * Shared transition step: find or create the state, copy x into the next
 * block slot with y after it. Returns NULL when the row is to be skipped.
 */
static LinregState *
linreg_begin_row(FunctionCallInfo fcinfo, int flags, ArrayType *names, int sample_cap, double **row_out,
				 const char **x_out)
{
	LinregState *s;
	Float8ArrayView v;
	double	   *row;
	bool		known = mlsys_state_is_known(fcinfo);

	if (!known)
		mlsys_agg_context(fcinfo, "the linear regression transition function");

	if (PG_ARGISNULL(1))
		return NULL;			/* rows without a target are skipped */
	if (PG_ARGISNULL(2))
	{
		if (flags & LINREG_SPLIT)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", mlsys_feature_subject(names, 0)),
					 errhint("Filter out rows with null features before training.")));
		return NULL;			/* like regr_slope(): rows with a null input are skipped */
	}
	mlsys_array_view(PG_GETARG_DATUM(2), &v);
	if (v.hasnull)
	{
		ArrayType  *x = PG_GETARG_ARRAYTYPE_P(2);
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					j;

		deconstruct_array(x, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
		for (j = 0; j < n && !nulls[j]; j++)
			;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", mlsys_feature_subject(names, j)),
				 errhint("Training imputes missing values of numeric columns unless hyperparams say {\"impute\": \"error\"}; array elements are never imputed.")));
	}

	if (PG_ARGISNULL(0))
	{
		/* training: the vector must have as many elements as the spec has names */
		if (names != NULL && v.n != ArrayGetNItems(ARR_NDIM(names), ARR_DIMS(names)))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature vector has %d elements, expected %d",
							v.n, ArrayGetNItems(ARR_NDIM(names), ARR_DIMS(names))),
					 errdetail("A float8[] feature column must have the same length in every row.")));
		s = linreg_state_new(CurrentMemoryContext, v.n, flags, sample_cap);
	}
	else
	{
		s = (LinregState *) PG_GETARG_POINTER(0);
		/* needed (an INITCOND could hand us arbitrary bytes), once per state */
		if (!known)
		{
			linreg_state_check(s);
			mlsys_state_remember(fcinfo, s);
		}
		if (v.n != s->nfeat)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (v.n), v.n, s->nfeat),
					 errdetail("Every row must have the same number of features.")));
	}
	if (x_out != NULL)
	{
		/* the caller adds the row where it lies (LINREG_DIAG) */
		*x_out = v.data;
		*row_out = NULL;
		return s;
	}
	row = ls_block(s) + (Size) s->block_rows * (s->nfeat + 1);
	memcpy(row, v.data, sizeof(double) * s->nfeat);
	row[s->nfeat] = PG_GETARG_FLOAT8(1);
	*row_out = row;
	return s;
}

PG_FUNCTION_INFO_V1(linreg_accum);
/* linreg_accum(state bytea, y float8, x float8[]): OLS transition */
Datum
linreg_accum(PG_FUNCTION_ARGS)
{
	double	   *row;
	LinregState *s = linreg_begin_row(fcinfo, 0, NULL, 0, &row, NULL);

	if (s == NULL)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	linreg_commit_row(s);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(linreg_accum_ridge);
/* linreg_accum_ridge(state bytea, y float8, x float8[], alpha float8) */
Datum
linreg_accum_ridge(PG_FUNCTION_ARGS)
{
	double	   *row;
	double		alpha;
	LinregState *s;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("alpha must not be null")));
	alpha = PG_GETARG_FLOAT8(3);
	if (!(alpha >= 0.0) || isinf(alpha))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be a finite number greater than or equal to 0")));
	s = linreg_begin_row(fcinfo, LINREG_RIDGE, NULL, 0, &row, NULL);
	if (s == NULL)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (s->n == 0 && s->block_rows == 0)
		s->alpha = alpha;
	else if (s->alpha != alpha)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be the same for every row")));
	linreg_commit_row(s);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(linreg_split_accum);
/*
 * linreg_split_accum(state bytea, y float8, x float8[], seed int8,
 *                    test_size float8, names text[]): the training pass of
 * mlsys.train. Accumulates the training split only, counts the holdout and
 * sums every row's content hash into the data fingerprint.
 */
Datum
linreg_split_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *names = PG_ARGISNULL(5) ? NULL : PG_GETARG_ARRAYTYPE_P(5);
	int64		seed = PG_GETARG_INT64(3);
	double		test_size = PG_GETARG_FLOAT8(4);
	double	   *row;
	LinregState *s = linreg_begin_row(fcinfo, LINREG_SPLIT, names, 0, &row, NULL);
	uint64		h;
	bool		finite;

	if (s == NULL)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (s->n_seen == 0)
	{
		s->seed = seed;
		s->split_key = mlsys_split_key(seed);
		s->test_size = test_size;
	}
	/* one loop hashes the row and notes a NaN or infinity (named if found) */
	h = mlsys_row_hash((const char *) row, s->nfeat, row[s->nfeat], &finite);
	if (unlikely(!finite))
		mlsys_check_finite_row(row, s->nfeat + 1, true, names);
	s->n_seen++;
	s->fp_sum += h;
	if (test_size > 0.0 && mlsys_in_holdout(h, s->split_key, test_size))
		s->n_holdout++;
	else
		linreg_commit_row(s);
	PG_RETURN_POINTER(s);
}

/*
 * The first pass of a classifier: as linreg_split_accum, with the stratified
 * holdout of the cuts (one per class, strata.c) left out. With sample_cap > 0
 * the state also keeps a sample of that many training rows (sample.c) and,
 * since logistic regression then starts from the sample's fit rather than
 * from the least-squares direction, only each column's variance (no cross
 * moments: O(p) per row, not O(p²)).
 */
static Datum
linreg_strata_row(FunctionCallInfo fcinfo, int sample_cap, double threshold)
{
	ArrayType  *names = PG_ARGISNULL(5) ? NULL : PG_GETARG_ARRAYTYPE_P(5);
	int64		seed = PG_GETARG_INT64(3);
	StrataCuts	sc;
	double	   *row;
	const char *x = NULL;
	double		y;
	LinregState *s;
	uint64		h;
	bool		finite;
	int			c;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cuts must not be null")));
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(4), -1, &sc);
	s = linreg_begin_row(fcinfo, LINREG_SPLIT | (sample_cap > 0 ? LINREG_DIAG : 0), names, sample_cap,
						 &row, sample_cap > 0 ? &x : NULL);
	if (s == NULL)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (s->n_seen == 0)
	{
		s->seed = seed;
		s->split_key = mlsys_split_key(seed);
		s->test_size = -1.0;	/* stratified: the cuts decide */
		if (s->sample_cap > 0)
			mlsys_sample_init(ls_sample(s), s->nfeat, s->sample_alloc, s->sample_cap, sc.nclass,
							  s->split_key, threshold);
	}
	if (x == NULL)
	{
		x = (const char *) row;
		y = row[s->nfeat];
	}
	else
		y = PG_GETARG_FLOAT8(1);
	h = mlsys_row_hash(x, s->nfeat, y, &finite);
	if (unlikely(!finite))
	{
		/* the same errors as the other passes: the features first, then the target */
		mlsys_reject_missing_row(PG_GETARG_DATUM(2), false, names);
		mlsys_check_finite_row(&y, 1, true, NULL);
	}
	c = mlsys_class_index(y, sc.nclass);
	s->n_seen++;
	s->fp_sum += h;
	if (mlsys_stratum(&sc, c, mlsys_split_u(h, s->split_key)) == 0)
		s->n_holdout++;
	else if (s->flags & LINREG_DIAG)
	{
		if (mlsys_sample_needs_room(ls_sample(s)))
		{
			/* the executor frees the old state once this call returns the new one */
			mlsys_state_forget(fcinfo, s);
			s = linreg_grow_sample(s, Min(s->sample_cap, 2 * s->sample_alloc));
		}
		mlsys_sample_add(ls_sample(s), h, y, x);
		linreg_diag_add(s, x, y);
	}
	else
		linreg_commit_row(s);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(linreg_strata_accum);
/*
 * linreg_strata_accum(state bytea, y float8 (class index), x float8[],
 *                     seed int8, cuts float8[], names text[])
 */
Datum
linreg_strata_accum(PG_FUNCTION_ARGS)
{
	return linreg_strata_row(fcinfo, 0, 0.0);
}

PG_FUNCTION_INFO_V1(linreg_strata_sample_accum);
/*
 * linreg_strata_sample_accum(state bytea, y float8 (class index),
 *     x float8[], seed int8, cuts float8[], names text[], sample int4
 *     [, threshold float8]): the
 * same, keeping a sample of at most `sample` training rows
 */
Datum
linreg_strata_sample_accum(PG_FUNCTION_ARGS)
{
	int32		size;

	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("sample size must not be null")));
	size = PG_GETARG_INT32(6);
	if (PG_ARGISNULL(0) && !PG_ARGISNULL(2))
	{
		Float8ArrayView v;

		mlsys_array_view(PG_GETARG_DATUM(2), &v);
		mlsys_sample_check_size(size, v.n);
	}
	/* the threshold matters when the state (and its sample) is created */
	return linreg_strata_row(fcinfo, size, PG_ARGISNULL(0) ? mlsys_sample_threshold_arg(fcinfo, 7) : 0.0);
}

/*
 * Merge state b into state a (a is modified, b is not): Chan et al.'s update
 * for the moments, then b's buffered rows as ordinary rows of a. Returns a,
 * or a palloc'd copy of it with more sample slots.
 */
LinregState *
linreg_state_merge(LinregState *a, const LinregState *b)
{
	int			m,
				i,
				j;

	if (a->nfeat != b->nfeat || a->flags != b->flags || a->sample_cap != b->sample_cap ||
		a->alpha != b->alpha || a->seed != b->seed || a->test_size != b->test_size)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot combine linear regression states with different dimensions or parameters"),
				 errdetail("One state has %d features, the other %d.", a->nfeat, b->nfeat)));

	m = a->nfeat + 1;
	linreg_flush(a);
	if (a->sample_cap > 0 && b->n_seen > 0)
	{
		/* room for both samples' rows, up to the size (then a's heap keeps the largest keys) */
		int			need = mlsys_sample_count(ls_sample(b)) +
			(a->n_seen > 0 ? mlsys_sample_count(ls_sample(a)) : 0);

		if (Min(need, a->sample_cap) > a->sample_alloc)
			a = linreg_grow_sample(a, Min(a->sample_cap, Max(need, 2 * a->sample_alloc)));
		if (a->n_seen == 0)
			mlsys_sample_copy(ls_sample(a), ls_sample(b), a->sample_alloc);
		else
			mlsys_sample_merge(ls_sample(a), ls_sample(b));
	}
	if ((b->flags & LINREG_DIAG) && b->block_rows > 0)
	{
		/* b's pending sums are not rows: fold them in a copy (of the moments) first */
		Size		size = linreg_state_size(b->nfeat, b->block_cap);
		LinregState *bc = palloc(size);

		memcpy(bc, b, size);
		/* a state of the moments alone: nothing reads a sample from it */
		SET_VARSIZE(bc, size);
		bc->sample_cap = 0;
		bc->sample_alloc = 0;
		linreg_flush(bc);
		b = bc;
	}
	if (b->n > 0)
	{
		if (a->n == 0)
		{
			memcpy(ls_mean(a), ls_mean(b), sizeof(double) * m);
			memcpy(ls_comoment(a), ls_comoment(b), sizeof(double) * m * m);
			a->n = b->n;
		}
		else
		{
			int64		n = a->n + b->n;
			double	   *delta = ls_scratch(a);
			double	   *ca = ls_comoment(a);
			const double *cb = ls_comoment(b);

			for (j = 0; j < m; j++)
				delta[j] = ls_mean(b)[j] - ls_mean(a)[j];
			for (i = 0; i < m; i++)
				for (j = i; j < m; j++)
					ca[(Size) i * m + j] += cb[(Size) i * m + j];
			if (a->flags & LINREG_DIAG)
			{
				for (j = 0; j < m; j++)
					ca[(Size) j * m + j] += (double) a->n * b->n / n * delta[j] * delta[j];
			}
			else
				mlsys_syr_upper(ca, m, (double) a->n * b->n / n, delta);
			for (j = 0; j < m; j++)
				ls_mean(a)[j] += delta[j] * b->n / n;
			a->n = n;
		}
		for (j = 0; j < m; j++)
		{
			ls_min(a)[j] = Min(ls_min(a)[j], ls_min(b)[j]);
			ls_max(a)[j] = Max(ls_max(a)[j], ls_max(b)[j]);
		}
	}
	/* b's buffered rows become ordinary rows of a */
	for (i = 0; i < b->block_rows; i++)
	{
		memcpy(ls_block(a) + (Size) a->block_rows * m,
			   ls_block(b) + (Size) i * m, sizeof(double) * m);
		linreg_commit_row(a);
	}
	a->n_seen += b->n_seen;
	a->n_holdout += b->n_holdout;
	a->fp_sum += b->fp_sum;
	return a;
}

PG_FUNCTION_INFO_V1(linreg_combine);
/* linreg_combine(bytea, bytea): merge two partial states (parallel query, Citus) */
Datum
linreg_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	LinregState *a,
			   *b;

	mlsys_agg_context(fcinfo, "mlsys._linreg_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = linreg_state_from_datum(PG_GETARG_DATUM(1), false);
	a = (LinregState *) PG_GETARG_POINTER(0);
	linreg_state_check(a);
	a = linreg_state_merge(a, b);
	PG_RETURN_POINTER(a);
}
