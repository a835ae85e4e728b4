/*
 * fuzz_model.c — libFuzzer harness for the model blob parsers of
 * src/models/blob.c and src/models/als/als_blob.c
 * (model_deserialize_linear, model_deserialize_als), built outside the server
 * with the stubs of stubs.c. Run it with test/fuzz/run.sh (`make fuzz`).
 *
 * Each input is tried twice against both parsers: as is (a blob tampered
 * with anywhere, which the checksum should catch), and with the header's
 * payload_len and CRC recomputed, so that the checks after the checksum —
 * sizes, counts, finiteness, ordering — meet hostile bytes too (a blob
 * written by someone who knows the format). A parser must either accept the
 * blob or raise ERRCODE_DATA_CORRUPTED (an unknown format version:
 * FEATURE_NOT_SUPPORTED; a memory limit: PROGRAM_LIMIT_EXCEEDED); anything else —
 * a crash, an out-of-bounds read caught by AddressSanitizer, undefined
 * behaviour, another error code — aborts the run and leaves the input as a
 * crash-* file, to be kept in test/fuzz/regressions/.
 */
#include "models/blob.c"
#include "models/als/als_blob.c"

#include <setjmp.h>

#include "fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run one parser on one blob; abort on an unexpected error code */
static void
try_parse(bytea *blob, bool als)
{
	sigjmp_buf	jb;

	fuzz_error_jmp = &jb;
	fuzz_last_sqlstate = 0;
	if (sigsetjmp(jb, 0) == 0)
	{
		if (als)
		{
			AlsModel   *m = model_deserialize_als(blob);

			/* touch what serving reads first: the last factor of the last item */
			if (m->nitems > 0 && m->f > 0)
				(void) *(volatile float *) &m->V[(Size) m->nitems * m->f - 1];
		}
		else
		{
			LinearModel *lm = model_deserialize_linear(blob);

			if (lm->nfeat > 0 && lm->coef != NULL)
				(void) *(volatile double *) &lm->coef[lm->nfeat - 1];
		}
	}
	else if (fuzz_last_sqlstate != ERRCODE_DATA_CORRUPTED &&
			 fuzz_last_sqlstate != ERRCODE_FEATURE_NOT_SUPPORTED &&	/* format version */
			 fuzz_last_sqlstate != ERRCODE_PROGRAM_LIMIT_EXCEEDED &&
			 fuzz_last_sqlstate != ERRCODE_OUT_OF_MEMORY)
		abort();
	fuzz_error_jmp = NULL;
	fuzz_free_all();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bytea	   *blob;

	if (size > 1 << 20)
		return 0;
	blob = malloc(VARHDRSZ + size);
	SET_VARSIZE(blob, VARHDRSZ + size);
	memcpy(VARDATA(blob), data, size);

	try_parse(blob, false);
	try_parse(blob, true);

	/* the same bytes with a consistent length and checksum */
	if (size >= sizeof(ModelHeader))
	{
		ModelHeader *h = (ModelHeader *) VARDATA(blob);

		h->payload_len = (uint32) (size - sizeof(ModelHeader));
		h->crc = model_crc(h, VARDATA(blob) + sizeof(ModelHeader), h->payload_len);
		try_parse(blob, false);
		try_parse(blob, true);
	}
	free(blob);
	return 0;
}
