/*
 * als_document.c — the "parameters" of an ALS recommender in the model
 * document (export and import): ids, biases and float4 factors of users and
 * items, each user's seen items, the items' counts. Numbers are written in
 * their shortest exact form and read back exactly, so an import rebuilds the
 * blob byte for byte.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/jsonb.h"

#include "models/als/als.h"

/* the "parameters" object of a recommender */
void
als_export_params(StringInfo buf, bytea *blob, const ParamsSpec *spec)
{
	AlsModel   *m = model_deserialize_als(blob);
	int			u,
				t;

	appendStringInfoChar(buf, '{');
	doc_put_key(buf, "implicit", true);
	appendStringInfoString(buf, m->implicit ? "true" : "false");
	doc_put_key(buf, "factors", false);
	appendStringInfo(buf, "%d", m->f);
	doc_put_key(buf, "mu", false);
	doc_put_float8(buf, m->mu);
	doc_put_key(buf, "lambda", false);
	doc_put_float8(buf, m->lambda);
	doc_put_key(buf, "alpha", false);
	doc_put_float8(buf, m->alpha);

	doc_put_key(buf, "users", false);
	appendStringInfoChar(buf, '{');
	doc_put_key(buf, "ids", true);
	doc_put_ids(buf, m->user_ids, m->nusers);
	doc_put_key(buf, "biases", false);
	doc_put_float8_array(buf, m->user_bias, m->nusers);
	doc_put_key(buf, "factors", false);
	doc_put_factors(buf, m->U, m->nusers, m->f);
	doc_put_key(buf, "seen", false);
	appendStringInfoChar(buf, '[');
	for (u = 0; u < m->nusers; u++)
	{
		appendStringInfoString(buf, u > 0 ? ",[" : "[");
		for (t = m->seen_off[u]; t < m->seen_off[u + 1]; t++)
			appendStringInfo(buf, t > m->seen_off[u] ? ",%" PRId64 : "%" PRId64,
							 m->item_ids[m->seen_items[t]]);
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoString(buf, "]}");

	doc_put_key(buf, "items", false);
	appendStringInfoChar(buf, '{');
	doc_put_key(buf, "ids", true);
	doc_put_ids(buf, m->item_ids, m->nitems);
	doc_put_key(buf, "biases", false);
	doc_put_float8_array(buf, m->item_bias, m->nitems);
	doc_put_key(buf, "factors", false);
	doc_put_factors(buf, m->V, m->nitems, m->f);
	doc_put_key(buf, "counts", false);
	appendStringInfoChar(buf, '[');
	for (t = 0; t < m->nitems; t++)
		appendStringInfo(buf, t > 0 ? ",%d" : "%d", m->counts[t]);
	appendStringInfoString(buf, "]}}");
}

/* "parameters" of a recommender → blob */
bytea *
als_import_params(JsonbContainer *prm, const ParamsSpec *d)
{
	const char *path = "parameters";
	AlsFit		fit;
	JsonbContainer *users,
			   *items,
			   *seen,
			   *counts;
	int64		ns = 0;
	int			u,
				j;
	bool		implicit;
	JsonbValue *iv = doc_get_key(prm, path, "implicit", true);

	memset(&fit, 0, sizeof(fit));
	if (iv->type != jbvBool)
		doc_invalid("parameters.implicit", "must be a JSON boolean");
	implicit = iv->val.boolean;
	if (implicit != (strcmp(d->algorithm, "als_implicit") == 0))
		doc_invalid("parameters.implicit", psprintf("does not match the algorithm \"%s\"", d->algorithm));
	fit.implicit = implicit;
	fit.f = (int) doc_key_int(prm, path, "factors", 1, ALS_MAX_FACTORS);
	fit.mu = doc_key_float8(prm, path, "mu");
	fit.lambda = doc_key_float8(prm, path, "lambda");
	fit.alpha = doc_key_float8(prm, path, "alpha");
	users = doc_key_object(prm, path, "users");
	items = doc_key_object(prm, path, "items");
	fit.user_ids = doc_read_ids(users, "parameters.users", &fit.nusers);
	fit.item_ids = doc_read_ids(items, "parameters.items", &fit.nitems);
	fit.user_bias = doc_read_float8s(users, "parameters.users", "biases", fit.nusers);
	fit.item_bias = doc_read_float8s(items, "parameters.items", "biases", fit.nitems);
	fit.U = doc_read_factors(users, "parameters.users", fit.nusers, fit.f);
	fit.V = doc_read_factors(items, "parameters.items", fit.nitems, fit.f);

	counts = doc_as_array(doc_get_key(items, "parameters.items", "counts", true), fit.nitems,
					  "parameters.items.counts");
	fit.counts = palloc(sizeof(int32) * fit.nitems);
	for (j = 0; j < fit.nitems; j++)
		fit.counts[j] = (int32) doc_as_int(doc_elem(counts, j), 0, PG_INT32_MAX, "parameters.items.counts", j);

	/* seen items: per user, item ids in increasing order → item indices (CSR) */
	seen = doc_as_array(doc_get_key(users, "parameters.users", "seen", true), fit.nusers,
					"parameters.users.seen");
	for (u = 0; u < fit.nusers; u++)
	{
		ns += JsonContainerSize(doc_as_array(doc_elem(seen, u), -1, doc_elem_path("parameters.users.seen", u)));
		if (ns > PG_INT32_MAX)
			doc_invalid("parameters.users.seen", "has too many items");
	}
	fit.seen_off = palloc(sizeof(int32) * (fit.nusers + 1));
	fit.seen_items = palloc(sizeof(int32) * Max(ns, 1));
	fit.seen_off[0] = 0;
	for (u = 0; u < fit.nusers; u++)
	{
		char	   *sp = doc_elem_path("parameters.users.seen", u);
		JsonbContainer *s = doc_as_array(doc_elem(seen, u), -1, sp);
		int			n = JsonContainerSize(s),
					off = fit.seen_off[u];

		CHECK_FOR_INTERRUPTS();
		for (j = 0; j < n; j++)
		{
			int64		id = doc_as_int(doc_elem(s, j), PG_INT64_MIN, PG_INT64_MAX, sp, j);
			int			idx = als_find(fit.item_ids, fit.nitems, id);

			if (idx < 0)
				doc_invalid(doc_elem_path(sp, j), "is not in parameters.items.ids");
			if (j > 0 && idx <= fit.seen_items[off + j - 1])
				doc_invalid(doc_elem_path(sp, j), "must be greater than the item before it");
			fit.seen_items[off + j] = idx;
		}
		fit.seen_off[u + 1] = off + n;
	}
	return model_serialize_als(&fit);
}
