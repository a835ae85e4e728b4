/*
 * labels.c — the classes of a classifier's target, in class order: read
 * from the target's distinct text forms, which the vocabulary pass gathers
 * (models/passes.c), where the target's type allows it, else by a query of
 * their own. Integers are ordered by number, other labels by their text in
 * byte order; NULL labels, a single class and more than MLSYS_MAX_CLASSES
 * are errors. Also the classifier's setup every classifying family shares:
 * the classes, the positive class and the SQL of a row's label.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "models/toolkit.h"

/* the labels of the target in class order; errors for NULL labels or one class */
static char **
discover_classes(const TrainArgs *a, int *nclasses)
{
	const char *order = (a->target_type == BOOLOID || a->target_type == INT2OID ||
						 a->target_type == INT4OID || a->target_type == INT8OID) ? "" : " COLLATE \"C\"";
	const char *t = quote_identifier(a->target);
	char	   *sql;
	char	  **classes;
	uint64		i;
	int			n = 0;

	/* qualified, so that ORDER BY sorts the column itself, not its text output */
	/* NULLS FIRST, and one row more than the class limit */
	sql = psprintf("SELECT (r.%s)::pg_catalog.text AS label, count(*) FROM %s AS r GROUP BY r.%s "
				   "ORDER BY (r.%s)%s%s NULLS FIRST LIMIT " CppAsString2(MLSYS_MAX_CLASSES) " + 1",
				   t, a->relsql, t, t,
				   (a->target_type == BOOLOID || a->target_type == INT2OID ||
					a->target_type == INT4OID || a->target_type == INT8OID) ? "" : "::pg_catalog.text",
				   order);
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", sql);
	classes = palloc(sizeof(char *) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *label = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (label == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("label column \"%s\" contains nulls", a->target),
					 errdetail("%s rows have no label.",
							   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)),
					 errhint("Train on a view that leaves out unlabelled rows.")));
		classes[n++] = pstrdup(label);
	}
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("classification needs at least two classes, the training data has %d", n)));
	if (n > MLSYS_MAX_CLASSES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("classification supports at most %d classes", MLSYS_MAX_CLASSES),
				 errdetail("The target \"%s\" has more distinct values.", a->target),
				 errhint("Group rare classes, or train a regression with algorithm \"linear\" if the target is a quantity.")));
	*nclasses = n;
	return classes;
}

/* is an integer label's type ordered by number (else by text in byte order)? */
static bool
numeric_labels(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

static int
label_cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
label_cmp_number(const void *a, const void *b)
{
	int64		x = strtoll(*(char *const *) a, NULL, 10);
	int64		y = strtoll(*(char *const *) b, NULL, 10);

	return (x > y) - (x < y);
}

/*
 * Can the labels come from the target's distinct text forms (read in the
 * vocabulary pass)? Only where two values are equal exactly when their
 * texts are: integers, enums, and text under a deterministic collation.
 */
bool
mlsys_labels_by_text(const TrainArgs *a)
{
	Oid			typid,
				collid;
	int32		typmod;

	if (numeric_labels(a->target_type) || type_is_enum(a->target_type))
		return true;
	if (a->target_type != TEXTOID && a->target_type != VARCHAROID)
		return false;
	get_atttypetypmodcoll(a->relid, get_attnum(a->relid, a->target), &typid, &typmod, &collid);
	return !OidIsValid(collid) || get_collation_isdeterministic(collid);
}

/*
 * The labels in class order from the target's mlsys._category_agg state,
 * with discover_classes's errors (NULL when the relation has no rows).
 */
static char **
classes_from_labels(const TrainArgs *a, bytea *state, int *nclasses)
{
	char	  **classes = NULL;
	double		nulls = 0;
	bool		complete = true;
	int			n = 0;

	if (state != NULL)
		complete = profile_cat_state_values(state, false, &classes, &n, &nulls);
	if (nulls > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("label column \"%s\" contains nulls", a->target),
				 errdetail("%.0f rows have no label.", nulls),
				 errhint("Train on a view that leaves out unlabelled rows.")));
	if (n < 2 && complete)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("classification needs at least two classes, the training data has %d", n)));
	if (n > MLSYS_MAX_CLASSES || !complete)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("classification supports at most %d classes", MLSYS_MAX_CLASSES),
				 errdetail("The target \"%s\" has more distinct values.", a->target),
				 errhint("Group rare classes, or train a regression with algorithm \"linear\" if the target is a quantity.")));
	qsort(classes, n, sizeof(char *),
		  numeric_labels(a->target_type) ? label_cmp_number : label_cmp_text);
	*nclasses = n;
	return classes;
}

/*
 * The classes of a training (SPI connected): from the target's state of the
 * vocabulary pass when by_text (logistic_labels_by_text), else by a query.
 */
char **
mlsys_classes(const TrainArgs *a, bool by_text, bytea *labels, int *nclasses)
{
	if (by_text)
		return classes_from_labels(a, labels, nclasses);
	return discover_classes(a, nclasses);
}

/* do two strings both spell the same number in full? */
static bool
same_number(const char *a, const char *b)
{
	char	   *ea,
			   *eb;
	double		x = strtod(a, &ea),
				y = strtod(b, &eb);

	return ea != a && eb != b && *ea == '\0' && *eb == '\0' && x == y;
}

/*
 * The classes, the positive class and the SQL of a row's feature vector and
 * 0/1 label: shared by training and cross-validation. SPI connected.
 */
FeatureSpec *
mlsys_classifier_setup(TrainArgs *a, char ***classes_out, int *nclasses_out, int *positive_out,
				 char **xsql, char **ysql)
{
	char	  **classes;
	int			nclasses,
				positive = 1;
	FeatureSpec *spec;
	bytea	   *labels = NULL;
	bool		by_text = a->target_type != BOOLOID && mlsys_labels_by_text(a);

	/* the labels come with the vocabularies when they can, else by a query */
	spec = mlsys_training_spec_labels(a, xsql, ysql, by_text ? &labels : NULL);
	if (a->target_type == BOOLOID)
	{
		/* no pass needed: NULL labels are counted by pass 1, one class by its class share */
		classes = palloc(sizeof(char *) * 2);
		classes[0] = "false";
		classes[1] = "true";
		nclasses = 2;
	}
	else
		classes = mlsys_classes(a, by_text, labels, &nclasses);
	if (a->positive_class != NULL)
	{
		for (positive = 0; positive < nclasses; positive++)
			if (strcmp(classes[positive], a->positive_class) == 0 ||
				/* a JSON number such as 1.0 names the integer label 1 */
				(a->target_type != TEXTOID && a->target_type != VARCHAROID &&
				 a->target_type != BPCHAROID && a->target_type != BOOLOID &&
				 get_typtype(a->target_type) != TYPTYPE_ENUM &&
				 same_number(classes[positive], a->positive_class)))
				break;
		if (positive == nclasses)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("positive_class \"%s\" is not a class of the target", a->positive_class)));
	}
	if (nclasses > 2 && a->positive_class != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"positive_class\" applies to binary classification only"),
				 errdetail("The target has %d classes.", nclasses)));
	if (nclasses > 2)
	{
		/* y = the class index, compared in the target's own type */
		StringInfoData buf;
		int			k;

		initStringInfo(&buf);
		appendStringInfo(&buf, "(CASE (%s)", quote_identifier(a->target));
		for (k = 0; k < nclasses; k++)
			appendStringInfo(&buf, " WHEN %s::%s THEN %d::pg_catalog.float8", quote_literal_cstr(classes[k]),
							 format_type_be_qualified(a->target_type), k);
		appendStringInfoString(&buf, " END)");
		*ysql = buf.data;
	}
	/*
	 * y = 1 for the positive class, compared in the target's own type; float8
	 * constants in a CASE, so a row costs no cast function calls (every pass
	 * evaluates y once per row)
	 */
	else if (a->target_type == BOOLOID)
		*ysql = psprintf("(CASE WHEN (%s) THEN %d::pg_catalog.float8 WHEN NOT (%s) THEN %d::pg_catalog.float8 END)",
						 quote_identifier(a->target), positive == 1 ? 1 : 0,
						 quote_identifier(a->target), positive == 1 ? 0 : 1);
	else
		*ysql = psprintf("(CASE WHEN (%s) = %s::%s THEN 1::pg_catalog.float8 WHEN (%s) IS NOT NULL THEN 0::pg_catalog.float8 END)",
						 quote_identifier(a->target), quote_literal_cstr(classes[positive]),
						 format_type_be_qualified(a->target_type), quote_identifier(a->target));
	*classes_out = classes;
	*nclasses_out = nclasses;
	*positive_out = positive;
	return spec;
}
