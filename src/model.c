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
 *   payload, linear model:
 *     int32 nfeat, int32 reserved (0), float8 intercept, float8 coef[nfeat]
 *
 * A blob that fails any check (length, magic, version, checksum, sizes,
 * non-finite values) raises ERRCODE_DATA_CORRUPTED: a tampered or truncated
 * version is never served.
 */
#include "postgres.h"

#include <math.h>

#include "port/pg_crc32c.h"

#include "mlsys.h"

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

/* serialize a linear model: coef[0] is the intercept, then nfeat weights */
bytea *
model_serialize_linear(const double *coef_with_intercept, int nfeat)
{
	uint32		payload_len = 8 + sizeof(double) * (uint32) (nfeat + 1);
	bytea	   *blob = palloc0(VARHDRSZ + sizeof(ModelHeader) + payload_len);
	ModelHeader hdr;
	char	   *payload = VARDATA(blob) + sizeof(ModelHeader);
	int32		n32 = nfeat;

	SET_VARSIZE(blob, VARHDRSZ + sizeof(ModelHeader) + payload_len);
	memcpy(payload, &n32, sizeof(int32));
	memcpy(payload + 8, coef_with_intercept, sizeof(double) * (nfeat + 1));
	hdr.magic = MODEL_MAGIC;
	hdr.format_version = MODEL_FORMAT_VERSION;
	hdr.kind = MODEL_LINEAR;
	hdr.payload_len = payload_len;
	hdr.crc = model_crc(&hdr, payload, payload_len);
	memcpy(VARDATA(blob), &hdr, sizeof(hdr));
	return blob;
}

/* parse and verify a linear model blob; the result is palloc'd in the current context */
LinearModel *
model_deserialize_linear(bytea *blob)
{
	ModelHeader hdr;
	const char *data = VARDATA_ANY(blob);
	Size		len = VARSIZE_ANY_EXHDR(blob);
	const char *payload;
	int32		nfeat;
	LinearModel *lm;
	int			j;

	if (len < sizeof(ModelHeader))
		corrupted("The blob is shorter than its header.");
	memcpy(&hdr, data, sizeof(hdr));
	payload = data + sizeof(ModelHeader);
	if (hdr.magic != MODEL_MAGIC)
		corrupted("The blob does not start with the mlsys model signature.");
	if (hdr.format_version != MODEL_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model format version %d is not supported by this build of mlsys",
						hdr.format_version)));
	if (hdr.payload_len != len - sizeof(ModelHeader))
		corrupted("The blob's length does not match its header.");
	if (hdr.crc != model_crc(&hdr, payload, hdr.payload_len))
		corrupted("The checksum does not match.");
	if (hdr.kind != MODEL_LINEAR)
		corrupted("The blob holds a kind of model this function cannot read.");
	if (hdr.payload_len < 8)
		corrupted("The payload is too short.");
	memcpy(&nfeat, payload, sizeof(int32));
	if (nfeat < 1 || nfeat > MLSYS_MAX_FEATURES ||
		hdr.payload_len != 8 + sizeof(double) * (uint32) (nfeat + 1))
		corrupted("The feature count does not match the payload.");

	lm = palloc(sizeof(LinearModel));
	lm->nfeat = nfeat;
	lm->coef = palloc(sizeof(double) * nfeat);
	memcpy(&lm->intercept, payload + 8, sizeof(double));
	memcpy(lm->coef, payload + 16, sizeof(double) * nfeat);
	if (!isfinite(lm->intercept))
		corrupted("The intercept is not finite.");
	for (j = 0; j < nfeat; j++)
		if (!isfinite(lm->coef[j]))
			corrupted("A coefficient is not finite.");
	return lm;
}
