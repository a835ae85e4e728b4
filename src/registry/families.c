/*
 * families.c — the table of model families. Adding a family is one folder
 * under models/ and one line here: the training driver, the scoring cache,
 * export and import find it through mlsys_family_by_algorithm and
 * mlsys_family_by_kind.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/float.h"

#include "registry/registry.h"
#include "models/linear/linear.h"
#include "models/logistic/logistic.h"
#include "models/trees/trees.h"
#include "models/als/als.h"

const ModelFamily *const mlsys_families[] = {
	&linear_family,
	&logistic_family,
	&trees_family,
	&als_family,
	NULL
};

/* the family an algorithm name belongs to, or NULL */
const ModelFamily *
mlsys_family_by_algorithm(const char *algorithm)
{
	int			i,
				j;

	for (i = 0; mlsys_families[i] != NULL; i++)
		for (j = 0; mlsys_families[i]->algorithms[j] != NULL; j++)
			if (strcmp(mlsys_families[i]->algorithms[j], algorithm) == 0)
				return mlsys_families[i];
	return NULL;
}

/* the family that stores blobs of this kind, or NULL */
const ModelFamily *
mlsys_family_by_kind(ModelKind kind)
{
	int			i,
				j;

	for (i = 0; mlsys_families[i] != NULL; i++)
		for (j = 0; mlsys_families[i]->kinds[j] != 0; j++)
			if (mlsys_families[i]->kinds[j] == (int) kind)
				return mlsys_families[i];
	return NULL;
}

/* the algorithms mlsys.train takes, for hints: "linear", "ridge" and "logistic" */
const char *
mlsys_algorithm_list(void)
{
	StringInfoData buf;
	const char *last = NULL;
	int			i,
				j;

	initStringInfo(&buf);
	for (i = 0; mlsys_families[i] != NULL; i++)
		for (j = 0; mlsys_families[i]->train != NULL && mlsys_families[i]->algorithms[j] != NULL; j++)
		{
			if (last != NULL)
				appendStringInfo(&buf, "%s\"%s\"", buf.len > 0 ? ", " : "", last);
			last = mlsys_families[i]->algorithms[j];
		}
	appendStringInfo(&buf, "%s\"%s\"", buf.len > 0 ? " and " : "", last);
	return buf.data;
}

/* every algorithm of every family, for messages: "linear, ridge, logistic, ..." */
const char *
mlsys_algorithm_names(void)
{
	StringInfoData buf;
	int			i,
				j;

	initStringInfo(&buf);
	for (i = 0; mlsys_families[i] != NULL; i++)
		for (j = 0; mlsys_families[i]->algorithms[j] != NULL; j++)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", mlsys_families[i]->algorithms[j]);
	return buf.data;
}

PG_FUNCTION_INFO_V1(params_diff);
/*
 * mlsys._params_diff(a bytea, b bytea) → float8: the largest difference
 * between two blobs' parameters through their family's comparison, for
 * mlsys.reproduce (Infinity when the kinds differ; NULL when the family has
 * none: its versions are compared by their coefficients).
 */
Datum
params_diff(PG_FUNCTION_ARGS)
{
	bytea	   *a = PG_GETARG_BYTEA_PP(0);
	bytea	   *b = PG_GETARG_BYTEA_PP(1);
	ModelKind	ka = model_blob_kind(a),
				kb = model_blob_kind(b);
	const ModelFamily *f = mlsys_family_by_kind(ka);

	if (ka != kb)
		PG_RETURN_FLOAT8(get_float8_infinity());
	if (f == NULL || f->params_diff == NULL)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(f->params_diff(a, b));
}
