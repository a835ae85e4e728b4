/*
 * metrics.c — evaluation metrics as SQL aggregates, usable on any table
 * (BI dashboards run them over mlsys.predictions), all PARALLEL SAFE with a
 * combine function and a concrete state type.
 *
 *   regression  mlsys.rmse, mlsys.mae, mlsys.r2 (prediction, actual): a
 *               float8[5] state {n, Σ|e|, Σe², mean(y), Σ(y − ȳ)²}, e =
 *               prediction − actual, merged by Chan et al.'s update;
 *   accuracy    mlsys.accuracy(predicted text, actual text): {n, correct};
 *   log loss    mlsys.log_loss(probability, label bool): {n, Σ loss};
 *   ROC AUC     mlsys.auc(score, label bool): auc.c;
 *   report      mlsys.classification_report(predicted text, actual text):
 *               confusion counts per label pair in a bytea state, turned
 *               into per-class precision, recall, F1 and support.
 *
 * Definitions follow scikit-learn (mean_squared_error with squared=False,
 * mean_absolute_error, r2_score, accuracy_score, log_loss, roc_auc_score).
 * Rows where an input is NULL are skipped, as SQL aggregates do; NaN or
 * infinite inputs are errors. No rows gives NULL.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "metrics/metrics.h"

/*
 * Regression metrics state, a float8[5] updated in place:
 * { n, Σ|e|, Σe², mean(y), Σ(y − ȳ)² } with e = prediction − y.
 */
void
regmetrics_add(double *st, double pred, double y)
{
	double		e = pred - y;
	double		d;

	st[0] += 1.0;
	st[1] += fabs(e);
	st[2] += e * e;
	d = y - st[3];
	st[3] += d / st[0];
	st[4] += d * (y - st[3]);
}

double *
regmetrics_state(ArrayType *a)
{
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != 5 || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid regression metrics state")));
	return (double *) ARR_DATA_PTR(a);
}

PG_FUNCTION_INFO_V1(regression_metrics_combine);
/* regression_metrics_combine(float8[], float8[]): Chan's merge of two states */
Datum
regression_metrics_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	double	   *sa,
			   *sb;

	mlsys_agg_context(fcinfo, "mlsys._regression_metrics_combine");
	sa = regmetrics_state(a);
	sb = regmetrics_state(b);
	regmetrics_merge(sa, sb);
	PG_RETURN_ARRAYTYPE_P(a);
}

/* Chan's merge of regression metrics state sb into sa */
void
regmetrics_merge(double *sa, const double *sb)
{
	double		n,
				d;

	if (sb[0] == 0)
		return;
	if (sa[0] == 0)
	{
		memcpy(sa, sb, sizeof(double) * 5);
		return;
	}
	n = sa[0] + sb[0];
	d = sb[3] - sa[3];
	sa[4] += sb[4] + d * d * sa[0] * sb[0] / n;
	sa[3] += d * sb[0] / n;
	sa[1] += sb[1];
	sa[2] += sb[2];
	sa[0] = n;
}

PG_FUNCTION_INFO_V1(regression_metrics_final);
/*
 * regression_metrics_final(float8[]) → float8[] {n, rmse, mae, r2}.
 * r2 = 1 − SSE / Σ(y − ȳ)²; for a constant y it is 1 when every prediction
 * is exact and 0 otherwise (scikit-learn's r2_score with force_finite).
 */
Datum
regression_metrics_final(PG_FUNCTION_ARGS)
{
	double		out[4];

	if (!regmetrics_result(regmetrics_state(PG_GETARG_ARRAYTYPE_P(0)), out))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(mlsys_float8_array(out, 4));
}

/* {n, rmse, mae, r2} of a regression metrics state; false when it has no rows */
bool
regmetrics_result(const double *st, double *out)
{
	if (st[0] == 0)
		return false;
	out[0] = st[0];
	out[1] = sqrt(st[2] / st[0]);
	out[2] = st[1] / st[0];
	if (st[4] > 0)
		out[3] = 1.0 - st[2] / st[4];
	else
		out[3] = st[2] == 0 ? 1.0 : 0.0;
	return true;
}

/* a metrics state array argument, or a fresh zero state of n values when NULL */
static ArrayType *
metrics_state_arg(FunctionCallInfo fcinfo, int n)
{
	ArrayType  *a;

	if (PG_ARGISNULL(0))
	{
		double		zeros[5] = {0, 0, 0, 0, 0};

		Assert(n <= 5);
		return mlsys_float8_array(zeros, n);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != n || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid metrics aggregate state")));
	return a;
}

/* reject a NaN or infinite metric input */
void
metrics_check_finite(double v, const char *what)
{
	if (isnan(v) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must be finite, not %s", what, isnan(v) ? "NaN" : "infinity")));
}

PG_FUNCTION_INFO_V1(regression_metrics_accum);
/* regression_metrics_accum(float8[5], prediction float8, actual float8) */
Datum
regression_metrics_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state;
	double		pred,
				y;

	mlsys_agg_context(fcinfo, "mlsys._regression_metrics_accum");
	state = metrics_state_arg(fcinfo, 5);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(state);
	pred = PG_GETARG_FLOAT8(1);
	y = PG_GETARG_FLOAT8(2);
	metrics_check_finite(pred, "prediction");
	metrics_check_finite(y, "actual value");
	regmetrics_add(regmetrics_state(state), pred, y);
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(rmse_final);
/* root mean squared error: sqrt(Σe² / n) */
Datum
rmse_final(PG_FUNCTION_ARGS)
{
	double	   *st = regmetrics_state(PG_GETARG_ARRAYTYPE_P(0));

	if (st[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sqrt(st[2] / st[0]));
}

PG_FUNCTION_INFO_V1(mae_final);
/* mean absolute error: Σ|e| / n */
Datum
mae_final(PG_FUNCTION_ARGS)
{
	double	   *st = regmetrics_state(PG_GETARG_ARRAYTYPE_P(0));

	if (st[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(st[1] / st[0]);
}

PG_FUNCTION_INFO_V1(r2_final);
/* coefficient of determination: 1 − Σe² / Σ(y − ȳ)² (1 or 0 for a constant y) */
Datum
r2_final(PG_FUNCTION_ARGS)
{
	double	   *st = regmetrics_state(PG_GETARG_ARRAYTYPE_P(0));

	if (st[0] == 0)
		PG_RETURN_NULL();
	if (st[4] > 0)
		PG_RETURN_FLOAT8(1.0 - st[2] / st[4]);
	PG_RETURN_FLOAT8(st[2] == 0 ? 1.0 : 0.0);
}

PG_FUNCTION_INFO_V1(accuracy_accum);
/* accuracy_accum(float8[2] {n, correct}, predicted text, actual text): byte equality */
Datum
accuracy_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state;
	double	   *st;
	text	   *p,
			   *a;

	mlsys_agg_context(fcinfo, "mlsys._accuracy_accum");
	state = metrics_state_arg(fcinfo, 2);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(state);
	p = PG_GETARG_TEXT_PP(1);
	a = PG_GETARG_TEXT_PP(2);
	st = (double *) ARR_DATA_PTR(state);
	st[0] += 1;
	if (VARSIZE_ANY_EXHDR(p) == VARSIZE_ANY_EXHDR(a) &&
		memcmp(VARDATA_ANY(p), VARDATA_ANY(a), VARSIZE_ANY_EXHDR(p)) == 0)
		st[1] += 1;
	PG_RETURN_ARRAYTYPE_P(state);
}

/*
 * log_loss_accum(float8[2] {n, Σ loss}, probability float8, label bool).
 * The probability of the positive class is clipped to [ε, 1 − ε] with ε the
 * float8 machine epsilon, as scikit-learn's log_loss does.
 */
PG_FUNCTION_INFO_V1(log_loss_accum);
Datum
log_loss_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state;
	double	   *st;
	double		prob;

	mlsys_agg_context(fcinfo, "mlsys._log_loss_accum");
	state = metrics_state_arg(fcinfo, 2);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(state);
	prob = PG_GETARG_FLOAT8(1);
	if (!(prob >= 0.0 && prob <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("probability must be between 0 and 1, not %g", prob)));
	prob = Max(DBL_EPSILON, Min(1.0 - DBL_EPSILON, prob));
	st = (double *) ARR_DATA_PTR(state);
	st[0] += 1;
	st[1] -= PG_GETARG_BOOL(2) ? log(prob) : log1p(-prob);
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(sum2_combine);
/* sum2_combine(float8[2], float8[2]): elementwise sum (accuracy, log loss) */
Datum
sum2_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a,
			   *b;
	double	   *sa,
			   *sb;

	mlsys_agg_context(fcinfo, "mlsys._sum2_combine");
	a = metrics_state_arg(fcinfo, 2);
	if (PG_ARGISNULL(1))
		PG_RETURN_ARRAYTYPE_P(a);
	b = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(b) != 1 || ARR_DIMS(b)[0] != 2 || ARR_HASNULL(b) || ARR_ELEMTYPE(b) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid metrics aggregate state")));
	sa = (double *) ARR_DATA_PTR(a);
	sb = (double *) ARR_DATA_PTR(b);
	sa[0] += sb[0];
	sa[1] += sb[1];
	PG_RETURN_ARRAYTYPE_P(a);
}

PG_FUNCTION_INFO_V1(mean2_final);
/* mean2_final(float8[2] {n, sum}): sum / n, NULL without rows */
Datum
mean2_final(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	double	   *st;

	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != 2 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid metrics aggregate state")));
	st = (double *) ARR_DATA_PTR(a);
	if (st[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(st[1] / st[0]);
}

/*
 * Classification report state: a bytea holding the confusion counts of
 * (predicted, actual) label pairs as entries { int64 count; int32 plen;
 * int32 alen; bytes of both labels, padded to 8 }. VARSIZE is the allocated
 * size, used the bytes in use. Linear search: fine for the tens of classes a
 * report is read for.
 */
#define REPORT_LAYOUT 0x43520001	/* "CR", layout version 1 */

typedef struct ReportState
{
	int32		vl_len_;
	uint32		layout;
	int64		used;			/* bytes of entries in use */
	char		entries[FLEXIBLE_ARRAY_MEMBER];
} ReportState;

typedef struct ReportEntry
{
	int64		count;
	int32		plen;
	int32		alen;
	char		labels[FLEXIBLE_ARRAY_MEMBER];	/* predicted then actual */
} ReportEntry;

#define REPORT_ENTRY_SIZE(plen, alen) MAXALIGN(offsetof(ReportEntry, labels) + (plen) + (alen))

static void
report_check(const ReportState *s)
{
	int64		off = 0;
	int64		cap = (int64) VARSIZE(s) - (int64) offsetof(ReportState, entries);

	if (VARATT_IS_SHORT(s) || VARSIZE(s) < offsetof(ReportState, entries) ||
		s->layout != REPORT_LAYOUT || s->used < 0 || s->used > cap)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid classification report aggregate state")));
	/* every entry must lie inside the used bytes */
	while (off < s->used)
	{
		const ReportEntry *e = (const ReportEntry *) (s->entries + off);

		if (s->used - off < (int64) offsetof(ReportEntry, labels) ||
			e->plen < 0 || e->alen < 0 || e->count < 0 ||
			(int64) REPORT_ENTRY_SIZE((int64) e->plen, (int64) e->alen) > s->used - off)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid classification report aggregate state")));
		off += REPORT_ENTRY_SIZE(e->plen, e->alen);
	}
}

/* add count to the (p, a) entry of s, growing it (into a new state) if needed */
static ReportState *
report_add(ReportState *s, const char *p, int plen, const char *a, int alen, int64 count)
{
	int64		off = 0;
	Size		esize = REPORT_ENTRY_SIZE(plen, alen);
	ReportEntry *e;

	if (s != NULL)
	{
		while (off < s->used)
		{
			e = (ReportEntry *) (s->entries + off);
			if (e->plen == plen && e->alen == alen &&
				memcmp(e->labels, p, plen) == 0 && memcmp(e->labels + plen, a, alen) == 0)
			{
				e->count += count;
				return s;
			}
			off += REPORT_ENTRY_SIZE(e->plen, e->alen);
		}
	}
	if (s == NULL || s->used + (int64) esize > (int64) (VARSIZE(s) - offsetof(ReportState, entries)))
	{
		Size		cap = s ? VARSIZE(s) - offsetof(ReportState, entries) : 0;
		Size		need = (s ? s->used : 0) + esize;
		ReportState *n;

		cap = Max(Max(cap * 2, 1024), need);
		if (offsetof(ReportState, entries) + cap > MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct label pairs for a classification report")));
		n = palloc0(offsetof(ReportState, entries) + cap);
		SET_VARSIZE(n, offsetof(ReportState, entries) + cap);
		n->layout = REPORT_LAYOUT;
		if (s != NULL)
		{
			n->used = s->used;
			memcpy(n->entries, s->entries, s->used);
		}
		s = n;
	}
	e = (ReportEntry *) (s->entries + s->used);
	e->count = count;
	e->plen = plen;
	e->alen = alen;
	memcpy(e->labels, p, plen);
	memcpy(e->labels + plen, a, alen);
	s->used += esize;
	return s;
}

PG_FUNCTION_INFO_V1(report_accum);
/* report_accum(bytea, predicted text, actual text) */
Datum
report_accum(PG_FUNCTION_ARGS)
{
	ReportState *s = NULL;
	text	   *p,
			   *a;

	mlsys_agg_context(fcinfo, "mlsys._report_accum");
	if (!PG_ARGISNULL(0))
	{
		s = (ReportState *) PG_GETARG_POINTER(0);
		report_check(s);
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	p = PG_GETARG_TEXT_PP(1);
	a = PG_GETARG_TEXT_PP(2);
	s = report_add(s, VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), 1);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(report_combine);
/* report_combine(bytea, bytea): the counts of both */
Datum
report_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	ReportState *a,
			   *b;
	int64		off = 0;

	mlsys_agg_context(fcinfo, "mlsys._report_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (ReportState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	report_check(b);
	a = (ReportState *) PG_GETARG_POINTER(0);
	report_check(a);
	while (off < b->used)
	{
		const ReportEntry *e = (const ReportEntry *) (b->entries + off);

		a = report_add(a, e->labels, e->plen, e->labels + e->plen, e->alen, e->count);
		off += REPORT_ENTRY_SIZE(e->plen, e->alen);
	}
	PG_RETURN_POINTER(a);
}

typedef struct ReportClass
{
	const char *label;
	int			len;
	double		tp,
				predicted,
				support;
} ReportClass;

/* byte order of labels, shorter first on a common prefix (C collation) */
static int
report_class_cmp(const void *x, const void *y)
{
	const ReportClass *a = x,
			   *b = y;
	int			c = memcmp(a->label, b->label, Min(a->len, b->len));

	return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

static int
report_find_class(ReportClass *classes, int n, const char *label, int len)
{
	int			i;

	for (i = 0; i < n; i++)
		if (classes[i].len == len && memcmp(classes[i].label, label, len) == 0)
			return i;
	return -1;
}

static void
report_append_scores(StringInfo buf, double precision, double recall, double f1, double support)
{
	appendStringInfo(buf, "{\"precision\": %s, \"recall\": %s, \"f1-score\": %s, \"support\": %.0f}",
					 float8out_internal(precision), float8out_internal(recall),
					 float8out_internal(f1), support);
}

PG_FUNCTION_INFO_V1(report_final);
/*
 * The report, as scikit-learn's classification_report(output_dict=True):
 * per class (labels of either column, in byte order) precision = tp /
 * predicted, recall = tp / support, F1 = 2PR / (P + R), each 0 where its
 * denominator is 0 (zero_division's default); then "accuracy", "macro avg"
 * (unweighted mean over classes) and "weighted avg" (weighted by support).
 */
Datum
report_final(PG_FUNCTION_ARGS)
{
	ReportState *s;
	ReportClass *classes;
	int			nclasses = 0,
				maxclasses,
				i;
	int64		off;
	double		total = 0,
				correct = 0,
				macro[3] = {0, 0, 0},
				weighted[3] = {0, 0, 0};
	StringInfoData buf;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (ReportState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	report_check(s);
	if (s->used == 0)
		PG_RETURN_NULL();

	maxclasses = 2 * (int) (s->used / (int64) offsetof(ReportEntry, labels)) + 2;
	classes = palloc0(sizeof(ReportClass) * maxclasses);
	for (off = 0; off < s->used; off += REPORT_ENTRY_SIZE(((ReportEntry *) (s->entries + off))->plen,
														  ((ReportEntry *) (s->entries + off))->alen))
	{
		const ReportEntry *e = (const ReportEntry *) (s->entries + off);
		const char *labels[2] = {e->labels, e->labels + e->plen};
		int			lens[2] = {e->plen, e->alen};
		int			k;

		for (k = 0; k < 2; k++)
			if (report_find_class(classes, nclasses, labels[k], lens[k]) < 0)
			{
				classes[nclasses].label = labels[k];
				classes[nclasses].len = lens[k];
				nclasses++;
			}
	}
	for (i = 0; i < nclasses; i++)
		if (memchr(classes[i].label, '\0', classes[i].len) != NULL ||
			!pg_verifymbstr(classes[i].label, classes[i].len, true))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid classification report aggregate state")));
	qsort(classes, nclasses, sizeof(ReportClass), report_class_cmp);
	for (off = 0; off < s->used; off += REPORT_ENTRY_SIZE(((ReportEntry *) (s->entries + off))->plen,
														  ((ReportEntry *) (s->entries + off))->alen))
	{
		const ReportEntry *e = (const ReportEntry *) (s->entries + off);
		int			pi = report_find_class(classes, nclasses, e->labels, e->plen);
		int			ai = report_find_class(classes, nclasses, e->labels + e->plen, e->alen);

		classes[pi].predicted += e->count;
		classes[ai].support += e->count;
		if (pi == ai)
		{
			classes[pi].tp += e->count;
			correct += e->count;
		}
		total += e->count;
	}

	if (total <= 0)
		PG_RETURN_NULL();
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < nclasses; i++)
	{
		ReportClass *c = &classes[i];
		double		precision = c->predicted > 0 ? c->tp / c->predicted : 0.0;
		double		recall = c->support > 0 ? c->tp / c->support : 0.0;
		double		f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;

		escape_json(&buf, pnstrdup(c->label, c->len));
		appendStringInfoString(&buf, ": ");
		report_append_scores(&buf, precision, recall, f1, c->support);
		appendStringInfoString(&buf, ", ");
		macro[0] += precision / nclasses;
		macro[1] += recall / nclasses;
		macro[2] += f1 / nclasses;
		weighted[0] += precision * c->support / total;
		weighted[1] += recall * c->support / total;
		weighted[2] += f1 * c->support / total;
	}
	appendStringInfo(&buf, "\"accuracy\": %s, \"macro avg\": ", float8out_internal(correct / total));
	report_append_scores(&buf, macro[0], macro[1], macro[2], total);
	appendStringInfoString(&buf, ", \"weighted avg\": ");
	report_append_scores(&buf, weighted[0], weighted[1], weighted[2], total);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
