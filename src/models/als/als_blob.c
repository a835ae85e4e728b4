/*
 * als_blob.c — the blob of an ALS recommender (kind 3), inside the envelope
 * of models/blob.c, f factors, nu users, ni items, ns seen:
 *     int32 implicit, int32 f, int32 nu, int32 ni, int64 ns,
 *     float8 mu, float8 lambda, float8 alpha,
 *     int64 user_ids[nu], int64 item_ids[ni] (both strictly increasing),
 *     float8 user_bias[nu], float8 item_bias[ni],
 *     int32 seen_off[nu + 1], int32 seen_items[ns], int32 counts[ni],
 *     float4 U[nu·f], float4 V[ni·f] (row-major)
 * A blob that fails any check raises ERRCODE_DATA_CORRUPTED.
 */
#include "postgres.h"

#include <math.h>

#include "utils/memutils.h"

#include "models/als/als.h"

/*
 * payload bytes of an ALS model (sizes not negative); computed in Size, as a
 * blob's counts may be anything up to INT32_MAX (found by test/fuzz)
 */
static Size
als_payload_len(int f, int nu, int ni, int64 ns)
{
	return 48 + 8 * (2 * (Size) nu + 2 * (Size) ni) + 4 * ((Size) nu + 1 + (Size) ns + (Size) ni) +
		4 * (Size) f * ((Size) nu + (Size) ni);
}

/* serialize a fitted recommender; factors are rounded to float4 */
bytea *
model_serialize_als(const AlsFit *fit)
{
	int			nu = fit->nusers,
				ni = fit->nitems,
				f = fit->f;
	int64		ns = fit->seen_off[nu];
	Size		len = als_payload_len(f, nu, ni, ns);
	char	   *payload;
	char	   *p;
	bytea	   *blob;
	int32		hdr4[4] = {fit->implicit ? 1 : 0, f, nu, ni};
	Size		j;

	if (len > MaxAllocSize - VARHDRSZ - MODEL_HEADER_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the recommender is too large to store"),
				 errdetail("%d users and %d items with %d factors need %zu bytes; the limit is 1 GB.",
						   nu, ni, f, len),
				 errhint("Use fewer factors.")));
	blob = model_new_blob((uint32) len, &payload);
	p = payload;
#define PUT(src, bytes) do { memcpy(p, (src), (bytes)); p += (bytes); } while (0)
	PUT(hdr4, sizeof(hdr4));
	PUT(&ns, 8);
	PUT(&fit->mu, 8);
	PUT(&fit->lambda, 8);
	PUT(&fit->alpha, 8);
	PUT(fit->user_ids, 8 * (Size) nu);
	PUT(fit->item_ids, 8 * (Size) ni);
	PUT(fit->user_bias, 8 * (Size) nu);
	PUT(fit->item_bias, 8 * (Size) ni);
	PUT(fit->seen_off, 4 * (Size) (nu + 1));
	PUT(fit->seen_items, 4 * (Size) ns);
	PUT(fit->counts, 4 * (Size) ni);
#undef PUT
	for (j = 0; j < (Size) nu * f; j++, p += 4)
	{
		float		v = (float) fit->U[j];

		memcpy(p, &v, 4);
	}
	for (j = 0; j < (Size) ni * f; j++, p += 4)
	{
		float		v = (float) fit->V[j];

		memcpy(p, &v, 4);
	}
	Assert(p == payload + len);
	model_seal(blob, MODEL_ALS);
	return blob;
}

/* a finite float4 array? */
static bool
floats_finite(const float *x, Size n)
{
	Size		j;

	for (j = 0; j < n; j++)
		if (!isfinite(x[j]))
			return false;
	return true;
}

/* parse and verify a recommender blob into the current memory context */
AlsModel *
model_deserialize_als(bytea *blob)
{
	const char *payload;
	const char *p;
	uint32		len;
	int32		hdr4[4];
	int64		ns;
	AlsModel   *m;
	int			nu,
				ni,
				f,
				j;

	if (model_open(blob, &payload, &len) != MODEL_ALS)
		model_corrupted("The blob does not hold a recommender.");
	if (len < 48)
		model_corrupted("The payload is too short.");
	memcpy(hdr4, payload, sizeof(hdr4));
	memcpy(&ns, payload + 16, 8);
	f = hdr4[1];
	nu = hdr4[2];
	ni = hdr4[3];
	if ((hdr4[0] != 0 && hdr4[0] != 1) || f < 1 || f > ALS_MAX_FACTORS ||
		nu < 1 || ni < 1 || ns < 0 || ns > PG_INT32_MAX ||
		(Size) len != als_payload_len(f, nu, ni, ns))
		model_corrupted("The recommender's sizes do not match the payload.");

	m = palloc0(sizeof(AlsModel));
	m->implicit = hdr4[0] == 1;
	m->f = f;
	m->nusers = nu;
	m->nitems = ni;
	m->nseen = ns;
	p = payload + 24;
#define GET(dst, bytes) do { memcpy((dst), p, (bytes)); p += (bytes); } while (0)
	GET(&m->mu, 8);
	GET(&m->lambda, 8);
	GET(&m->alpha, 8);
	m->user_ids = palloc(8 * (Size) nu);
	m->item_ids = palloc(8 * (Size) ni);
	m->user_bias = palloc(8 * (Size) nu);
	m->item_bias = palloc(8 * (Size) ni);
	m->seen_off = palloc(4 * (Size) (nu + 1));
	m->seen_items = palloc(4 * (Size) Max(ns, 1));
	m->counts = palloc(4 * (Size) ni);
	m->U = palloc(4 * (Size) nu * f);
	m->V = palloc(4 * (Size) ni * f);
	GET(m->user_ids, 8 * (Size) nu);
	GET(m->item_ids, 8 * (Size) ni);
	GET(m->user_bias, 8 * (Size) nu);
	GET(m->item_bias, 8 * (Size) ni);
	GET(m->seen_off, 4 * (Size) (nu + 1));
	GET(m->seen_items, 4 * (Size) ns);
	GET(m->counts, 4 * (Size) ni);
	GET(m->U, 4 * (Size) nu * f);
	GET(m->V, 4 * (Size) ni * f);
#undef GET

	if (!isfinite(m->mu) || !isfinite(m->lambda) || !isfinite(m->alpha))
		model_corrupted("A recommender parameter is not finite.");
	for (j = 1; j < nu; j++)
		if (m->user_ids[j] <= m->user_ids[j - 1])
			model_corrupted("The user ids are not increasing.");
	for (j = 1; j < ni; j++)
		if (m->item_ids[j] <= m->item_ids[j - 1])
			model_corrupted("The item ids are not increasing.");
	if (m->seen_off[0] != 0 || m->seen_off[nu] != ns)
		model_corrupted("The seen-items offsets do not match their count.");
	for (j = 0; j < nu; j++)
	{
		int32		a = m->seen_off[j],
					b = m->seen_off[j + 1],
					t;

		if (b < a)
			model_corrupted("The seen-items offsets are not increasing.");
		for (t = a; t < b; t++)
			if (m->seen_items[t] < 0 || m->seen_items[t] >= ni ||
				(t > a && m->seen_items[t] <= m->seen_items[t - 1]))
				model_corrupted("A seen item is out of range or out of order.");
		if (!isfinite(m->user_bias[j]))
			model_corrupted("A user bias is not finite.");
	}
	for (j = 0; j < ni; j++)
		if (!isfinite(m->item_bias[j]) || m->counts[j] < 0)
			model_corrupted("An item bias or count is not valid.");
	if (!floats_finite(m->U, (Size) nu * f) || !floats_finite(m->V, (Size) ni * f))
		model_corrupted("A factor is not finite.");
	return m;
}
