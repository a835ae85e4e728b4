/*
 * recommend.c — serving recommenders: mlsys.recommend, recommend_for_items,
 * similar_items, predict_rating, and the mlsys.mlsys_default_recommender setting.
 *
 * A recommender is loaded once per backend through the model cache (cache.c:
 * parsed factors in their own memory context, invalidated by registry
 * changes), so a call costs a hash lookup and a ranking of the item factors
 * in norm-ordered tiles into a k-sized heap (als_rank.c), or, for a model
 * serving precomputed lists, one primary-key lookup (recommend_batch.c). Each
 * call pins its model while it computes, so a reload never frees factors in
 * use.
 *
 * model NULL means mlsys.mlsys_default_recommender when set, else the one model of
 * a recommender task that has a deployment. That lookup is a query, so its
 * answer is remembered until the registry changes (the cache's generation).
 *
 * Cold start: a user unknown to the model gets the most popular items
 * (training interactions per item, ties by smaller item id), scored by the
 * share of training users who interacted with them.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "access/xact.h"

#include "serve/serve.h"

static char resolved_name[NAMEDATALEN];
static uint64 resolved_generation = 0;


/* the name of the one deployed recommender (remembered until the registry changes) */
static const char *
resolve_default(void)
{
	uint64		generation;
	int			pinned;
	bool		latest = !IsInParallelMode();

	if (mlsys_default_recommender != NULL && mlsys_default_recommender[0] != '\0')
		return mlsys_default_recommender;
	AcceptInvalidationMessages();
	generation = mlsys_cache_generation();
	if (resolved_generation == generation && resolved_name[0] != '\0')
		return resolved_name;

	if (latest)
		PushActiveSnapshot(GetLatestSnapshot());
	SPI_connect();
	pinned = mlsys_pin_search_path();
	if (SPI_execute("SELECT DISTINCT d.model FROM mlsys.deployments d "
					"JOIN mlsys.models m ON m.model = d.model "
					"WHERE m.task IN ('recommender_explicit', 'recommender_implicit') "
					"ORDER BY 1", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.deployments");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no recommender is deployed"),
				 errhint("Train one with mlsys.train_recommender, or name the model.")));
	if (SPI_processed > 1)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (uint64 j = 0; j < SPI_processed; j++)
			appendStringInfo(&buf, "%s\"%s\"", j > 0 ? ", " : "",
							 SPI_getvalue(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1));
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("more than one recommender is deployed"),
				 errdetail("Deployed recommenders: %s.", buf.data),
				 errhint("Name the model, or set mlsys.mlsys_default_recommender.")));
	}
	strlcpy(resolved_name, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
			NAMEDATALEN);
	mlsys_unpin_search_path(pinned);
	SPI_finish();
	if (latest)
		PopActiveSnapshot();
	resolved_generation = generation;
	return resolved_name;
}

/* the cached live version of a recommender (name NULL: the default one), unpinned */
CachedModel *
recommender_lookup(const char *name)
{
	CachedModel *cm;

	if (name == NULL)
		name = resolve_default();
	cm = mlsys_cache_get(name, 0);
	if (cm->loaded.kind != MODEL_ALS)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is not a recommender", name),
				 errhint("Train recommenders with mlsys.train_recommender.")));
	return cm;
}

/* k must be from 1 to the catalogue size */
void
recommender_check_k(const AlsModel *m, int k)
{
	if (k < 1 || k > m->nitems)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and the number of items (%d), not %d", m->nitems, k)));
}

/* the optional model name argument */
static const char *
model_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* k argument: not null */
static int
k_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be null")));
	return PG_GETARG_INT32(argno);
}

/* return n (item, score) rows */
static void
put_items(FunctionCallInfo fcinfo, const AlsModel *m, const int32 *idx, const float *sc, int n)
{
	TupleDesc	desc;
	Tuplestorestate *store = mlsys_begin_rows(fcinfo, &desc);
	Datum		values[2];
	bool		nulls[2] = {false, false};

	for (int r = 0; r < n; r++)
	{
		values[0] = Int64GetDatum(m->item_ids[idx[r]]);
		values[1] = Float8GetDatum((double) sc[r]);
		tuplestore_putvalues(store, desc, values, nulls);
	}
}

/* how one serving function ranks items: fills idx/sc (k slots), returns the count */
typedef int (*RankFn) (AlsModel *m, int k, int32 *idx, float *sc, void *arg);

/*
 * Does this recommendation call log itself as an impression (the model
 * logs, and the call samples itself in)? online_log_impression then
 * appends the items shown, in rank order (online_log.c).
 */
static inline bool
impression_sampled(CachedModel *cm)
{
	return unlikely(cm->log_sample > 0) && online_log_sampled(cm);
}

/*
 * Rank with the cached model pinned for the call and return the rows: the
 * shared frame of recommend, recommend_for_items and similar_items. A call
 * for a user or a basket (log true) may be logged as an impression.
 */
static Datum
ranked_rows(FunctionCallInfo fcinfo, CachedModel *cm, int k, RankFn rank, void *arg,
			bool log, bool has_user, int64 user)
{
	mlsys_cache_pin(cm);
	PG_TRY();
	{
		int32	   *idx = palloc(sizeof(int32) * k);
		float	   *sc = palloc(sizeof(float) * k);
		int			n = rank(cm->als, k, idx, sc, arg);

		put_items(fcinfo, cm->als, idx, sc, n);
		if (log && impression_sampled(cm))
		{
			int64	   *ids = palloc(sizeof(int64) * Max(n, 1));
			double	   *scores = palloc(sizeof(double) * Max(n, 1));

			for (int r = 0; r < n; r++)
			{
				ids[r] = cm->als->item_ids[idx[r]];
				scores[r] = sc[r];
			}
			online_log_impression(cm, has_user, user, ids, scores, n);
		}
	}
	PG_FINALLY();
	{
		mlsys_cache_unpin(cm);
	}
	PG_END_TRY();
	return (Datum) 0;
}

static int
int32_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* recommend: the user's scores, seen items excluded; unknown users get the popular items */
typedef struct RecommendArgs
{
	int64		user;
	bool		exclude_seen;
} RecommendArgs;

static int
rank_for_user(AlsModel *m, int k, int32 *idx, float *sc, void *arg)
{
	RecommendArgs *ra = (RecommendArgs *) arg;
	int			u = als_find(m->user_ids, m->nusers, ra->user);

	if (u < 0)
		return als_popular(m, k, NULL, 0, idx, sc);
	return als_rank(m, m->U + (Size) u * m->f, m->implicit ? 0.0f : (float) m->user_bias[u], k,
					ra->exclude_seen ? m->seen_items + m->seen_off[u] : NULL,
					ra->exclude_seen ? m->seen_off[u + 1] - m->seen_off[u] : 0, idx, sc);
}

/* recommend_for_items: fold the known, distinct basket items into a user vector */
typedef struct BasketArgs
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
} BasketArgs;

static int
rank_for_basket(AlsModel *m, int k, int32 *idx, float *sc, void *arg)
{
	BasketArgs *ba = (BasketArgs *) arg;
	int32	   *items = palloc(sizeof(int32) * Max(ba->n, 1));
	int			known = 0,
				w = 0;

	for (int j = 0; j < ba->n; j++)
	{
		int			i = ba->nulls[j] ? -1 : als_find(m->item_ids, m->nitems, DatumGetInt64(ba->elems[j]));

		if (i >= 0)
			items[known++] = i;
	}
	qsort(items, known, sizeof(int32), int32_cmp);
	for (int j = 0; j < known; j++)
		if (w == 0 || items[w - 1] != items[j])
			items[w++] = items[j];
	if (w == 0)
		return als_popular(m, k, NULL, 0, idx, sc);
	als_fold_in(m, items, w, m->uvec);
	return als_rank(m, m->uvec, 0.0f, k, items, w, idx, sc);
}

/* similar_items: cosine similarity of item factors, the item itself excluded */
static int
rank_similar(AlsModel *m, int k, int32 *idx, float *sc, void *arg)
{
	return als_similar(m, *(int *) arg, k, idx, sc);
}

PG_FUNCTION_INFO_V1(recommend);
/* mlsys.recommend(user_id, k, model, exclude_seen) */
Datum
recommend(PG_FUNCTION_ARGS)
{
	int64		user;
	int			k = k_arg(fcinfo, 1);
	bool		exclude_seen = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	CachedModel *cm;
	AlsModel   *m;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be null")));
	user = PG_GETARG_INT64(0);
	cm = recommender_lookup(model_arg(fcinfo, 2));
	m = cm->als;
	recommender_check_k(m, k);
	if (exclude_seen && cm->serve_precomputed)
	{
		int64	   *ids = palloc(sizeof(int64) * k);
		float8	   *sc = palloc(sizeof(float8) * k);
		int			n = recommend_precomputed(cm, user, k, ids, sc);

		if (n >= 0)
		{
			TupleDesc	desc;
			Tuplestorestate *store = mlsys_begin_rows(fcinfo, &desc);

			for (int r = 0; r < n; r++)
			{
				Datum		values[2] = {Int64GetDatum(ids[r]), Float8GetDatum(sc[r])};
				bool		nulls[2] = {false, false};

				tuplestore_putvalues(store, desc, values, nulls);
			}
			if (impression_sampled(cm))
				online_log_impression(cm, true, user, ids, sc, n);
			return (Datum) 0;
		}
	}
	{
		RecommendArgs ra = {user, exclude_seen};

		return ranked_rows(fcinfo, cm, k, rank_for_user, &ra, true, true, user);
	}
}

PG_FUNCTION_INFO_V1(recommend_for_items);
/* mlsys.recommend_for_items(item_ids, k, model): fold in, then recommend */
Datum
recommend_for_items(PG_FUNCTION_ARGS)
{
	int			k = k_arg(fcinfo, 1);
	CachedModel *cm;
	AlsModel   *m;
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_ids must not be null")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &enulls, &nelems);
	cm = recommender_lookup(model_arg(fcinfo, 2));
	m = cm->als;
	recommender_check_k(m, k);
	{
		BasketArgs ba = {elems, enulls, nelems};

		return ranked_rows(fcinfo, cm, k, rank_for_basket, &ba, true, false, 0);
	}
}

PG_FUNCTION_INFO_V1(similar_items);
/* mlsys.similar_items(item_id, k, model): cosine similarity of item factors */
Datum
similar_items(PG_FUNCTION_ARGS)
{
	int64		item;
	int			k = k_arg(fcinfo, 1);
	CachedModel *cm;
	AlsModel   *m;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_id must not be null")));
	item = PG_GETARG_INT64(0);
	cm = recommender_lookup(model_arg(fcinfo, 2));
	m = cm->als;
	recommender_check_k(m, k);
	i = als_find(m->item_ids, m->nitems, item);
	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("item " INT64_FORMAT " is not in recommender \"%s\"", item, cm->name)));
	return ranked_rows(fcinfo, cm, k, rank_similar, &i, false, false, 0);
}

PG_FUNCTION_INFO_V1(predict_rating);
/* mlsys.predict_rating(model, user_id, item_id): explicit models only */
Datum
predict_rating(PG_FUNCTION_ARGS)
{
	CachedModel *cm = recommender_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	AlsModel   *m = cm->als;

	if (m->implicit)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is an implicit recommender: it predicts no ratings", cm->name),
				 errhint("Use mlsys.recommend for implicit models.")));
	PG_RETURN_FLOAT8(als_predict(m, als_find(m->user_ids, m->nusers, PG_GETARG_INT64(1)),
								 als_find(m->item_ids, m->nitems, PG_GETARG_INT64(2))));
}

/* error context of mlsys.evaluate_recommender: which relation */
static void
eval_error_context(void *arg)
{
	errcontext("evaluating a recommender on relation \"%s\"", (const char *) arg);
}

PG_FUNCTION_INFO_V1(evaluate_recommender);
/* mlsys.evaluate_recommender(model, relation, k, user_column, item_column, rating_column) */
Datum
evaluate_recommender(PG_FUNCTION_ARGS)
{
	CachedModel *cm;
	AlsModel   *m;
	Oid			relid;
	char	   *relsql,
			   *ucol,
			   *icol,
			   *rcol;
	int			k;
	Interaction *rows;
	int64		n;
	int32	   *held;
	RankMetrics rm;
	char	   *json;
	volatile Datum result = (Datum) 0;
	MemoryContext cxt,
				oldcxt;
	ErrorContextCallback errcb;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be null")));
	relid = PG_GETARG_OID(1);
	k = PG_ARGISNULL(2) ? 10 : PG_GETARG_INT32(2);
	ucol = mlsys_text_arg(fcinfo, 3, "user_column");
	icol = mlsys_text_arg(fcinfo, 4, "item_column");
	rcol = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	als_check_distinct_columns(ucol, icol, rcol);
	relsql = als_relation_sql(relid);
	als_check_id_column(relid, ucol, "user");
	als_check_id_column(relid, icol, "item");
	if (rcol)
		als_check_rating_column(relid, rcol);

	cm = recommender_lookup(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)));
	m = cm->als;
	recommender_check_k(m, k);
	if (rcol && m->implicit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is an implicit recommender: it predicts no ratings", cm->name),
				 errhint("Leave rating_column null to compute the ranking metrics.")));

	errcb.callback = eval_error_context;
	errcb.arg = (void *) mlsys_relation_name(relid);
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "mlsys recommender evaluation",
								ALLOCSET_DEFAULT_SIZES);
	mlsys_cache_pin(cm);
	PG_TRY();
	{
		int64		s = 0;

		oldcxt = MemoryContextSwitchTo(cxt);
		SPI_connect();
		MemoryContextSwitchTo(cxt);
		rows = als_read_interactions(relsql, ucol, icol, rcol, &n);
		SPI_finish();
		MemoryContextSwitchTo(cxt);
		held = als_alloc_n(sizeof(int32), n, false);
		als_metrics_init(&rm, m, k);
		while (s < n)
		{
			int64		e = s;
			int			u = als_find(m->user_ids, m->nusers, rows[s].u);
			int			known = 0;

			CHECK_FOR_INTERRUPTS();
			while (e < n && rows[e].u == rows[s].u)
				e++;
			for (int64 t = s; t < e; t++)
			{
				int			i = als_find(m->item_ids, m->nitems, rows[t].i);

				if (i >= 0)
					held[known++] = i;
				if (rcol)
				{
					double		err = als_predict(m, u, i) - rows[t].r;

					rm.se += err * err;
					rm.ae += fabs(err);
					rm.rated++;
				}
			}
			als_metrics_user(&rm, m, u, held, known, (int) (e - s));
			s = e;
		}
		json = als_metrics_json(&rm, m, rcol != NULL);
		MemoryContextSwitchTo(oldcxt);
		result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	}
	PG_FINALLY();
	{
		mlsys_cache_unpin(cm);
	}
	PG_END_TRY();
	error_context_stack = errcb.previous;
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(result);
}
