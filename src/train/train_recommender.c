/*
 * train_recommender.c — mlsys.train_recommender() and
 * mlsys.evaluate_recommender(): the SQL-facing flows around als.c.
 *
 * Training flow: check the columns (integer ids, numeric strength) → read
 * every (user, item, strength) through a cursor into one array (memory: 24
 * bytes per interaction) → sort by (user, item, strength) and sum duplicates,
 * so the result never depends on the physical row order → dense indices in
 * id order → split → fit (als.c) → serialize → score the holdout with the
 * deserialized model, i.e. exactly what will be served → register the version
 * (mlsys_register_version, the same registry path as mlsys.train).
 *
 * Split: the content hash of an interaction is mix64(mix64(user) ⊕ item·φ)
 * on the int8 ids (the same finalizer and seed key as split.c). Explicit
 * models hold out each interaction with u < test_size; implicit models hold
 * out, per user, the round(test_size·n_u) interactions with the smallest u
 * (at least one stays in training), the usual per-user protocol for ranking
 * metrics. The rule lives in three inline helpers that training and the
 * SQL-callable mlsys._recommender_in_holdout / _recommender_split_u /
 * _recommender_holdout_count (used by mlsys.retrain to rebuild a version's
 * holdout) share.
 *
 * Everything runs in the caller's transaction and in one memory context
 * deleted at the end; long loops call CHECK_FOR_INTERRUPTS.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "train/train.h"
#include "models/als/als.h"
#include "models/toolkit.h"


/* hyperparameters, resolved */
typedef struct AlsParams
{
	bool		implicit;
	int			factors;
	double		regularization;
	int			iterations;
	double		alpha;
	int			cg_steps;		/* solver "cg": steps per row; 0: "cholesky" */
} AlsParams;

/*
 * Defaults, chosen by holdout validation inside MovieLens 100k's ua.base only
 * (see README, "Recommender"): explicit 50 factors, λ = 0.12 per rating, 10
 * sweeps; implicit 64 factors, λ = 50 (not scaled), α = 5, 10 sweeps.
 */
#define ALS_EXPLICIT_FACTORS 50
#define ALS_EXPLICIT_LAMBDA 0.12
#define ALS_IMPLICIT_FACTORS 64
#define ALS_IMPLICIT_LAMBDA 50.0
#define ALS_IMPLICIT_ALPHA 5.0
#define ALS_ITERATIONS 10

/*
 * Solvers: implicit models default to conjugate gradient, 3 steps per row
 * (Takács, Pilászy and Tikk 2011; the Python library implicit's default),
 * several times faster than Cholesky at the same holdout precision; explicit
 * models keep the exact Cholesky solve.
 */
#define ALS_CG_STEPS 3

static const char *cur_model;
static const char *cur_rel;

/* error context: which model and relation */
static void
rec_error_context(void *arg)
{
	errcontext("training recommender \"%s\" on relation \"%s\"", cur_model, cur_rel);
}

/* a hyperparameter that must be a JSON number */
static double
hp_number(JsonbValue *v, const char *key)
{
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"%s\" must be a number", key)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/* a hyperparameter that must be a whole number in [lo, hi] */
static int
hp_int(JsonbValue *v, const char *key, int lo, int hi)
{
	double		x = hp_number(v, key);

	if (!(x >= lo && x <= hi) || x != floor(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"%s\" must be a whole number from %d to %d", key, lo, hi)));
	return (int) x;
}

/* a hyperparameter that must be a finite number > 0 */
static double
hp_positive(JsonbValue *v, const char *key)
{
	double		x = hp_number(v, key);

	if (!(x > 0) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"%s\" must be a finite number greater than 0", key)));
	return x;
}

/* parse hyperparams (before any data is read or memory sized by them) */
static void
parse_als_params(Jsonb *hp, bool has_rating, AlsParams *p)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		set_f = false,
				set_l = false;
	int			solver = -1;	/* -1 default, 0 cholesky, 1 cg */
	int			cg_steps = 0;

	memset(p, 0, sizeof(AlsParams));
	p->implicit = !has_rating;
	p->iterations = ALS_ITERATIONS;
	p->alpha = ALS_IMPLICIT_ALPHA;
	if (!JB_ROOT_IS_OBJECT(hp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams must be a JSON object")));
	it = JsonbIteratorInit(&hp->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "factors") == 0)
		{
			p->factors = hp_int(&v, key, 1, ALS_MAX_FACTORS);
			set_f = true;
		}
		else if (strcmp(key, "regularization") == 0)
		{
			p->regularization = hp_positive(&v, key);
			set_l = true;
		}
		else if (strcmp(key, "iterations") == 0)
			p->iterations = hp_int(&v, key, 1, ALS_MAX_ITERATIONS);
		else if (strcmp(key, "alpha") == 0)
			p->alpha = hp_positive(&v, key);
		else if (strcmp(key, "solver") == 0)
		{
			char	   *name;

			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"solver\" must be a string")));
			name = pnstrdup(v.val.string.val, v.val.string.len);
			if (strcmp(name, "cg") == 0)
				solver = 1;
			else if (strcmp(name, "cholesky") == 0)
				solver = 0;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unrecognized solver \"%s\" for a recommender", name),
						 errhint("Use \"cg\" or \"cholesky\".")));
		}
		else if (strcmp(key, "cg_steps") == 0)
			cg_steps = hp_int(&v, key, 1, ALS_MAX_CG_STEPS);
		else if (strcmp(key, "implicit") == 0)
		{
			if (v.type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"implicit\" must be true or false")));
			if (!v.val.boolean && !has_rating)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("an explicit recommender needs a rating column"),
						 errhint("Pass rating_column, or train an implicit model.")));
			p->implicit = v.val.boolean;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized hyperparameter \"%s\" for a recommender", key),
					 errhint("Recommenders take factors, regularization, iterations, implicit, alpha, solver and cg_steps.")));
	}
	if (!set_f)
		p->factors = p->implicit ? ALS_IMPLICIT_FACTORS : ALS_EXPLICIT_FACTORS;
	if (!set_l)
		p->regularization = p->implicit ? ALS_IMPLICIT_LAMBDA : ALS_EXPLICIT_LAMBDA;
	if (solver < 0)
		solver = p->implicit ? 1 : 0;
	/* refused rather than ignored: the stored hyperparameters must say what ran */
	if (cg_steps > 0 && solver == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"cg_steps\" needs solver \"cg\""),
				 errdetail("This model uses the Cholesky solver, which takes no steps."),
				 errhint("Add \"solver\": \"cg\", or remove cg_steps.")));
	if (solver == 1)
		p->cg_steps = cg_steps > 0 ? cg_steps : ALS_CG_STEPS;
}

/* the distinct item ids of the interactions, increasing */
static int64 *
distinct_items(const Interaction *rows, int64 n, int *nitems)
{
	int64	   *ids = als_alloc_n(sizeof(int64), n, false);
	int64		w = 0;

	for (int64 j = 0; j < n; j++)
		ids[j] = rows[j].i;
	qsort(ids, n, sizeof(int64), als_int64_cmp);
	for (int64 j = 0; j < n; j++)
		if (w == 0 || ids[w - 1] != ids[j])
			ids[w++] = ids[j];
	*nitems = (int) w;
	return ids;
}

/* content hash of an interaction (see the file comment) */
static inline uint64
interaction_hash(int64 u, int64 i)
{
	return mlsys_mix64(mlsys_mix64((uint64) u) ^ ((uint64) i * UINT64CONST(0x9E3779B97F4A7C15)));
}

/*
 * THE split rule of a recommender, used by training and by the SQL-callable
 * functions below (mlsys._recommender_in_holdout and friends, which the
 * lifecycle uses to rebuild a version's holdout), so the two cannot diverge:
 *   - every interaction has the uniform key u = split_u(hash(user, item));
 *   - explicit: the interaction is held out when u < test_size;
 *   - implicit: a user with n interactions holds out the
 *     implicit_holdout_count(n) interactions with the smallest u, ties in
 *     increasing item id (at least one stays in training).
 */
static inline double
interaction_split_u(int64 u, int64 i, uint64 key)
{
	return mlsys_split_u(interaction_hash(u, i), key);
}

static inline bool
explicit_in_holdout(int64 u, int64 i, uint64 key, double test_size)
{
	return interaction_split_u(u, i, key) < test_size;
}

static inline int64
implicit_holdout_count(int64 n, double test_size)
{
	int64		nh = (int64) floor(test_size * n + 0.5);

	return nh >= n ? n - 1 : nh;
}

typedef struct HoldoutKey
{
	double		u;
	int64		t;
} HoldoutKey;

static int
holdout_key_cmp(const void *a, const void *b)
{
	const HoldoutKey *x = a,
			   *y = b;

	if (x->u != y->u)
		return x->u < y->u ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t ? 1 : 0;
}

/*
 * The ranking metrics of every user with held-out interactions, ranked in
 * blocks as mlsys.recommend_batch ranks them (one sgemm per tile of items for
 * a block of users), seen items excluded.
 */
static void
holdout_ranking_metrics(RankMetrics *rm, AlsModel *m, const int32 *hoff, const int32 *hitem)
{
	int			block = als_rank_block_users(m, rm->k, (Size) maintenance_work_mem * 1024);
	int32	   *users = palloc(sizeof(int32) * block);
	int32	   *idx = palloc(sizeof(int32) * (Size) block * rm->k);
	float	   *sc = palloc(sizeof(float) * (Size) block * rm->k);
	int32	   *got = palloc(sizeof(int32) * block);
	int			u = 0;

	while (u < m->nusers)
	{
		int			n = 0;

		for (; u < m->nusers && n < block; u++)
			if (hoff[u + 1] > hoff[u])
				users[n++] = u;
		if (n == 0)
			break;
		als_rank_users(m, users, n, rm->k, true, idx, sc, got);
		for (int b = 0; b < n; b++)
		{
			int32		cnt = hoff[users[b] + 1] - hoff[users[b]];

			als_metrics_add(rm, idx + (Size) b * rm->k, got[b], hitem + hoff[users[b]], cnt, cnt);
		}
	}
	pfree(users);
	pfree(idx);
	pfree(sc);
	pfree(got);
}

PG_FUNCTION_INFO_V1(train_recommender);
/* mlsys.train_recommender(model, relation, user_column, item_column, rating_column, hyperparams, test_size, seed, deploy) */
Datum
train_recommender(PG_FUNCTION_ARGS)
{
	TrainArgs	a;
	TrainResult r;
	AlsParams	p;
	FeatureSpec spec;
	FeatureColumn cols[2];
	char	   *names[2];
	char	   *ucol,
			   *icol,
			   *rcol;
	Interaction *rows;
	int64		n;
	int64	   *user_ids,
			   *item_ids;
	int			nusers = 0,
				nitems;
	int32	   *uidx,
			   *iidx;
	bool	   *held;
	int32	   *uoff,
			   *uitem,
			   *hoff,
			   *hitem,
			   *counts;
	double	   *ur,
			   *hr;
	int64		ntrain = 0,
				nheld = 0;
	AlsData    *data;
	AlsFit		fit;
	AlsModel   *m;
	RankMetrics rm;
	instr_time	fit_start,
				fit_time;
	StringInfoData buf;
	MemoryContext fitcxt,
				oldcxt;
	ErrorContextCallback errcb;
	uint64		key;

	memset(&a, 0, sizeof(a));
	memset(&r, 0, sizeof(r));
	r.started = GetCurrentTimestamp();
	a.model = mlsys_text_arg(fcinfo, 0, "model name");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be null")));
	a.relid = PG_GETARG_OID(1);
	ucol = mlsys_text_arg(fcinfo, 2, "user_column");
	icol = mlsys_text_arg(fcinfo, 3, "item_column");
	rcol = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	als_check_distinct_columns(ucol, icol, rcol);
	a.hp = PG_ARGISNULL(5) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(5);
	a.test_size = PG_ARGISNULL(6) ? 0.2 : PG_GETARG_FLOAT8(6);
	a.seed = PG_ARGISNULL(7) ? 0 : PG_GETARG_INT32(7);
	a.deploy = PG_ARGISNULL(8) ? "best_score" : text_to_cstring(PG_GETARG_TEXT_PP(8));
	if (!(a.test_size >= 0.0 && a.test_size < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_size must be at least 0 and less than 1")));
	if (strcmp(a.deploy, "best_score") != 0 && strcmp(a.deploy, "most_recent") != 0 &&
		strcmp(a.deploy, "never") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized deploy policy \"%s\"", a.deploy),
				 errhint("Use \"best_score\", \"most_recent\" or \"never\".")));
	parse_als_params(a.hp, rcol != NULL, &p);
	a.relsql = als_relation_sql(a.relid);
	a.relname = mlsys_relation_name(a.relid);
	a.target = rcol ? rcol : "";
	a.target_type = FLOAT8OID;
	a.algorithm = p.implicit ? "als_implicit" : "als_explicit";
	als_check_id_column(a.relid, ucol, "user");
	als_check_id_column(a.relid, icol, "item");
	if (rcol)
		a.target_type = als_check_rating_column(a.relid, rcol);

	cur_model = a.model;
	cur_rel = a.relname;
	errcb.callback = rec_error_context;
	errcb.arg = NULL;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	fitcxt = AllocSetContextCreate(CurrentMemoryContext, "mlsys recommender fit",
								   ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(fitcxt);
	SPI_connect();
	MemoryContextSwitchTo(fitcxt);
	rows = als_read_interactions(a.relsql, ucol, icol, rcol, &n);

	/* dense indices in id order */
	item_ids = distinct_items(rows, n, &nitems);
	user_ids = als_alloc_n(sizeof(int64), n, false);
	uidx = als_alloc_n(sizeof(int32), n, false);
	iidx = als_alloc_n(sizeof(int32), n, false);
	for (int64 j = 0; j < n; j++)
	{
		if (nusers == 0 || user_ids[nusers - 1] != rows[j].u)
			user_ids[nusers++] = rows[j].u;
		uidx[j] = nusers - 1;
		iidx[j] = als_find(item_ids, nitems, rows[j].i);
	}
	if (nusers < 2 || nitems < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation \"%s\" has %d %s", a.relname,
						nusers < 2 ? nusers : nitems,
						nusers < 2 ? (nusers == 1 ? "user" : "users") : (nitems == 1 ? "item" : "items")),
				 errdetail("A recommender needs at least two users and two items.")));
	mlsys_check_training_memory((double) n * (sizeof(Interaction) + 40) +
								2.0 * (nusers + nitems) * (p.factors + 1.0) * sizeof(double),
								"recommender training");
	/* the largest allocations sized by factors: refuse them before trying */
	if ((double) (nusers + nitems) * (p.factors + 1) * sizeof(double) > (double) MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%d factors are too many for %d users and %d items", p.factors, nusers, nitems),
				 errdetail("The factor matrices would need more than 1 GB."),
				 errhint("Use fewer factors.")));

	/* split */
	key = mlsys_split_key(a.seed);
	held = als_alloc_n(sizeof(bool), n, true);
	r.fingerprint = 0;
	for (int64 j = 0; j < n; j++)
	{
		uint64		h = interaction_hash(rows[j].u, rows[j].i);
		uint64		rbits;

		memcpy(&rbits, &rows[j].r, sizeof(rbits));
		r.fingerprint += mlsys_mix64(h ^ rbits);
		if (!p.implicit)
			held[j] = explicit_in_holdout(rows[j].u, rows[j].i, key, a.test_size);
	}
	if (p.implicit && a.test_size > 0)
	{
		HoldoutKey *hk = als_alloc_n(sizeof(HoldoutKey), n, false);
		int64		s = 0;

		while (s < n)
		{
			int64		e = s;
			int64		cnt,
						nh;

			while (e < n && uidx[e] == uidx[s])
				e++;
			cnt = e - s;
			nh = implicit_holdout_count(cnt, a.test_size);
			for (int64 t = s; t < e; t++)
			{
				hk[t - s].u = interaction_split_u(rows[t].u, rows[t].i, key);
				hk[t - s].t = t;
			}
			qsort(hk, cnt, sizeof(HoldoutKey), holdout_key_cmp);
			for (int64 t = 0; t < nh; t++)
				held[hk[t].t] = true;
			s = e;
		}
		pfree(hk);
	}

	/* training and holdout CSR by user (item indices increasing within a user) */
	uoff = palloc0(sizeof(int32) * (nusers + 1));
	hoff = palloc0(sizeof(int32) * (nusers + 1));
	counts = palloc0(sizeof(int32) * nitems);
	for (int64 j = 0; j < n; j++)
	{
		if (held[j])
		{
			hoff[uidx[j] + 1]++;
			nheld++;
		}
		else
		{
			uoff[uidx[j] + 1]++;
			counts[iidx[j]]++;
			ntrain++;
		}
	}
	for (int u = 0; u < nusers; u++)
	{
		uoff[u + 1] += uoff[u];
		hoff[u + 1] += hoff[u];
	}
	uitem = als_alloc_n(sizeof(int32), ntrain, false);
	ur = als_alloc_n(sizeof(double), ntrain, false);
	hitem = als_alloc_n(sizeof(int32), nheld, false);
	hr = als_alloc_n(sizeof(double), nheld, false);
	{
		int64		tw = 0,
					hw = 0;

		for (int64 j = 0; j < n; j++)
		{
			if (held[j])
			{
				hitem[hw] = iidx[j];
				hr[hw++] = rows[j].r;
			}
			else
			{
				uitem[tw] = iidx[j];
				ur[tw++] = rows[j].r;
			}
		}
	}
	pfree(rows);
	r.train_rows = ntrain;
	r.test_rows = nheld;
	mlsys_check_split(&a, n, ntrain, nheld);

	/* fit */
	data = als_data_by_user(nusers, nitems, uoff, uitem, ur);
	memset(&fit, 0, sizeof(fit));
	fit.implicit = p.implicit;
	fit.f = p.factors;
	fit.nusers = nusers;
	fit.nitems = nitems;
	fit.lambda = p.regularization;
	fit.alpha = p.implicit ? p.alpha : 0.0;
	fit.user_ids = user_ids;
	fit.item_ids = item_ids;
	fit.seen_off = uoff;
	fit.seen_items = uitem;
	fit.counts = counts;
	INSTR_TIME_SET_CURRENT(fit_start);
	if (p.implicit)
		als_fit_implicit(data, p.factors, p.regularization, p.alpha, p.iterations,
						 p.cg_steps, a.seed, item_ids, &fit);
	else
		als_fit_explicit(data, p.factors, p.regularization, p.iterations,
						 p.cg_steps, a.seed, item_ids, &fit);
	INSTR_TIME_SET_CURRENT(fit_time);
	INSTR_TIME_SUBTRACT(fit_time, fit_start);
	r.params = model_serialize_als(&fit);

	/* holdout metrics of the model as it will be served */
	m = model_deserialize_als(r.params);
	m->cxt = CurrentMemoryContext;
	als_model_prepare(m);
	als_metrics_init(&rm, m, Min(10, nitems));
	for (int u = 0; u < nusers; u++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!p.implicit)
		{
			/* rmse/mae: on the holdout, or on the training rows when there is none */
			int32		s = a.test_size > 0 ? hoff[u] : uoff[u],
						e = a.test_size > 0 ? hoff[u + 1] : uoff[u + 1];

			for (int32 t = s; t < e; t++)
			{
				int32		i = a.test_size > 0 ? hitem[t] : uitem[t];
				double		y = a.test_size > 0 ? hr[t] : ur[t];
				double		err = als_predict(m, u, i) - y;

				rm.se += err * err;
				rm.ae += fabs(err);
				rm.rated++;
			}
		}
	}
	holdout_ranking_metrics(&rm, m, hoff, hitem);
	r.metrics = als_metrics_json(&rm, m, !p.implicit);

	/* registration, through the same path as mlsys.train */
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"factors\": %d, \"implicit\": %s, \"iterations\": %d, \"regularization\": ",
					 p.factors, p.implicit ? "true" : "false", p.iterations);
	mlsys_append_json_number(&buf, p.regularization);
	if (p.implicit)
	{
		appendStringInfoString(&buf, ", \"alpha\": ");
		mlsys_append_json_number(&buf, p.alpha);
	}
	if (p.cg_steps > 0)
		appendStringInfo(&buf, ", \"solver\": \"cg\", \"cg_steps\": %d", p.cg_steps);
	else
		appendStringInfoString(&buf, ", \"solver\": \"cholesky\"");
	appendStringInfoChar(&buf, '}');
	a.hyperparams = buf.data;
	/* fit_seconds (the ALS sweeps alone) joins als_metrics_json's object */
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"fit_seconds\": ");
	mlsys_append_json_number(&buf, INSTR_TIME_GET_DOUBLE(fit_time));
	appendStringInfo(&buf, ", %s", r.metrics + 1);
	r.metrics = buf.data;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"users\": %d, \"items\": %d, \"interactions\": " INT64_FORMAT ", \"mean\": ",
					 nusers, nitems, n);
	mlsys_append_json_number(&buf, fit.mu);
	appendStringInfoChar(&buf, '}');
	r.profile = buf.data;
	r.task = p.implicit ? "recommender_implicit" : "recommender_explicit";
	memset(&spec, 0, sizeof(spec));
	memset(cols, 0, sizeof(cols));
	cols[0].name = ucol;
	cols[0].typid = INT8OID;
	cols[0].length = 0;
	cols[1].name = icol;
	cols[1].typid = INT8OID;
	cols[1].length = 0;
	names[0] = ucol;
	names[1] = icol;
	spec.ncolumns = 2;
	spec.columns = cols;
	spec.nfeat = 2;
	spec.names = names;
	r.spec = &spec;
	mlsys_finish_training(fcinfo, &a, &r, oldcxt);
	error_context_stack = errcb.previous;
	MemoryContextDelete(fitcxt);
	return (Datum) 0;
}

/*
 * The split rule for SQL (mlsys._recommender_holdout_query builds a version's
 * holdout from these). All three are IMMUTABLE and STRICT.
 */
PG_FUNCTION_INFO_V1(recommender_in_holdout);
/* mlsys._recommender_in_holdout(user bigint, item bigint, seed int, test_size float8): the explicit rule */
Datum
recommender_in_holdout(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(explicit_in_holdout(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
									   mlsys_split_key(PG_GETARG_INT32(2)), PG_GETARG_FLOAT8(3)));
}

PG_FUNCTION_INFO_V1(recommender_split_u);
/* mlsys._recommender_split_u(user bigint, item bigint, seed int): the key the implicit rule orders by */
Datum
recommender_split_u(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(interaction_split_u(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
										 mlsys_split_key(PG_GETARG_INT32(2))));
}

PG_FUNCTION_INFO_V1(recommender_holdout_count);
/* mlsys._recommender_holdout_count(interactions bigint, test_size float8): how many of a user's interactions the implicit rule holds out */
Datum
recommender_holdout_count(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);

	PG_RETURN_INT64(n < 1 ? 0 : implicit_holdout_count(n, PG_GETARG_FLOAT8(1)));
}
