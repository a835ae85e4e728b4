/*
 * blob.c — the serialized parameter blob stored in mlsys.model_versions.params:
 * its envelope (header and checksum, for every family) and the payloads of
 * the linear predictor (the linear and logistic families). A family that
 * stores something else writes its own payload inside the same envelope
 * (the ALS payload is models/als/als_blob.c's).
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
 *   payload, ALS recommender (kind 3): see models/als/als_blob.c
 *
 * A blob that fails any check (length, magic, version, checksum, sizes,
 * non-finite values) raises ERRCODE_DATA_CORRUPTED: a tampered or truncated
 * version is never served.
 */
#include "postgres.h"

#include <math.h>

#include "port/pg_crc32c.h"
#include "utils/memutils.h"

#include "models/family.h"

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

StaticAssertDecl(sizeof(ModelHeader) == MODEL_HEADER_SIZE, "model header must be 16 bytes");

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

void
model_corrupted(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model parameters are corrupted"),
			 errdetail("%s", detail),
			 errhint("Retrain the model or deploy another version.")));
}

/* a blob of the given kind with room for payload_len bytes; sealed by model_seal */
bytea *
model_new_blob(uint32 payload_len, char **payload)
{
	bytea	   *blob = palloc0(VARHDRSZ + sizeof(ModelHeader) + payload_len);

	SET_VARSIZE(blob, VARHDRSZ + sizeof(ModelHeader) + payload_len);
	*payload = VARDATA(blob) + sizeof(ModelHeader);
	return blob;
}

/* write the header and checksum of a filled blob */
void
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
			model_corrupted("A standardization parameter is not valid.");
		lm->inv_scale[j] = 1.0 / lm->scale[j];
	}
}

/* verify a blob's header and checksum; returns its kind and payload */
ModelKind
model_open(bytea *blob, const char **payload, uint32 *payload_len)
{
	ModelHeader hdr;
	const char *data = VARDATA_ANY(blob);
	Size		len = VARSIZE_ANY_EXHDR(blob);

	if (len < sizeof(ModelHeader))
		model_corrupted("The blob is shorter than its header.");
	memcpy(&hdr, data, sizeof(hdr));
	*payload = data + sizeof(ModelHeader);
	if (hdr.magic != MODEL_MAGIC)
		model_corrupted("The blob does not start with the mlsys model signature.");
	if (hdr.format_version != MODEL_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model format version %d is not supported by this build of mlsys",
						hdr.format_version)));
	if (hdr.payload_len != len - sizeof(ModelHeader))
		model_corrupted("The blob's length does not match its header.");
	if (hdr.crc != model_crc(&hdr, *payload, hdr.payload_len))
		model_corrupted("The checksum does not match.");
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
		model_corrupted("The blob holds a kind of model this function cannot read.");
	if (hdr.payload_len < 8)
		model_corrupted("The payload is too short.");
	memcpy(&nfeat, payload, sizeof(int32));
	if (hdr.kind == MODEL_SOFTMAX)
	{
		int32		nclass;
		Size		nt;

		memcpy(&nclass, payload + 4, sizeof(int32));
		if (nfeat < 1 || nfeat > MLSYS_MAX_FEATURES || nclass < 3 || nclass > 100 ||
			hdr.payload_len != 8 + sizeof(double) * ((Size) nclass * (nfeat + 1) + 2 * (Size) nfeat))
			model_corrupted("The feature and class counts do not match the payload.");
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
				model_corrupted("A coefficient is not finite.");
		lm->coef = lm->multi + 1;	/* class 0's weights, for code that wants one vector */
		lm->intercept = lm->multi[0];
		return lm;
	}
	if (nfeat < 1 || nfeat > MLSYS_MAX_FEATURES ||
		hdr.payload_len != (hdr.kind == MODEL_LINEAR ?
							8 + sizeof(double) * (uint32) (nfeat + 1) :
							16 + sizeof(double) * (uint32) (3 * nfeat + 1)))
		model_corrupted("The feature count does not match the payload.");

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
			model_corrupted("The decision threshold is not a probability.");
		check_standardization(lm);
	}
	if (!isfinite(lm->intercept))
		model_corrupted("The intercept is not finite.");
	for (j = 0; j < nfeat; j++)
		if (!isfinite(lm->coef[j]))
			model_corrupted("A coefficient is not finite.");
	return lm;
}

/* the kind of a verified blob */
ModelKind
model_blob_kind(bytea *blob)
{
	const char *payload;
	uint32		len;

	return model_open(blob, &payload, &len);
}
