/*
 * passes.c — the training toolkit every feature-based family uses, all of it
 * run through SPI in the caller's transaction: the feature spec of the
 * training relation, the first pass with imputation on demand, the query of a
 * pass aggregate over the labelled rows, the split's checks, the training
 * profile and the metrics of the split.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "models/toolkit.h"

/* the preprocessing hyperparameters given, for the stored hyperparams object */
void
mlsys_append_preprocessing_params(const TrainArgs *a, StringInfo buf)
{
	if (a->task != NULL)
		appendStringInfo(buf, "%s\"task\": \"%s\"", buf->len > 1 ? ", " : "", a->task);
	if (a->impute_given)
		appendStringInfo(buf, "%s\"impute\": \"%s\"", buf->len > 1 ? ", " : "", a->impute);
	if (a->scale_given)
		appendStringInfo(buf, "%s\"scale\": \"%s\"", buf->len > 1 ? ", " : "",
						 a->scale ? "standard" : "none");
}

/*
 * The "task" hyperparameter: regression, binary or multiclass overrides the
 * task inferred from the target (an integer target with few distinct values
 * is otherwise a classifier, which is wrong for counts).
 */
const char *
mlsys_task_hyperparam(Jsonb *hp)
{
	JsonbValue	key;
	JsonbValue *v;
	char	   *task;

	if (!JB_ROOT_IS_OBJECT(hp))
		return NULL;			/* the family's parse raises the error */
	key.type = jbvString;
	key.val.string.val = "task";
	key.val.string.len = 4;
	v = findJsonbValueFromContainer(&hp->root, JB_FOBJECT, &key);
	if (v == NULL)
		return NULL;
	task = v->type == jbvString ? pnstrdup(v->val.string.val, v->val.string.len) : "";
	if (strcmp(task, "regression") != 0 && strcmp(task, "binary") != 0 &&
		strcmp(task, "multiclass") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"task\" must be \"regression\", \"binary\" or \"multiclass\"")));
	return task;
}

/*
 * Whether a's target holds classes, for a family that learns both kinds
 * (boosted trees): the "task" hyperparameter when given, else labels
 * (booleans, text, enums) are classes, an integer target with at most 20
 * distinct values too (as mlsys.train settles algorithm NULL), and any
 * other number is a regression target. SPI connected.
 */
bool
mlsys_target_has_classes(const TrainArgs *a)
{
	Oid			t = a->target_type;
	Datum		d;
	char	   *sql;

	if (a->task != NULL)
		return strcmp(a->task, "regression") != 0;
	if (t == BOOLOID || t == TEXTOID || t == VARCHAROID || t == BPCHAROID ||
		get_typtype(t) == TYPTYPE_ENUM)
		return true;
	if (t != INT2OID && t != INT4OID && t != INT8OID)
		return false;
	sql = psprintf("SELECT count(*) FROM (SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL LIMIT 21) s",
				   quote_identifier(a->target), a->relsql, quote_identifier(a->target));
	if (!mlsys_spi_single_value(sql, 0, NULL, NULL, &d))
		elog(ERROR, "could not count the distinct target values");
	return DatumGetInt64(d) <= 20;
}

/* a classifier's classes against its "task" hyperparameter, when given */
void
mlsys_check_task_classes(const TrainArgs *a, int nclasses)
{
	if (a->task == NULL || (strcmp(a->task, "binary") == 0) == (nclasses == 2))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_plural("target column \"%s\" has %d class, which does not make a %s task",
						   "target column \"%s\" has %d classes, which does not make a %s task",
						   (unsigned long) nclasses, a->target, nclasses, a->task),
			 errhint("A binary task has two classes and a multiclass task more than two.")));
}

/* does the training gather a drift baseline in its passes? */
static bool
gathers_baseline(const TrainArgs *a)
{
	return a->model != NULL && mlsys_capture_baseline_on_train;
}

/*
 * The vocabulary of every categorical column in one pass (SPI connected):
 * one mlsys._category_agg per column over the rows with a target or, when
 * the training gathers a drift baseline or needs a classifier's labels
 * (then *labels is the target's state, NULL when the relation is empty),
 * over every row, labelled ones marked; each column's baseline profile then
 * comes from the same state. A column whose state overflowed (more distinct
 * values than it tracks) gets its vocabulary from a query of its own,
 * unless it already has too many categories.
 */
static void
resolve_vocabularies(const TrainArgs *a, FeatureSpec *spec, bytea **labels)
{
	bool		baseline = gathers_baseline(a);
	bool		every_row = baseline || labels != NULL;
	char	   *labelled = psprintf("r.%s IS NOT NULL", quote_identifier(a->target));
	StringInfoData sql;
	int			i,
				k = 0;
	bool		isnull;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];

		if (!c->categorical)
			continue;
		appendStringInfo(&sql, "%smlsys._category_agg((r.%s)::pg_catalog.text, %s, %s)",
						 k++ > 0 ? ", " : "", quote_identifier(c->name),
						 quote_literal_cstr(c->name), every_row ? labelled : "true");
	}
	if (labels != NULL)
		appendStringInfo(&sql, "%smlsys._category_agg((r.%s)::pg_catalog.text, %s, true)",
						 k > 0 ? ", " : "", quote_identifier(a->target),
						 quote_literal_cstr(a->target));
	else if (k == 0)
		return;
	appendStringInfo(&sql, " FROM %s AS r", a->relsql);
	if (!every_row)
		appendStringInfo(&sql, " WHERE %s", labelled);
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", sql.data);
	if (labels != NULL)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, k + 1, &isnull);

		*labels = isnull ? NULL : DatumGetByteaPCopy(d);
	}
	k = 0;
	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];
		char	  **values = NULL;
		int			n = 0;
		bool		has_null = false,
					complete = true;
		Datum		d;

		if (!c->categorical)
			continue;
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, ++k, &isnull);
		if (!isnull)
		{
			bytea	   *state = DatumGetByteaP(d);

			double		nulls;

			complete = profile_cat_state_values(state, true, &values, &n, &nulls);
			has_null = nulls > 0;
			if (baseline)
				c->baseline_profile = profile_cat_state_json(state);
		}
		if (!complete && n <= MLSYS_MAX_CATEGORIES)
			preprocess_resolve_categories(c, a->relsql, a->target);
		else
			preprocess_set_categories(c, values, n, has_null, a->relsql);
	}
}

/*
 * The feature spec of a training relation, with the SQL expressions of a
 * row's feature vector and target (SPI connected).
 */
FeatureSpec *
mlsys_training_spec(const TrainArgs *a, char **xsql, char **ysql)
{
	return mlsys_training_spec_labels(a, xsql, ysql, NULL);
}

/*
 * The same, and when labels is not NULL a classifier's labels read in the
 * same pass as the vocabularies: the state of mlsys._category_agg over the
 * target (see resolve_vocabularies).
 */
FeatureSpec *
mlsys_training_spec_labels(const TrainArgs *a, char **xsql, char **ysql, bytea **labels)
{
	FeatureSpec *spec = features_from_catalog(a->relid, a->target, a->features);

	spec->impute = a->impute;
	features_resolve_lengths(spec, a->relsql, a->target);
	resolve_vocabularies(a, spec, labels);
	features_expand_names(spec);
	/* the family's estimate, twice for cross-validation's fold states */
	mlsys_check_training_memory(a->family->memory_estimate(a, spec->nfeat) *
								(a->model == NULL ? 2.0 : 1.0), "training");
	*xsql = features_sql_vector(spec);
	*ysql = psprintf("(%s)::pg_catalog.float8", quote_identifier(a->target));
	return spec;
}

/* does the spec one-hot encode a column? (then least squares is rank-deficient) */
bool
mlsys_spec_has_categorical(const FeatureSpec *spec)
{
	int			i;

	for (i = 0; i < spec->ncolumns; i++)
		if (spec->columns[i].categorical)
			return true;
	return false;
}

/* could a missing value in the training data still be imputed? */
static bool
spec_can_impute(const FeatureSpec *spec)
{
	int			i;

	if (strcmp(spec->impute, "error") == 0)
		return false;
	for (i = 0; i < spec->ncolumns; i++)
		if (!spec->columns[i].categorical && spec->columns[i].length == 0 &&
			!spec->columns[i].has_impute)
			return true;
	return false;
}

/*
 * Run the first pass of a training (SPI connected; the result stays in
 * SPI_tuptable). The feature vector expression imputes nothing until the data
 * shows a missing value: a NULL or NaN in a scalar numeric feature then stops
 * the pass with ERRCODE_NULL_VALUE_NOT_ALLOWED, which is caught here (the
 * pass runs in a subtransaction) unless the spec cannot impute. Returns false
 * when it was caught: the caller computes the imputed values with
 * mlsys_impute_and_rebuild and runs the pass again. Clean data (the common
 * case) thus costs no extra pass.
 */
bool
mlsys_try_first_pass(const FeatureSpec *spec, const char *sql, int nargs, Oid *types, Datum *values)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	if (!spec_can_impute(spec))
	{
		if (SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		return true;
	}
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		if (SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* an internal subtransaction must be closed before anything else */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_NULL_VALUE_NOT_ALLOWED)
			ReThrowError(edata);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* the data has missing values: compute the imputed values, rebuild the vector expression */
void
mlsys_impute_and_rebuild(const TrainArgs *a, FeatureSpec *spec, char **xsql)
{
	preprocess_impute_from_data(spec, a->relsql, a->target);
	*xsql = features_sql_vector(spec);
}

/* after a first pass over clean data: imputed values for scoring from its means */
void
mlsys_impute_for_scoring(const TrainArgs *a, FeatureSpec *spec, LinregState *s)
{
	double	   *means = palloc(sizeof(double) * spec->nfeat);
	double		sd,
				mn,
				mx;
	int			j;

	for (j = 0; j < spec->nfeat; j++)
		linreg_state_column_stats(s, j, &means[j], &sd, &mn, &mx);
	preprocess_impute_from_means(spec, means, a->relsql, a->target);
}

/* the training-split profile: per-feature and target summary statistics */
char *
mlsys_build_profile(LinregState *s, const FeatureSpec *spec)
{
	StringInfoData buf;
	int			j;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": " INT64_FORMAT ", \"features\": [", linreg_state_rows(s));
	for (j = 0; j <= spec->nfeat; j++)
	{
		double		mean,
					sd,
					mn,
					mx;

		linreg_state_column_stats(s, j, &mean, &sd, &mn, &mx);
		if (j == spec->nfeat)
			appendStringInfoString(&buf, "], \"target\": {");
		else
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, "{\"name\": ");
			escape_json(&buf, spec->names[j]);
			appendStringInfoString(&buf, ", ");
		}
		appendStringInfoString(&buf, "\"mean\": ");
		mlsys_append_json_number(&buf, mean);
		appendStringInfoString(&buf, ", \"std\": ");
		mlsys_append_json_number(&buf, sd);
		appendStringInfoString(&buf, ", \"min\": ");
		mlsys_append_json_number(&buf, mn);
		appendStringInfoString(&buf, ", \"max\": ");
		mlsys_append_json_number(&buf, mx);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* errors for an empty training or holdout split */
void
mlsys_check_split(const TrainArgs *a, int64 seen, int64 train_rows, int64 holdout)
{
	if (train_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the training split is empty"),
				 errdetail_plural("The " INT64_FORMAT " row fell into the holdout.",
								  "All " INT64_FORMAT " rows fell into the holdout.", (unsigned long) seen, seen),
				 errhint("Use more rows or a smaller test_size.")));
	if (a->test_size > 0 && holdout == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the holdout split is empty"),
				 errdetail_plural("The " INT64_FORMAT " row did not fall into the holdout for test_size %g.",
								  "None of the " INT64_FORMAT " rows fell into the holdout for test_size %g.",
								  (unsigned long) seen, seen, a->test_size),
				 errhint("Use more rows, a larger test_size, or test_size 0 to report training metrics.")));
}

/*
 * Build the query of a Newton pass of `aggregate` (mlsys._logreg_step_agg,
 * mlsys._softmax_fold_step_agg, ...): folds 0 for training, else the
 * cross-validation variant.
 */
void
mlsys_pass_query(PassQuery *q, const TrainArgs *a, const char *aggregate,
				 const char *xsql, const char *ysql, int folds, const double *cuts, int ncuts)
{
	memset(q, 0, sizeof(*q));
	q->sql = psprintf("SELECT mlsys.%s(%s, %s, $1, $2, $3%s) FROM %s WHERE %s IS NOT NULL",
					  aggregate, ysql, xsql, folds > 0 ? ", $4" : "", a->relsql,
					  quote_identifier(a->target));
	q->types[0] = INT8OID;
	q->args[0] = Int64GetDatum((int64) a->seed);
	q->types[1] = FLOAT8ARRAYOID;
	q->args[1] = PointerGetDatum(mlsys_float8_array(cuts, ncuts));
	if (folds > 0)
	{
		/* $3 is the fold left out, set per fold */
		q->nargs = 4;
		q->types[2] = INT4OID;
		q->types[3] = FLOAT8ARRAYOID;
	}
	else
	{
		q->nargs = 3;
		q->types[2] = FLOAT8ARRAYOID;
	}
	q->cxt = CurrentMemoryContext;
}

/*
 * The stratified split of a classifier, for its metrics object: ', "split":
 * {"stratified": true, "class_rows": [...], "cuts": [...]}' (rows per class
 * in class order, and each class's cut on u; mlsys._holdout_predicate reads
 * the cuts back).
 */
void
mlsys_append_split_metrics(StringInfo buf, const TrainArgs *a, const TrainResult *r)
{
	int			k;

	appendStringInfoString(buf, ", \"split\": {\"stratified\": true, \"class_rows\": [");
	for (k = 0; k < r->nclasses; k++)
		appendStringInfo(buf, "%s" INT64_FORMAT, k > 0 ? ", " : "", r->class_rows[k]);
	appendStringInfoString(buf, "], \"cuts\": [");
	for (k = 0; k < r->nclasses; k++)
	{
		if (k > 0)
			appendStringInfoString(buf, ", ");
		mlsys_append_json_number(buf, r->cuts[k]);
	}
	appendStringInfoString(buf, "]}");
}

/* a binary classifier's metrics, as the first keys of a JSON object (left open) */
void
mlsys_append_binary_metrics(StringInfo buf, double auc, double logloss,
					  double tp, double fp, double fn, double n)
{
	double		precision = tp + fp > 0 ? tp / (tp + fp) : 0.0;
	double		recall = tp + fn > 0 ? tp / (tp + fn) : 0.0;

	appendStringInfoString(buf, "{\"accuracy\": ");
	/* correct = tp + tn = n − fp − fn */
	mlsys_append_json_number(buf, (n - fp - fn) / n);
	appendStringInfoString(buf, ", \"precision\": ");
	mlsys_append_json_number(buf, precision);
	appendStringInfoString(buf, ", \"recall\": ");
	mlsys_append_json_number(buf, recall);
	appendStringInfoString(buf, ", \"f1\": ");
	mlsys_append_json_number(buf, precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0);
	appendStringInfoString(buf, ", \"auc\": ");
	mlsys_append_json_number(buf, auc);
	appendStringInfoString(buf, ", \"log_loss\": ");
	mlsys_append_json_number(buf, logloss);
}

/*
 * The memory estimate of a training whose passes hold the first pass's
 * statistics: a pass's state, a merged copy and the solver's matrix, (p + 1)²
 * doubles each.
 */
double
mlsys_stats_memory_estimate(const TrainArgs *a, int nfeat)
{
	return 3.0 * (nfeat + 1.0) * (nfeat + 1.0) * sizeof(double);
}

/* a JSON number hyperparameter as float8 */
double
mlsys_hyperparam_number(JsonbValue *v, const char *key)
{
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"%s\" must be a number", key)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/*
 * Walk the hyperparameters of a training: every key goes first to the
 * family's own parser (family_key, which returns false for a key it does not
 * take), then to the preprocessing keys every feature-based family takes
 * ("impute", and "scale" where the family can standardize). Any other key is
 * an error with the family's hint. The family has set its own defaults.
 */
void
mlsys_parse_hyperparams(TrainArgs *a, HyperparamKeyFn family_key, bool can_standardize,
						const char *hint)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	a->impute = "mean";
	a->impute_given = false;
	a->scale = true;
	a->scale_given = false;
	if (!JB_ROOT_IS_OBJECT(a->hp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams must be a JSON object")));
	it = JsonbIteratorInit(&a->hp->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (family_key != NULL && family_key(a, key, &v))
			continue;
		if (strcmp(key, "task") == 0)
			continue;			/* read before the family was settled (mlsys_task_arg) */
		if (strcmp(key, "impute") == 0)
		{
			char	   *m = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : "";

			if (strcmp(m, "mean") != 0 && strcmp(m, "median") != 0 &&
				strcmp(m, "zero") != 0 && strcmp(m, "error") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"impute\" must be \"mean\", \"median\", \"zero\" or \"error\"")));
			a->impute = m;
			a->impute_given = true;
		}
		else if (strcmp(key, "scale") == 0)
		{
			char	   *m = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : "";

			if (strcmp(m, "standard") != 0 && strcmp(m, "none") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"scale\" must be \"standard\" or \"none\"")));
			if (!can_standardize && strcmp(m, "standard") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("\"scale\": \"standard\" is available for algorithm \"logistic\" only"),
						 errdetail("Least squares without a penalty gives the same predictions either way.")));
			a->scale = strcmp(m, "standard") == 0;
			a->scale_given = true;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized hyperparameter \"%s\" for algorithm \"%s\"",
							key, a->algorithm),
					 errhint("%s", hint)));
	}
}

/*
 * Whether a training row's feature columns are all present (and its scalar
 * numeric ones not NaN), as SQL over the relation r: only such rows get a
 * prediction in the drift baseline, as mlsys._capture_baseline predicts.
 */
char *
mlsys_baseline_complete_sql(const FeatureSpec *spec)
{
	StringInfoData guard;
	int			i;

	initStringInfo(&guard);
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];
		const char *col = quote_identifier(c->name);

		/*
		 * A float8[] column's missing values are the evaluation's to see in
		 * the feature vector (a classifier's rows all have labels, so a bad
		 * array has already failed its training).
		 */
		if (!c->categorical && c->length > 0)
			continue;
		appendStringInfo(&guard, "%sr.%s IS NOT NULL", guard.len > 0 ? " AND " : "", col);
		if (!c->categorical && c->length == 0)
			appendStringInfo(&guard, " AND (r.%s)::pg_catalog.float8 OPERATOR(pg_catalog.<>) 'NaN'", col);
	}
	return guard.len > 0 ? guard.data : "true";
}

/*
 * The drift baseline of a training, gathered by its evaluation pass: the
 * select-list items (", count(*), <profile aggregate> ...", see
 * profile_baseline_sql) that the family appends after its evaluation
 * aggregate, whose query must read every row of the relation, named r.
 * pred_expr is the prediction of a row's feature vector by the fitted model
 * (evaluated only where mlsys_baseline_complete_sql holds); NULL when the
 * family's evaluation aggregate profiles the prediction and the target
 * itself (mlsys_baseline_result then takes their JSON). Returns "" when the
 * training captures no baseline (mlsys.capture_baseline off, or
 * cross-validation).
 */
char *
mlsys_baseline_sql(const TrainArgs *a, const FeatureSpec *spec, const char *pred_expr,
				   bool pred_categorical, BaselinePlan *plan)
{
	StringInfoData buf;
	int			i;

	memset(plan, 0, sizeof(*plan));
	if (!gathers_baseline(a))
		return "";
	plan->names = palloc(sizeof(char *) * Max(spec->ncolumns, 1));
	plan->categorical = palloc(sizeof(bool) * Max(spec->ncolumns, 1));
	plan->given = palloc(sizeof(char *) * Max(spec->ncolumns, 1));
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];

		/* float8[] columns are not profiled */
		if (OidIsValid(get_element_type(c->typid)))
			continue;
		plan->names[plan->ncols] = c->name;
		plan->categorical[plan->ncols] = profile_type_is_categorical(c->typid);
		plan->given[plan->ncols] = c->baseline_profile;
		plan->ncols++;
	}
	plan->pred_categorical = pred_categorical;
	plan->target_categorical = a->classification || profile_type_is_categorical(a->target_type);
	plan->by_family = pred_expr == NULL;
	plan->active = true;
	initStringInfo(&buf);
	profile_baseline_sql(&buf, plan->ncols, plan->names, plan->categorical, plan->given,
						 pred_expr == NULL ? NULL :
						 psprintf("CASE WHEN %s THEN %s END", mlsys_baseline_complete_sql(spec),
								  pred_expr),
						 pred_categorical, pred_expr == NULL ? NULL : a->target,
						 plan->target_categorical);
	return buf.data;
}

/*
 * The baseline from the evaluation pass's row (SPI), its items from column
 * first on; rows, pred_json and target_json are the row count and the
 * profiles the family's aggregate gathered (-1 and NULL when they are
 * columns of the row).
 */
void
mlsys_baseline_result(const TrainArgs *a, const BaselinePlan *plan, int first, int64 rows,
					  const char *pred_json, const char *target_json, TrainResult *r)
{
	if (!plan->active)
		return;
	r->baseline = profile_baseline_json(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, first,
										plan->ncols, plan->names, plan->categorical, plan->given,
										true,
										plan->pred_categorical, a->target,
										plan->target_categorical, a->relsql, rows, pred_json,
										target_json);
}

/*
 * A classifier's evaluation pass: aggregate(y, x, seed, cuts, params,
 * every_row) over the labelled rows, with the drift baseline (pred_expr, see
 * mlsys_baseline_sql) gathered over every row of the relation in the same
 * scan; the labelled rows are therefore a FILTER. args holds the four
 * parameters. Returns the aggregate's value, valid until the caller frees
 * SPI_tuptable; the baseline goes to r, in the memory context cxt.
 */
Datum
mlsys_classifier_eval_pass(const TrainArgs *a, const FeatureSpec *spec, const char *aggregate,
						   const char *xsql, const char *ysql, Datum *args,
						   const char *pred_expr, bool pred_categorical, MemoryContext cxt,
						   TrainResult *r, bool *isnull)
{
	Oid			types[4] = {INT8OID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, BOOLOID};
	BaselinePlan baseline;
	char	   *sql;
	Datum		result;

	sql = psprintf("SELECT %s(%s, %s, $1, $2, $3, $4) FILTER (WHERE r.%s IS NOT NULL)%s FROM %s AS r",
				   aggregate, ysql, xsql, quote_identifier(a->target),
				   mlsys_baseline_sql(a, spec, pred_expr, pred_categorical, &baseline), a->relsql);
	if (SPI_execute_with_args(sql, 4, types, args, NULL, true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "holdout evaluation failed");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	MemoryContextSwitchTo(cxt);
	mlsys_baseline_result(a, &baseline, 2, -1, NULL, NULL, r);
	return result;
}
