/*
 * linear_document.c — the "parameters" of a linear predictor in the model
 * document (export and import), shared by the linear and logistic families:
 * the intercept and coefficients named by feature, a binary model's
 * threshold and standardization, a multinomial model's blocks per class.
 * Numbers are written in their shortest exact form and read back exactly, so
 * an import rebuilds the blob byte for byte.
 */
#include "postgres.h"

#include "utils/json.h"
#include "utils/jsonb.h"

#include "models/family.h"

/* the "parameters" object of a linear, logistic or multinomial model */
void
linear_export_params(StringInfo buf, bytea *blob, const ParamsSpec *spec)
{
	LinearModel *lm = model_deserialize_linear(blob);
	int			n = spec->nfeat;
	char	  **names = spec->names;

	if (n != lm->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model parameters are corrupted"),
				 errdetail("The version has %d coefficients for %d features.", lm->nfeat, n)));
	appendStringInfoChar(buf, '{');
	if (lm->kind == MODEL_SOFTMAX)
	{
		int			nlabels = spec->nclasses,
					k;

		if (spec->classes == NULL)
			elog(ERROR, "multinomial model version has no classes");
		if (nlabels != lm->nclass_out)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model parameters are corrupted"),
					 errdetail("The version has %d classes, its parameters %d.", nlabels, lm->nclass_out)));
		doc_put_key(buf, "center", true);
		doc_put_named(buf, names, lm->center, n);
		doc_put_key(buf, "scale", false);
		doc_put_named(buf, names, lm->scale, n);
		doc_put_key(buf, "classes", false);
		appendStringInfoChar(buf, '[');
		for (k = 0; k < nlabels; k++)
		{
			const double *row = lm->multi + (Size) k * (n + 1);

			appendStringInfoString(buf, k > 0 ? ",{" : "{");
			doc_put_key(buf, "class", true);
			if (spec->classes[k] == NULL)
				appendStringInfoString(buf, "null");
			else
				escape_json(buf, spec->classes[k]);
			doc_put_key(buf, "intercept", false);
			doc_put_float8(buf, row[0]);
			doc_put_key(buf, "coefficients", false);
			doc_put_named(buf, names, row + 1, n);
			appendStringInfoChar(buf, '}');
		}
		appendStringInfoChar(buf, ']');
	}
	else
	{
		doc_put_key(buf, "intercept", true);
		doc_put_float8(buf, lm->intercept);
		doc_put_key(buf, "coefficients", false);
		doc_put_named(buf, names, lm->coef, n);
		if (lm->kind == MODEL_LOGISTIC)
		{
			doc_put_key(buf, "threshold", false);
			doc_put_float8(buf, lm->threshold);
			doc_put_key(buf, "center", false);
			doc_put_named(buf, names, lm->center, n);
			doc_put_key(buf, "scale", false);
			doc_put_named(buf, names, lm->scale, n);
		}
	}
	appendStringInfoChar(buf, '}');
}

/* "parameters" of a linear, logistic or multinomial model → blob */
bytea *
linear_import_params(JsonbContainer *prm, const ParamsSpec *d)
{
	const char *path = "parameters";
	int			n = d->nfeat;
	double	   *center = palloc(sizeof(double) * n);
	double	   *scale = palloc(sizeof(double) * n);

	if (strcmp(d->task, "multiclass") == 0)
	{
		JsonbContainer *blocks;
		double	   *theta = palloc(sizeof(double) * (Size) d->nclasses * (n + 1));
		int			k;

		doc_named_vector(prm, path, "center", d->names, n, center);
		doc_named_vector(prm, path, "scale", d->names, n, scale);
		blocks = doc_as_array(doc_get_key(prm, path, "classes", true), d->nclasses, "parameters.classes");
		for (k = 0; k < d->nclasses; k++)
		{
			char	   *bp = psprintf("parameters.classes[%d]", k);
			JsonbContainer *b = doc_as_container(doc_elem(blocks, k), true, bp, -1);
			char	   *label = doc_key_string(b, bp, "class");

			if (strcmp(label, d->classes[k]) != 0)
				doc_invalid(doc_key_path(bp, "class"), psprintf("must be \"%s\" (classes[%d])", d->classes[k], k));
			theta[(Size) k * (n + 1)] = doc_key_float8(b, bp, "intercept");
			doc_named_vector(b, bp, "coefficients", d->names, n, theta + (Size) k * (n + 1) + 1);
		}
		return model_serialize_softmax(theta, center, scale, n, d->nclasses);
	}
	else
	{
		double	   *w = palloc(sizeof(double) * (n + 1));

		w[0] = doc_key_float8(prm, path, "intercept");
		doc_named_vector(prm, path, "coefficients", d->names, n, w + 1);
		if (strcmp(d->task, "binary") == 0)
		{
			double		threshold = doc_key_float8(prm, path, "threshold");

			doc_named_vector(prm, path, "center", d->names, n, center);
			doc_named_vector(prm, path, "scale", d->names, n, scale);
			return model_serialize_logistic(w, center, scale, n, threshold);
		}
		return model_serialize_linear(w, n);
	}
}
