/*
 * profile_cat.c — the categorical column profile as an aggregate:
 * mlsys._profile_cat_agg(value text, name text), the drift-baseline profile
 * of a categorical column, and mlsys._category_agg(value text, name text,
 * labelled bool), the same state with each category's count among labelled
 * rows, from which training reads a column's vocabulary and its baseline
 * profile in one pass (models/passes.c).
 *
 * Categories are counted per 64-bit hash of their text (the text compared
 * too), at most MON_MAX_DISTINCT of them; values of further categories count
 * as "other". The state is a bytea: PARALLEL SAFE with a combine function.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "metrics/metrics.h"

#define PROFILE_CAT_LAYOUT 0x50430002	/* "PC", layout version 2 */

/* one category (count 0: an empty slot) */
typedef struct CatSlot
{
	uint64		key;
	double		count;			/* values of all rows */
	double		labelled;		/* values of labelled rows (mlsys._category_agg) */
	int32		off;			/* its text in the arena */
	int32		len;
} CatSlot;

/* the state: slots[cap], the name, then the text arena */
typedef struct ProfileCat
{
	int32		vl_len_;
	uint32		layout;
	int32		cap;			/* slots, a power of 2 */
	int32		nent;			/* categories counted */
	double		n;				/* non-missing values */
	double		nulls;
	double		labelled_nulls; /* NULLs of labelled rows */
	double		other;			/* values of categories past MON_MAX_DISTINCT */
	int32		name_len;
	int32		text_used;
	int32		text_cap;
	int32		pad;
} ProfileCat;

static inline CatSlot *
pc_slots(const ProfileCat *s)
{
	return (CatSlot *) ((char *) s + sizeof(ProfileCat));
}

static inline char *
pc_name(const ProfileCat *s)
{
	return (char *) (pc_slots(s) + s->cap);
}

static inline char *
pc_text(const ProfileCat *s)
{
	return pc_name(s) + s->name_len + 1;
}

static inline Size
pc_size(int cap, int name_len, int text_cap)
{
	return sizeof(ProfileCat) + sizeof(CatSlot) * (Size) cap + name_len + 1 + text_cap;
}

/*
 * The 64-bit hash that identifies a category by its text: a short one (the
 * usual category) by a mix of its word and length, which costs a few
 * instructions, a longer one by hash_bytes_extended.
 */
uint64
profile_cat_key(const char *s, int len)
{
	if (len <= 8)
		return mlsys_mix64(mlsys_load_word(s, len) + (uint64) len * UINT64CONST(0x9E3779B97F4A7C15));
	return hash_bytes_extended((const unsigned char *) s, len, 0x6d6c7379);
}

/* every used slot's text lies in the arena, and nent counts them */
static bool
pc_slots_valid(const ProfileCat *s)
{
	const CatSlot *slots = pc_slots(s);
	int			used = 0,
				i;

	for (i = 0; i < s->cap; i++)
	{
		if (slots[i].count == 0)
			continue;
		if (!(slots[i].count > 0) || !(slots[i].labelled >= 0) ||
			slots[i].labelled > slots[i].count || slots[i].off < 0 || slots[i].len < 0 ||
			slots[i].off > s->text_used - slots[i].len)
			return false;
		used++;
	}
	return used == s->nent;
}

/* a state, checked: its layout and size (it may come from another process) */
static ProfileCat *
pc_checked(bytea *b)
{
	ProfileCat *s = (ProfileCat *) b;
	Size		len = VARSIZE(b);

	if (len < sizeof(ProfileCat) || s->layout != PROFILE_CAT_LAYOUT || s->cap <= 0 ||
		(s->cap & (s->cap - 1)) != 0 || s->cap > 4 * MON_MAX_DISTINCT ||
		s->nent < 0 || s->nent > s->cap || s->name_len < 0 || s->text_used < 0 ||
		s->text_used > s->text_cap || len != pc_size(s->cap, s->name_len, s->text_cap) ||
		!pc_slots_valid(s))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid categorical profile state")));
	return s;
}

/* a state with room for cap slots and text_cap bytes of text, s's contents copied */
static ProfileCat *
pc_resize(MemoryContext cxt, const ProfileCat *s, int cap, int text_cap)
{
	Size		size = pc_size(cap, s->name_len, text_cap);
	ProfileCat *t = MemoryContextAllocZero(cxt, size);
	CatSlot    *from = pc_slots(s),
			   *to;
	int			i;

	memcpy(t, s, sizeof(ProfileCat));
	SET_VARSIZE(t, size);
	t->cap = cap;
	t->text_cap = text_cap;
	to = pc_slots(t);
	memcpy(pc_name(t), pc_name(s), s->name_len + 1);
	memcpy(pc_text(t), pc_text(s), s->text_used);
	for (i = 0; i < s->cap; i++)
		if (from[i].count > 0)
		{
			uint32		h = (uint32) from[i].key & (cap - 1);

			while (to[h].count > 0)
				h = (h + 1) & (cap - 1);
			to[h] = from[i];
		}
	return t;
}

/*
 * Count `count` values (`labelled` of them from labelled rows) of the
 * category (key, text): in its slot, in a new slot while fewer than
 * MON_MAX_DISTINCT are counted, else as "other". The state may move
 * (returned).
 */
static ProfileCat *
pc_add(MemoryContext cxt, ProfileCat *s, uint64 key, const char *text, int len, double count,
	   double labelled)
{
	uint32		h = (uint32) key & (s->cap - 1);
	CatSlot    *slots = pc_slots(s);

	while (slots[h].count > 0)
	{
		/* a short category's key is exact (profile_cat_key) */
		if (slots[h].key == key && slots[h].len == len &&
			(len <= 8 || memcmp(pc_text(s) + slots[h].off, text, len) == 0))
		{
			slots[h].count += count;
			slots[h].labelled += labelled;
			return s;
		}
		h = (h + 1) & (s->cap - 1);
	}
	if (s->nent >= MON_MAX_DISTINCT)
	{
		s->other += count;
		return s;
	}
	if (2 * (s->nent + 1) > s->cap || s->text_used + len > s->text_cap)
	{
		/*
		 * The old state is not freed here: when a transition or combine
		 * function returns a new pointer, the executor copies it into the
		 * aggregate context and frees the old one itself.
		 */
		return pc_add(cxt,
					  pc_resize(cxt, s, 2 * (s->nent + 1) > s->cap ? 2 * s->cap : s->cap,
								Max(2 * s->text_cap, s->text_used + len)),
					  key, text, len, count, labelled);
	}
	slots[h].key = key;
	slots[h].count = count;
	slots[h].labelled = labelled;
	slots[h].off = s->text_used;
	slots[h].len = len;
	memcpy(pc_text(s) + s->text_used, text, len);
	s->text_used += len;
	s->nent++;
	return s;
}

/* the transition of both aggregates: one value of a row, labelled or not */
static Datum
pc_accum(FunctionCallInfo fcinfo, bool labelled)
{
	MemoryContext aggcxt = mlsys_agg_context(fcinfo, "profile_cat_accum");
	ProfileCat *s;
	text	   *t;

	if (PG_ARGISNULL(0))
	{
		text	   *name = profile_name_arg(fcinfo, 2);
		int			name_len = VARSIZE_ANY_EXHDR(name);

		s = MemoryContextAllocZero(aggcxt, pc_size(16, name_len, 256));
		SET_VARSIZE(s, pc_size(16, name_len, 256));
		s->layout = PROFILE_CAT_LAYOUT;
		s->name_len = name_len;
		s->cap = 16;
		s->text_cap = 256;
		memcpy(pc_name(s), VARDATA_ANY(name), name_len);
	}
	else
		s = (ProfileCat *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		s->nulls += 1;
		s->labelled_nulls += labelled ? 1 : 0;
		PG_RETURN_POINTER(s);
	}
	t = mlsys_text_bytes(PG_GETARG_DATUM(1));
	s->n += 1;
	s = pc_add(aggcxt, s, profile_cat_key(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)),
			   VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), 1, labelled ? 1 : 0);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(profile_cat_accum);
/* transition function of mlsys._profile_cat_agg(value text, name text) */
Datum
profile_cat_accum(PG_FUNCTION_ARGS)
{
	return pc_accum(fcinfo, false);
}

PG_FUNCTION_INFO_V1(vocabulary_accum);
/* transition function of mlsys._category_agg(value text, name text, labelled bool) */
Datum
vocabulary_accum(PG_FUNCTION_ARGS)
{
	return pc_accum(fcinfo, !PG_ARGISNULL(3) && PG_GETARG_BOOL(3));
}

PG_FUNCTION_INFO_V1(profile_cat_combine);
/* combine function of both aggregates */
Datum
profile_cat_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = mlsys_agg_context(fcinfo, "profile_cat_combine");
	ProfileCat *a,
			   *b;
	CatSlot    *slots;
	Datum		trivial;
	int			i;

	if (mlsys_combine_trivial(fcinfo, &trivial))
		return trivial;
	a = pc_checked(PG_GETARG_BYTEA_P(0));
	b = pc_checked(PG_GETARG_BYTEA_P(1));
	slots = pc_slots(b);
	for (i = 0; i < b->cap; i++)
		if (slots[i].count > 0)
			a = pc_add(aggcxt, a, slots[i].key, pc_text(b) + slots[i].off, slots[i].len,
					   slots[i].count, slots[i].labelled);
	a->n += b->n;
	a->nulls += b->nulls;
	a->labelled_nulls += b->labelled_nulls;
	a->other += b->other;
	PG_RETURN_POINTER(a);
}

/* a category with its text, for sorting */
typedef struct CatOut
{
	double		count;
	char	   *text;
} CatOut;

/* most frequent first, then by text */
static int
cat_cmp(const void *a, const void *b)
{
	const CatOut *x = (const CatOut *) a;
	const CatOut *y = (const CatOut *) b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* the profile of a state as JSON: counts, distinct and the top categories */
static char *
pc_json(const ProfileCat *c)
{
	const CatSlot *slots = pc_slots(c);
	CatOut	   *all;
	StringInfoData buf;
	double		other;
	int			i,
				k = 0,
				top;

	all = palloc(sizeof(CatOut) * Max(c->nent, 1));
	for (i = 0; i < c->cap; i++)
		if (slots[i].count > 0)
		{
			all[k].count = slots[i].count;
			all[k].text = pnstrdup(pc_text(c) + slots[i].off, slots[i].len);
			k++;
		}
	qsort(all, k, sizeof(CatOut), cat_cmp);
	top = Min(k, MON_TOP_N);
	initStringInfo(&buf);
	profile_append_head(&buf, pc_name(c), true, c->n, c->nulls);
	appendStringInfo(&buf, ", \"distinct\": %d%s, \"categories\": [", k,
					 c->other > 0 ? " , \"distinct_capped\": true" : "");
	for (i = 0; i < top; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, all[i].text);
	}
	appendStringInfoString(&buf, "], \"counts\": [");
	other = c->other;
	for (i = 0; i < k; i++)
	{
		if (i < top)
			appendStringInfo(&buf, "%s%.0f", i > 0 ? ", " : "", all[i].count);
		else
			other += all[i].count;
	}
	appendStringInfo(&buf, "], \"other\": %.0f}", other);
	return buf.data;
}

PG_FUNCTION_INFO_V1(profile_cat_final);
/* final function of mlsys._profile_cat_agg: the profile as JSON text */
Datum
profile_cat_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(pc_json(pc_checked(PG_GETARG_BYTEA_P(0)))));
}

/* the profile (JSON) of a mlsys._category_agg result, over all rows */
char *
profile_cat_state_json(bytea *state)
{
	return pc_json(pc_checked(state));
}

/*
 * The categories of a mlsys._category_agg result (in no particular order)
 * and its NULL count: of every row, or, with labelled_only, of the labelled
 * rows. Returns false when the state counted some values as "other" (more
 * than MON_MAX_DISTINCT categories): then categories may be missing.
 */
bool
profile_cat_state_values(bytea *state, bool labelled_only, char ***values, int *n,
						 double *nulls)
{
	ProfileCat *c = pc_checked(state);
	const CatSlot *slots = pc_slots(c);
	int			i;

	*values = palloc(sizeof(char *) * Max(c->nent, 1));
	*n = 0;
	for (i = 0; i < c->cap; i++)
		if (labelled_only ? slots[i].labelled > 0 : slots[i].count > 0)
			(*values)[(*n)++] = pnstrdup(pc_text(c) + slots[i].off, slots[i].len);
	*nulls = labelled_only ? c->labelled_nulls : c->nulls;
	return c->other == 0;
}
