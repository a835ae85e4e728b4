/*
 * encode.c — the one encoder of a row's feature columns: the hashed lookup
 * of a categorical value in its column's vocabulary, and mlsys._encode, the
 * C call that turns a row's feature columns into the model's feature vector
 * in every training pass, in cross-validation and in the holdout predicate.
 * Scoring a record or a jsonb object goes through the same lookup
 * (preprocess_encode_datum, preprocess_encode_category), so training and
 * scoring cannot disagree on a category.
 *
 * A category is a value's text form as value::text gives it, which is how
 * training discovers the vocabulary: booleans are "true" and "false" (their
 * output function says "t" and "f"), char(n) loses its trailing blanks, and
 * other types use their output function. Text, varchar and char(n) values
 * are looked up by their bytes without a copy, and enum values through a
 * per-call-site cache of their OIDs.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "data/data.h"

/*
 * A column's vocabulary as a hash table. A category is keyed by its length
 * and its first and last 8 bytes (one word when it is no longer, see
 * mlsys_load_word): hashing costs the same for any length, and for the
 * usual short categories the key is the whole value, so no memcmp is
 * needed. The multiplier is searched for one that gives every category its
 * own slot (a perfect hash, for vocabularies of up to PERFECT_MAX): a lookup
 * is then one slot and one comparison. Larger vocabularies probe linearly.
 */
#define PERFECT_MAX 64

typedef struct CategorySlot
{
	uint64		head;			/* first 8 bytes (the key word) */
	uint64		tail;			/* last 8 bytes of a longer category, else 0 */
	int32		len;
	int32		category;		/* -1: empty */
} CategorySlot;

struct CategoryIndex
{
	uint64		multiplier;
	int			shift;			/* 64 − log2(size) */
	uint32		mask;
	bool		perfect;
	CategorySlot *slots;
};

static inline void
category_key(const char *s, int len, uint64 *head, uint64 *tail)
{
	*head = mlsys_load_word(s, len);
	*tail = len > 8 ? mlsys_load_word(s + len - 8, 8) : 0;
}

static inline uint32
category_slot(const CategoryIndex *ix, uint64 head, uint64 tail, int len)
{
	uint64		x = head ^ (tail * UINT64CONST(0x9E3779B97F4A7C15)) ^ (uint64) len;

	return (uint32) ((x * ix->multiplier) >> ix->shift);
}

/* place every category with the current multiplier; false on a collision when perfect */
static bool
category_place(CategoryIndex *ix, const FeatureColumn *c, const uint64 *heads,
			   const uint64 *tails, const int32 *lens)
{
	int			k;

	for (k = 0; k <= (int) ix->mask; k++)
		ix->slots[k].category = -1;
	for (k = 0; k < c->ncat; k++)
	{
		uint32		h = category_slot(ix, heads[k], tails[k], lens[k]);

		while (ix->slots[h].category >= 0)
		{
			if (ix->perfect)
				return false;
			h = (h + 1) & ix->mask;
		}
		ix->slots[h].head = heads[k];
		ix->slots[h].tail = tails[k];
		ix->slots[h].len = lens[k];
		ix->slots[h].category = k;
	}
	return true;
}

/* build the lookup table of a column whose vocabulary is set (current memory context) */
void
preprocess_index_categories(FeatureColumn *c)
{
	CategoryIndex *ix = palloc(sizeof(CategoryIndex));
	uint64	   *heads = palloc(sizeof(uint64) * Max(c->ncat, 1));
	uint64	   *tails = palloc(sizeof(uint64) * Max(c->ncat, 1));
	int32	   *lens = palloc(sizeof(int32) * Max(c->ncat, 1));
	int			bits = 2,
				k;

	for (k = 0; k < c->ncat; k++)
	{
		lens[k] = strlen(c->cats[k]);
		category_key(c->cats[k], lens[k], &heads[k], &tails[k]);
	}
	while ((1 << bits) < 2 * c->ncat)
		bits++;
	ix->perfect = c->ncat <= PERFECT_MAX;
	ix->slots = NULL;
	for (k = 0;; k++)
	{
		/* a perfect table may take up to 8 tries per size, and 16 times the categories */
		if (ix->perfect && k > 0 && k % 8 == 0)
		{
			if ((1 << bits) >= 16 * Max(c->ncat, 1))
				ix->perfect = false;	/* never in practice: probe instead */
			else
			{
				bits++;
				if (ix->slots != NULL)
					pfree(ix->slots);
				ix->slots = NULL;
			}
		}
		if (ix->slots == NULL)
			ix->slots = palloc(sizeof(CategorySlot) << bits);
		ix->mask = (1U << bits) - 1;
		ix->shift = 64 - bits;
		ix->multiplier = mlsys_mix64((uint64) k + 1) | 1;
		if (category_place(ix, c, heads, tails, lens))
			break;
	}
	pfree(heads);
	pfree(tails);
	pfree(lens);
	c->index = ix;
}

/* position of a category (its text's bytes) in a column's vocabulary, or -1 */
int
preprocess_category_lookup(const FeatureColumn *c, const char *s, int len)
{
	const CategoryIndex *ix = c->index;
	uint64		head,
				tail;
	uint32		h;

	category_key(s, len, &head, &tail);
	h = category_slot(ix, head, tail, len);
	for (;;)
	{
		const CategorySlot *e = &ix->slots[h];

		if (e->category < 0)
			return -1;
		if (e->head == head && e->tail == tail && e->len == len &&
			(len <= 16 || memcmp(c->cats[e->category] + 8, s + 8, len - 16) == 0))
			return e->category;
		if (ix->perfect)
			return -1;
		h = (h + 1) & ix->mask;
	}
}

/*
 * The vocabulary position of a non-null value of a column whose base type is
 * basetype (outfunc its output function), or -1 for an unseen category.
 */
static int
category_of_datum(const FeatureColumn *c, Datum d, Oid basetype, Oid outfunc)
{
	switch (basetype)
	{
		case TEXTOID:
		case VARCHAROID:
			{
				text	   *t = mlsys_text_bytes(d);

				return preprocess_category_lookup(c, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		case BPCHAROID:
			{
				/* char(n)::text drops the trailing blanks */
				text	   *t = mlsys_text_bytes(d);
				const char *s = VARDATA_ANY(t);
				int			len = VARSIZE_ANY_EXHDR(t);

				while (len > 0 && s[len - 1] == ' ')
					len--;
				return preprocess_category_lookup(c, s, len);
			}
		case BOOLOID:
			return DatumGetBool(d) ? preprocess_category_lookup(c, "true", 4) :
				preprocess_category_lookup(c, "false", 5);
		default:
			{
				char	   *s = OidOutputFunctionCall(outfunc, d);

				return preprocess_category_lookup(c, s, strlen(s));
			}
	}
}

/* write the one-hot features of category k (-1: none) or of NULL into out */
static inline void
one_hot(const FeatureColumn *c, bool isnull, int k, double *out)
{
	memset(out, 0, sizeof(double) * c->length);
	if (isnull)
		k = c->null_cat ? c->ncat : -1;
	if (k >= 0)
		out[k] = 1.0;
}

/* one-hot encode a value's text (NULL: the NULL category) into out[0 .. length-1] */
void
preprocess_encode_category(const FeatureColumn *c, const char *value, double *out)
{
	one_hot(c, value == NULL, value == NULL ? -1 :
			preprocess_category_lookup(c, value, strlen(value)), out);
}

/* the same for a column's datum (basetype: the value's base type) */
void
preprocess_encode_datum(const FeatureColumn *c, Datum d, bool isnull, Oid basetype,
						Oid outfunc, double *out)
{
	one_hot(c, isnull, isnull ? -1 : category_of_datum(c, d, basetype, outfunc), out);
}

/*
 * A call site of mlsys._encode: the spec its constant arguments describe and,
 * per feature column, the argument's base type and output function. Enum
 * values map to their category by OID through a small table per column.
 */
#define ENUM_CACHE_SIZE 256
typedef struct EnumSlot
{
	Oid			oid;			/* InvalidOid: empty */
	int32		category;		/* -1: not in the vocabulary */
} EnumSlot;

typedef struct EncodeSite
{
	FeatureSpec *spec;
	Oid		   *basetypes;
	Oid		   *outfuncs;
	EnumSlot  **enums;			/* per column: NULL unless an enum column */
	int		   *enum_used;
	bool	   *nulls;			/* per feature, for encode_row */
	bool		has_categorical;
} EncodeSite;

static int
enum_category(EncodeSite *site, int i, Datum d)
{
	const FeatureColumn *c = &site->spec->columns[i];
	EnumSlot   *tab = site->enums[i];
	Oid			oid = DatumGetObjectId(d);
	uint32		h = hash_bytes_uint32(oid) & (ENUM_CACHE_SIZE - 1);
	int			k;

	while (OidIsValid(tab[h].oid))
	{
		if (tab[h].oid == oid)
			return tab[h].category;
		h = (h + 1) & (ENUM_CACHE_SIZE - 1);
	}
	k = category_of_datum(c, d, site->basetypes[i], site->outfuncs[i]);
	/* keep the table at most half full; past that, look labels up each time */
	if (site->enum_used[i] < ENUM_CACHE_SIZE / 2)
	{
		tab[h].oid = oid;
		tab[h].category = k;
		site->enum_used[i]++;
	}
	return k;
}

static EncodeSite *
encode_site_prepare(FunctionCallInfo fcinfo)
{
	EncodeSite *site;
	FeatureSpec *spec;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature columns and lengths must not be null")));
	spec = features_from_arrays(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1),
								PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));
	if (PG_NARGS() - 3 != spec->ncolumns)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected %d feature values, got %d", spec->ncolumns, PG_NARGS() - 3),
				 errdetail("Pass one value per feature column, in the order of the columns.")));
	site = palloc0(sizeof(EncodeSite));
	site->spec = spec;
	site->basetypes = palloc(sizeof(Oid) * spec->ncolumns);
	site->outfuncs = palloc0(sizeof(Oid) * spec->ncolumns);
	site->enums = palloc0(sizeof(EnumSlot *) * spec->ncolumns);
	site->enum_used = palloc0(sizeof(int) * spec->ncolumns);
	site->nulls = palloc(sizeof(bool) * Max(spec->nfeat, 1));
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];
		Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, i + 3);
		bool		is_array;

		if (!OidIsValid(argtype))
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_DATATYPE),
					 errmsg("could not determine the type of feature \"%s\"", c->name)));
		site->basetypes[i] = getBaseType(argtype);
		if (c->categorical)
		{
			bool		varlena;

			site->has_categorical = true;
			getTypeOutputInfo(argtype, &site->outfuncs[i], &varlena);
			if (type_is_enum(site->basetypes[i]))
				site->enums[i] = palloc0(sizeof(EnumSlot) * ENUM_CACHE_SIZE);
		}
		else if (!features_type_supported(site->basetypes[i], &is_array) ||
				 is_array != (c->length > 0))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, which cannot be a feature",
							c->name, format_type_be(argtype))));
	}
	return site;
}

/* the error of a float8[] feature column's NULL or wrong-length value */
static void
check_array_column(const FeatureColumn *c, bool isnull, const Float8ArrayView *v)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature \"%s\" must not be null", c->name),
				 errhint("Filter out rows with null features before training.")));
	if (v->n != c->length)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature \"%s\" has %d elements, expected %d",
						c->name, v->n, c->length),
				 errdetail("A float8[] feature column must have the same length in every row.")));
}

/*
 * The row's feature vector into out; nulls[k] set for a missing value that
 * the spec does not impute (a NULL numeric value, or a NULL element of an
 * array), which the training pass then reports (or imputation catches).
 * Returns whether any was set.
 */
static bool
encode_row(EncodeSite *site, FunctionCallInfo fcinfo, double *out, bool *nulls)
{
	const FeatureSpec *spec = site->spec;
	bool		anynull = false;
	int			i,
				k = 0;

	/* one-hot features are zero but one: clear them all at once */
	if (site->has_categorical)
		memset(out, 0, sizeof(double) * spec->nfeat);
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];
		bool		isnull = PG_ARGISNULL(i + 3);
		Datum		d = isnull ? (Datum) 0 : PG_GETARG_DATUM(i + 3);

		if (c->categorical)
		{
			int			cat;

			if (isnull)
				cat = c->null_cat ? c->ncat : -1;
			else
				cat = site->enums[i] != NULL ? enum_category(site, i, d) :
					category_of_datum(c, d, site->basetypes[i], site->outfuncs[i]);
			if (cat >= 0)
				out[k + cat] = 1.0;
			k += c->length;
		}
		else if (c->length == 0)
		{
			double		x = isnull ? get_float8_nan() :
				features_coerce(d, site->basetypes[i], c->name);

			if (isnan(x) && c->has_impute)
				x = c->impute;
			else if (isnull)
			{
				if (!anynull)
					memset(nulls, 0, sizeof(bool) * spec->nfeat);
				nulls[k] = true;
				anynull = true;
			}
			out[k++] = x;
		}
		else
		{
			Float8ArrayView v;

			if (isnull && spec->keep_missing)
			{
				/* a missing array: every element missing */
				for (int j = 0; j < c->length; j++)
					out[k + j] = get_float8_nan();
				k += c->length;
				continue;
			}
			if (!isnull)
				mlsys_array_view(d, &v);
			check_array_column(c, isnull, &v);
			if (v.hasnull && spec->keep_missing)
				features_array_into(spec, d, out + k, c->length, c->name);
			else if (v.hasnull)
			{
				Datum	   *elems;
				bool	   *enulls;
				int			n,
							j;

				deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL,
								  TYPALIGN_DOUBLE, &elems, &enulls, &n);
				if (!anynull)
					memset(nulls, 0, sizeof(bool) * spec->nfeat);
				for (j = 0; j < n; j++)
				{
					out[k + j] = enulls[j] ? 0.0 : DatumGetFloat8(elems[j]);
					nulls[k + j] = enulls[j];
				}
				anynull = true;
			}
			else
				memcpy(out + k, v.data, sizeof(double) * c->length);
			k += c->length;
		}
	}
	return anynull;
}

PG_FUNCTION_INFO_V1(encode_features);
/*
 * mlsys._encode(columns text[], lengths int[], preprocessing jsonb,
 * VARIADIC "any") → float8[]: a row's feature vector from its feature
 * columns, given in the order of columns, as the model version whose spec
 * (columns, lengths, preprocessing) the first three arguments are encodes it.
 */
Datum
encode_features(PG_FUNCTION_ARGS)
{
	EncodeSite *site = (EncodeSite *) fcinfo->flinfo->fn_extra;
	int			nfeat;
	bool	   *nulls;
	ArrayType  *result;

	if (site == NULL)
	{
		/*
		 * A constant spec (as training and the holdout predicate write it) is
		 * prepared once per call site; any other is prepared for the row
		 * alone, in the row's memory.
		 */
		bool		constant = get_fn_expr_arg_stable(fcinfo->flinfo, 0) &&
			get_fn_expr_arg_stable(fcinfo->flinfo, 1) &&
			get_fn_expr_arg_stable(fcinfo->flinfo, 2);
		MemoryContext old = MemoryContextSwitchTo(constant ? fcinfo->flinfo->fn_mcxt :
												  CurrentMemoryContext);

		site = encode_site_prepare(fcinfo);
		MemoryContextSwitchTo(old);
		if (constant)
			fcinfo->flinfo->fn_extra = site;
	}
	nfeat = site->spec->nfeat;

	/* the common case: written straight into the result, no nulls */
	result = mlsys_float8_array_alloc(nfeat);
	nulls = site->nulls;		/* cleared by encode_row at its first null */
	if (encode_row(site, fcinfo, (double *) ARR_DATA_PTR(result), nulls))
	{
		double	   *vals = (double *) ARR_DATA_PTR(result);
		Datum	   *elems = palloc(sizeof(Datum) * nfeat);
		int			dims[1] = {nfeat},
					lbs[1] = {1},
					j;

		for (j = 0; j < nfeat; j++)
			elems[j] = Float8GetDatum(vals[j]);
		result = construct_md_array(elems, nulls, 1, dims, lbs, FLOAT8OID, 8,
									FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	}
	PG_RETURN_ARRAYTYPE_P(result);
}
