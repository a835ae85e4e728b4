/*
 * multiclass_eval.c — the evaluation pass of a multinomial model: one
 * aggregate, mlsys._softmax_holdout_agg, scores each holdout row (each row
 * when asked) and keeps the confusion counts and the summed log-likelihood;
 * mlsys_multiclass_holdout_metrics turns them into accuracy, macro F1 and
 * log loss, exactly as mlsys.accuracy, mlsys.classification_report and
 * -avg(log p) over the same predictions give them. It replaces a subquery
 * with a holdout test, a probability and four aggregates per row, one of
 * them a text report.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "models/logistic/logistic.h"

#define MC_EVAL_LAYOUT 0x4D450001	/* "ME", layout version 1 */

typedef struct MulticlassEvalState
{
	int32		vl_len_;
	uint32		layout;
	int32		nclass;			/* K */
	int32		pad;
	double		n;				/* rows scored */
	double		correct;		/* predicted = actual */
	double		logsum;			/* Σ log max(P(y | x), 1e-15) */
	/* then: count[K·K], row = the actual class, column = the predicted one */
} MulticlassEvalState;

StaticAssertDecl(sizeof(MulticlassEvalState) % sizeof(double) == 0,
				 "MulticlassEvalState must keep its counts aligned");

static inline double *
me_count(const MulticlassEvalState *s)
{
	return (double *) ((const char *) s + sizeof(MulticlassEvalState));
}

static inline Size
me_state_size(int K)
{
	return sizeof(MulticlassEvalState) + sizeof(double) * (Size) K * K;
}

static void
me_state_check(const MulticlassEvalState *s)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) < sizeof(MulticlassEvalState) ||
		s->layout != MC_EVAL_LAYOUT || s->nclass < 3 || s->nclass > MLSYS_MAX_CLASSES ||
		VARSIZE(s) != me_state_size(s->nclass) ||
		!(s->n >= 0) || !(s->correct >= 0) || s->correct > s->n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid multinomial evaluation aggregate state")));
}

PG_FUNCTION_INFO_V1(softmax_holdout_accum);
/*
 * softmax_holdout_accum(state bytea, y float8 (class index), x float8[],
 *                       seed int8, cuts float8[], params float8[],
 *                       every_row bool): one row of the evaluation pass,
 * counted when it is in the stratified holdout of the cuts (or always, when
 * every_row).
 */
Datum
softmax_holdout_accum(PG_FUNCTION_ARGS)
{
	MulticlassEvalState *s;
	ArrayType  *params;
	Float8ArrayView v;
	StrataCuts	sc;
	double	   *buf;
	double		y;
	int			K,
				yi,
				best;

	mlsys_agg_context(fcinfo, "mlsys._softmax_holdout_accum");
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed, cuts, parameters and every_row must not be null")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	mlsys_array_view(PG_GETARG_DATUM(2), &v);
	if (v.hasnull || v.n < 1 || v.n > MLSYS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector must have between 1 and %d elements without nulls",
						MLSYS_MAX_FEATURES)));
	params = PG_GETARG_ARRAYTYPE_P(5);
	K = softmax_params_classes(params, v.n);
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(4), K, &sc);
	y = PG_GETARG_FLOAT8(1);
	yi = mlsys_class_index(y, K);

	if (PG_ARGISNULL(0))
	{
		Size		size = me_state_size(K);

		s = palloc0(size);		/* the executor moves it into the aggregate context */
		SET_VARSIZE(s, size);
		s->layout = MC_EVAL_LAYOUT;
		s->nclass = K;
	}
	else
	{
		s = (MulticlassEvalState *) PG_GETARG_POINTER(0);
		me_state_check(s);
		if (s->nclass != K)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("parameters are for %d classes, the evaluation for %d", K, s->nclass)));
	}
	if (!PG_GETARG_BOOL(6) &&
		mlsys_row_stratum(v.data, v.n, y, mlsys_split_key(PG_GETARG_INT64(3)), &sc) != 0)
		PG_RETURN_POINTER(s);

	/* z̃ and the probabilities, in a buffer of this call site */
	buf = softmax_call_buffer(fcinfo, v.n + 1 + K);
	best = softmax_predict_row((const double *) ARR_DATA_PTR(params), v.n, K, v.data,
							   buf, buf + v.n + 1);
	s->n += 1;
	s->correct += best == yi;
	s->logsum += log(Max(buf[v.n + 1 + yi], 1e-15));
	me_count(s)[(Size) yi * K + best] += 1;
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(softmax_holdout_combine);
/* softmax_holdout_combine(bytea, bytea): the counts of two partial passes */
Datum
softmax_holdout_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	MulticlassEvalState *a,
			   *b;
	int			i;

	mlsys_agg_context(fcinfo, "mlsys._softmax_holdout_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (MulticlassEvalState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	me_state_check(b);
	a = (MulticlassEvalState *) PG_GETARG_POINTER(0);
	me_state_check(a);
	if (a->nclass != b->nclass)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot combine multinomial evaluation states of %d and %d classes",
						a->nclass, b->nclass)));
	a->n += b->n;
	a->correct += b->correct;
	a->logsum += b->logsum;
	for (i = 0; i < a->nclass * a->nclass; i++)
		me_count(a)[i] += me_count(b)[i];
	PG_RETURN_POINTER(a);
}

/* order of class indexes by their decimal text, as a report of their labels sorts them */
static int
class_text_cmp(const void *x, const void *y)
{
	char		a[16],
				b[16];

	snprintf(a, sizeof(a), "%d", *(const int *) x);
	snprintf(b, sizeof(b), "%d", *(const int *) y);
	return strcmp(a, b);
}

/*
 * The metrics of an evaluation state (NULL when no row was scored: then n is
 * 0 and the rest 0 too): accuracy, log loss −Σ log p / n, and macro F1 as
 * mlsys.classification_report computes it over the predicted and actual
 * class indexes as text: over the classes that occur on either side, in the
 * byte order of their text, each F1 divided by their number and summed in
 * that order (so the result is the same float8).
 */
void
mlsys_multiclass_holdout_metrics(Datum state, bool isnull, MulticlassMetrics *out)
{
	MulticlassEvalState *s;
	int			K,
				k,
				j,
				present = 0;
	int		   *order;
	double		macro = 0;

	memset(out, 0, sizeof(*out));
	if (isnull)
		return;
	s = (MulticlassEvalState *) PG_DETOAST_DATUM(state);
	me_state_check(s);
	if (s->n <= 0)
		return;
	K = s->nclass;
	order = palloc(sizeof(int) * K);
	for (k = 0; k < K; k++)
	{
		double		support = 0,
					predicted = 0;

		for (j = 0; j < K; j++)
		{
			support += me_count(s)[(Size) k * K + j];
			predicted += me_count(s)[(Size) j * K + k];
		}
		if (support > 0 || predicted > 0)
			order[present++] = k;
	}
	qsort(order, present, sizeof(int), class_text_cmp);
	for (k = 0; k < present; k++)
	{
		int			c = order[k];
		double		tp = me_count(s)[(Size) c * K + c],
					support = 0,
					predicted = 0,
					precision,
					recall,
					f1;

		for (j = 0; j < K; j++)
		{
			support += me_count(s)[(Size) c * K + j];
			predicted += me_count(s)[(Size) j * K + c];
		}
		precision = predicted > 0 ? tp / predicted : 0.0;
		recall = support > 0 ? tp / support : 0.0;
		f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
		macro += f1 / present;
	}
	out->n = s->n;
	out->accuracy = s->correct / s->n;
	out->macro_f1 = macro;
	out->log_loss = -(s->logsum / s->n);
	pfree(order);
}
