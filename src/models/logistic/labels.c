/*
 * labels.c — the classes of a classifier's target, in class order: read
 * from the target's distinct text forms, which the vocabulary pass gathers
 * (models/passes.c), where the target's type allows it, else by a query of
 * their own. Integers are ordered by number, other labels by their text in
 * byte order; NULL labels, a single class and more than MLSYS_MAX_CLASSES
 * are errors.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "models/logistic/logistic.h"

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
logistic_labels_by_text(const TrainArgs *a)
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
logistic_classes(const TrainArgs *a, bool by_text, bytea *labels, int *nclasses)
{
	if (by_text)
		return classes_from_labels(a, labels, nclasses);
	return discover_classes(a, nclasses);
}
