/*
 * model.c — the serialized parameter blob stored in mlsys.model_versions.params.
 * Nothing else reads or writes its bytes.
 *
 * Layout (all integers and floats in the server's native byte order):
 *   header, 16 bytes:
 *     uint32 magic           0x4D4C534D ("MLSM")
 *     uint16 format_version  MODEL_FORMAT_VERSION
 *     uint16 kind            ModelKind (1 = linear)
 *     uint32 payload_len     bytes after the header
 *     uint32 crc             CRC-32C of the header (crc field zeroed) and payload
 *   payload, linear model (kind 1):
 *     int32 nfeat, int32 reserved (0), float8 intercept, float8 coef[nfeat]
 *   payload, logistic model (kind 2):
 *     int32 nfeat, int32 reserved (0), float8 threshold, float8 intercept,
 *     float8 coef[nfeat], float8 center[nfeat], float8 scale[nfeat]
 *   payload, multinomial logistic model (kind 4):
 *     int32 nfeat, int32 nclass, float8 theta[nclass · (nfeat + 1)] (per class
 *     the intercept, then the weights), float8 center[nfeat], float8 scale[nfeat]
 *   payload, ALS recommender (kind 3), f factors, nu users, ni items, ns seen:
 *     int32 implicit, int32 f, int32 nu, int32 ni, int64 ns,
 *     float8 mu, float8 lambda, float8 alpha,
 *     int64 user_ids[nu], int64 item_ids[ni] (both strictly increasing),
 *     float8 user_bias[nu], float8 item_bias[ni],
 *     int32 seen_off[nu + 1], int32 seen_items[ns], int32 counts[ni],
 *     float4 U[nu·f], float4 V[ni·f] (row-major)
 *
 * A blob that fails any check (length, magic, version, checksum, sizes,
 * non-finite values) raises ERRCODE_DATA_CORRUPTED: a tampered or truncated
 * version is never served.
 */
#include "postgres.h"

#include <math.h>

#include "port/pg_crc32c.h"
#include "utils/memutils.h"

#include "mlsys.h"
#include "recommend.h"

#define MODEL_MAGIC 0x4D4C534Du
#define MODEL_FORMAT_VERSION 1

typedef struct ModelHeader
{
	uint32		magic;
	uint16		format_version;
	uint16		kind;
	uint32		payload_len;
	uint32		crc;
} ModelHeader;

StaticAssertDecl(sizeof(ModelHeader) == 16, "model header must be 16 bytes");

static uint32
model_crc(const ModelHeader *hdr, const char *payload, uint32 len)
{
	ModelHeader h = *hdr;
	pg_crc32c	crc;

	h.crc = 0;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &h, sizeof(h));
	COMP_CRC32C(crc, payload, len);
	FIN_CRC32C(crc);
	return crc;
}

static void
corrupted(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model parameters are corrupted"),
			 errdetail("%s", detail),
			 errhint("Retrain the model or deploy another version.")));
}

/* a blob of the given kind with room for payload_len bytes; sealed by model_seal */
static bytea *
model_new_blob(uint32 payload_len, char **payload)
{
	bytea	   *blob = palloc0(VARHDRSZ + sizeof(ModelHeader) + payload_len);

	SET_VARSIZE(blob, VARHDRSZ + sizeof(ModelHeader) + payload_len);
	*payload = VARDATA(blob) + sizeof(ModelHeader);
	return blob;
}

/* write the header and checksum of a filled blob */
static void
model_seal(bytea *blob, ModelKind kind)
{
	ModelHeader hdr;
	uint32		payload_len = VARSIZE(blob) - VARHDRSZ - sizeof(ModelHeader);

	hdr.magic = MODEL_MAGIC;
	hdr.format_version = MODEL_FORMAT_VERSION;
	hdr.kind = kind;
	hdr.payload_len = payload_len;
	hdr.crc = model_crc(&hdr, VARDATA(blob) + sizeof(ModelHeader), payload_len);
	memcpy(VARDATA(blob), &hdr, sizeof(hdr));
}

/* serialize a linear model: coef[0] is the intercept, then nfeat weights */
bytea *
model_serialize_linear(const double *coef_with_intercept, int nfeat)
{
	char	   *payload;
	bytea	   *blob = model_new_blob(8 + sizeof(double) * (uint32) (nfeat + 1), &payload);
	int32		n32 = nfeat;

	memcpy(payload, &n32, sizeof(int32));
	memcpy(payload + 8, coef_with_intercept, sizeof(double) * (nfeat + 1));
	model_seal(blob, MODEL_LINEAR);
	return blob;
}

/* serialize a binary logistic model: w[0] the intercept, then nfeat weights */
bytea *
model_serialize_logistic(const double *w, const double *center, const double *scale,
						 int nfeat, double threshold)
{
	char	   *payload;
	bytea	   *blob = model_new_blob(16 + sizeof(double) * (uint32) (3 * nfeat + 1), &payload);
	int32		n32 = nfeat;

	memcpy(payload, &n32, sizeof(int32));
	memcpy(payload + 8, &threshold, sizeof(double));
	memcpy(payload + 16, w, sizeof(double) * (nfeat + 1));
	memcpy(payload + 16 + sizeof(double) * (nfeat + 1), center, sizeof(double) * nfeat);
	memcpy(payload + 16 + sizeof(double) * (2 * nfeat + 1), scale, sizeof(double) * nfeat);
	model_seal(blob, MODEL_LOGISTIC);
	return blob;
}

/* serialize a multinomial logistic model: theta class-major, K (nfeat + 1) values */
bytea *
model_serialize_softmax(const double *theta, const double *center, const double *scale,
						int nfeat, int nclass)
{
	char	   *payload;
	Size		nt = (Size) nclass * (nfeat + 1);
	bytea	   *blob = model_new_blob(8 + sizeof(double) * (uint32) (nt + 2 * nfeat), &payload);
	int32		n32 = nfeat,
				k32 = nclass;

	memcpy(payload, &n32, sizeof(int32));
	memcpy(payload + 4, &k32, sizeof(int32));
	memcpy(payload + 8, theta, sizeof(double) * nt);
	memcpy(payload + 8 + sizeof(double) * nt, center, sizeof(double) * nfeat);
	memcpy(payload + 8 + sizeof(double) * (nt + nfeat), scale, sizeof(double) * nfeat);
	model_seal(blob, MODEL_SOFTMAX);
	return blob;
}

/* the standardization of a logistic model: finite centers, positive scales */
static void
check_standardization(LinearModel *lm)
{
	int			j;

	lm->inv_scale = palloc(sizeof(double) * lm->nfeat);
	for (j = 0; j < lm->nfeat; j++)
	{
		if (!isfinite(lm->center[j]) || !(lm->scale[j] > 0) || !isfinite(lm->scale[j]))
			corrupted("A standardization parameter is not valid.");
		lm->inv_scale[j] = 1.0 / lm->scale[j];
	}
}

/* verify a blob's header and checksum; returns its kind and payload */
static ModelKind
model_open(bytea *blob, const char **payload, uint32 *payload_len)
{
	ModelHeader hdr;
	const char *data = VARDATA_ANY(blob);
	Size		len = VARSIZE_ANY_EXHDR(blob);

	if (len < sizeof(ModelHeader))
		corrupted("The blob is shorter than its header.");
	memcpy(&hdr, data, sizeof(hdr));
	*payload = data + sizeof(ModelHeader);
	if (hdr.magic != MODEL_MAGIC)
		corrupted("The blob does not start with the mlsys model signature.");
	if (hdr.format_version != MODEL_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model format version %d is not supported by this build of mlsys",
						hdr.format_version)));
	if (hdr.payload_len != len - sizeof(ModelHeader))
		corrupted("The blob's length does not match its header.");
	if (hdr.crc != model_crc(&hdr, *payload, hdr.payload_len))
		corrupted("The checksum does not match.");
	*payload_len = hdr.payload_len;
	return (ModelKind) hdr.kind;
}

/* parse and verify a linear model blob; the result is palloc'd in the current context */
LinearModel *
model_deserialize_linear(bytea *blob)
{
	ModelHeader hdr;
	const char *payload;
	int32		nfeat;
	LinearModel *lm;
	int			j;

	hdr.kind = model_open(blob, &payload, &hdr.payload_len);
	if (hdr.kind != MODEL_LINEAR && hdr.kind != MODEL_LOGISTIC && hdr.kind != MODEL_SOFTMAX)
		corrupted("The blob holds a kind of model this function cannot read.");
	if (hdr.payload_len < 8)
		corrupted("The payload is too short.");
	memcpy(&nfeat, payload, sizeof(int32));
	if (hdr.kind == MODEL_SOFTMAX)
	{
		int32		nclass;
		Size		nt;

		memcpy(&nclass, payload + 4, sizeof(int32));
		if (nfeat < 1 || nfeat > MLSYS_MAX_FEATURES || nclass < 3 || nclass > 100 ||
			hdr.payload_len != 8 + sizeof(double) * ((Size) nclass * (nfeat + 1) + 2 * (Size) nfeat))
			corrupted("The feature and class counts do not match the payload.");
		nt = (Size) nclass * (nfeat + 1);
		lm = palloc0(sizeof(LinearModel));
		lm->kind = MODEL_SOFTMAX;
		lm->nfeat = nfeat;
		lm->nclass_out = nclass;
		lm->multi = palloc(sizeof(double) * nt);
		lm->center = palloc(sizeof(double) * nfeat);
		lm->scale = palloc(sizeof(double) * nfeat);
		memcpy(lm->multi, payload + 8, sizeof(double) * nt);
		memcpy(lm->center, payload + 8 + sizeof(double) * nt, sizeof(double) * nfeat);
		memcpy(lm->scale, payload + 8 + sizeof(double) * (nt + nfeat), sizeof(double) * nfeat);
		check_standardization(lm);
		for (j = 0; j < (int) nt; j++)
			if (!isfinite(lm->multi[j]))
				corrupted("A coefficient is not finite.");
		lm->coef = lm->multi + 1;	/* class 0's weights, for code that wants one vector */
		lm->intercept = lm->multi[0];
		return lm;
	}
	if (nfeat < 1 || nfeat > MLSYS_MAX_FEATURES ||
		hdr.payload_len != (hdr.kind == MODEL_LINEAR ?
							8 + sizeof(double) * (uint32) (nfeat + 1) :
							16 + sizeof(double) * (uint32) (3 * nfeat + 1)))
		corrupted("The feature count does not match the payload.");

	lm = palloc0(sizeof(LinearModel));
	lm->kind = hdr.kind;
	lm->nfeat = nfeat;
	lm->coef = palloc(sizeof(double) * nfeat);
	if (hdr.kind == MODEL_LINEAR)
	{
		memcpy(&lm->intercept, payload + 8, sizeof(double));
		memcpy(lm->coef, payload + 16, sizeof(double) * nfeat);
	}
	else
	{
		lm->center = palloc(sizeof(double) * nfeat);
		lm->scale = palloc(sizeof(double) * nfeat);
		memcpy(&lm->threshold, payload + 8, sizeof(double));
		memcpy(&lm->intercept, payload + 16, sizeof(double));
		memcpy(lm->coef, payload + 24, sizeof(double) * nfeat);
		memcpy(lm->center, payload + 24 + sizeof(double) * nfeat, sizeof(double) * nfeat);
		memcpy(lm->scale, payload + 24 + sizeof(double) * 2 * nfeat, sizeof(double) * nfeat);
		if (!(lm->threshold >= 0.0 && lm->threshold <= 1.0))
			corrupted("The decision threshold is not a probability.");
		check_standardization(lm);
	}
	if (!isfinite(lm->intercept))
		corrupted("The intercept is not finite.");
	for (j = 0; j < nfeat; j++)
		if (!isfinite(lm->coef[j]))
			corrupted("A coefficient is not finite.");
	return lm;
}

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

	if (len > MaxAllocSize - VARHDRSZ - sizeof(ModelHeader))
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
		corrupted("The blob does not hold a recommender.");
	if (len < 48)
		corrupted("The payload is too short.");
	memcpy(hdr4, payload, sizeof(hdr4));
	memcpy(&ns, payload + 16, 8);
	f = hdr4[1];
	nu = hdr4[2];
	ni = hdr4[3];
	if ((hdr4[0] != 0 && hdr4[0] != 1) || f < 1 || f > ALS_MAX_FACTORS ||
		nu < 1 || ni < 1 || ns < 0 || ns > PG_INT32_MAX ||
		(Size) len != als_payload_len(f, nu, ni, ns))
		corrupted("The recommender's sizes do not match the payload.");

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
		corrupted("A recommender parameter is not finite.");
	for (j = 1; j < nu; j++)
		if (m->user_ids[j] <= m->user_ids[j - 1])
			corrupted("The user ids are not increasing.");
	for (j = 1; j < ni; j++)
		if (m->item_ids[j] <= m->item_ids[j - 1])
			corrupted("The item ids are not increasing.");
	if (m->seen_off[0] != 0 || m->seen_off[nu] != ns)
		corrupted("The seen-items offsets do not match their count.");
	for (j = 0; j < nu; j++)
	{
		int32		a = m->seen_off[j],
					b = m->seen_off[j + 1],
					t;

		if (b < a)
			corrupted("The seen-items offsets are not increasing.");
		for (t = a; t < b; t++)
			if (m->seen_items[t] < 0 || m->seen_items[t] >= ni ||
				(t > a && m->seen_items[t] <= m->seen_items[t - 1]))
				corrupted("A seen item is out of range or out of order.");
		if (!isfinite(m->user_bias[j]))
			corrupted("A user bias is not finite.");
	}
	for (j = 0; j < ni; j++)
		if (!isfinite(m->item_bias[j]) || m->counts[j] < 0)
			corrupted("An item bias or count is not valid.");
	if (!floats_finite(m->U, (Size) nu * f) || !floats_finite(m->V, (Size) ni * f))
		corrupted("A factor is not finite.");
	return m;
}
