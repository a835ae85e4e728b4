/*
 * common.h — what every layer of mlsys shares: the module's settings, the
 * aggregate and set-returning helpers, JSON/SPI/text helpers, the row checks,
 * search_path pinning and the BLAS/LAPACK routines (common/).
 *
 * Vocabulary used throughout:
 *   feature vector  the float8 values a model sees for one row, in model order
 *                   (scalar columns give one value, a fixed-length float8[]
 *                   column gives one value per element);
 *   model version   one row of mlsys.model_versions: a trained, immutable model;
 *   live version    the version named by the model's newest mlsys.deployments row.
 */
#ifndef MLSYS_COMMON_H
#define MLSYS_COMMON_H

#include "postgres.h"
#include "fmgr.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include <inttypes.h>

/*
 * What differs between the PostgreSQL versions mlsys builds against (15, 17
 * and 18), in one place:
 *   mlsys_noreturn   mlsys_noreturn is gone in 18 (pg_noreturn goes
 *                    before the declaration there); the compiler's own
 *                    attribute works after it in every version;
 *   MLSYS_LXID       the backend's local transaction id moved into
 *                    MyProc->vxid in 17;
 *   int64 formats    INT64_MODIFIER is gone in 18: PRId64 and PRIx64 from
 *                    <inttypes.h> (int64 is int64_t there, and long on LP64
 *                    before, the same type);
 *   Abs()            removed in 16: mlsys_abs64 for int64.
 */
#if defined(__GNUC__) || defined(__clang__)
#define mlsys_noreturn __attribute__((noreturn))
#else
#define mlsys_noreturn
#endif

#if PG_VERSION_NUM >= 170000
#define MLSYS_LXID (MyProc->vxid.lxid)
#else
#define MLSYS_LXID (MyProc->lxid)
#endif

static inline int64
mlsys_abs64(int64 x)
{
	return x < 0 ? -x : x;
}

/* the most features a model may have (guards every allocation sized by p) */
#define MLSYS_MAX_FEATURES 4096

/* module.c: settings (defined in _PG_init) */
extern bool mlsys_capture_baseline_on_train;
extern int	mlsys_model_cache_kb;
extern char *mlsys_default_recommender;

/*
 * logring.c: the shared-memory ring of online scoring records (needs
 * shared_preload_libraries); records are opaque bytes of one database
 */
extern int	mlsys_log_buffer_kb;
extern int	mlsys_log_flush_interval_ms;
extern void logring_define(void);
extern bool logring_available(void);
extern bool logring_append(Oid dboid, const void *payload, uint32 payload_len);
extern void logring_count_refused(void);
/* a taken record: its length (uint32) in LOGRING_PREFIX bytes, then its payload */
#define LOGRING_PREFIX MAXALIGN(sizeof(uint32))
extern int	logring_take(Oid dboid, char *buf, Size cap, Size *used);
extern void logring_logged(int n);
extern int	logring_pending_databases(Oid *dbs, int max);
extern void logring_counts(uint64 *logged, uint64 *dropped, uint64 *pending);

/* module.c: aggregate and result helpers */
extern ArrayType *mlsys_float8_array(const double *values, int n);
extern ArrayType *mlsys_float8_array_alloc(int n);	/* its n values unset */
extern MemoryContext mlsys_agg_context(FunctionCallInfo fcinfo, const char *fname);
extern bool mlsys_agg_args_stable(FunctionCallInfo fcinfo, int first, int last);
/*
 * aggsite.c: what a transition function keeps between the rows of one
 * aggregate in one aggregate context -- the states it has checked and a call
 * cache -- kept with the aggregate context rather than in fn_extra, because
 * Citus calls a transition function with a fresh FmgrInfo on every row
 */
extern bool mlsys_state_is_known(FunctionCallInfo fcinfo);
extern void mlsys_state_remember(FunctionCallInfo fcinfo, void *state);
extern void mlsys_state_forget(FunctionCallInfo fcinfo, const void *state);
extern void **mlsys_call_cache(FunctionCallInfo fcinfo, MemoryContext *mcxt);
extern void mlsys_check_training_memory(double bytes, const char *what);
extern void mlsys_check_pass_args(FunctionCallInfo fcinfo, bool by_fold);
extern bool mlsys_combine_trivial(FunctionCallInfo fcinfo, Datum *result);
extern void mlsys_return_one_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls);
extern struct Tuplestorestate *mlsys_begin_rows(FunctionCallInfo fcinfo, TupleDesc *desc);

/* util.c: text arguments, JSON numbers, text[] values, one-value SPI queries */
extern char *mlsys_text_arg(FunctionCallInfo fcinfo, int argno, const char *what);
extern void mlsys_append_json_number(StringInfo buf, double v);
extern Datum mlsys_cstring_array(char **items, int n);
extern char *mlsys_relation_name(Oid relid);
extern bool mlsys_spi_single_value(const char *sql, int nargs, Oid *types, Datum *values,
								   Datum *result);

/* jsondoc.c: the model document's JSON, written and read back exactly (errors name the path) */
extern void doc_put_float8(StringInfo buf, double v);
extern void doc_put_float4(StringInfo buf, float v);
extern void doc_put_key(StringInfo buf, const char *key, bool first);
extern void doc_put_named(StringInfo buf, char **names, const double *v, int n);
extern void doc_put_float8_array(StringInfo buf, const double *v, int n);
extern void doc_put_factors(StringInfo buf, const float *x, int rows, int f);
extern void doc_put_ids(StringInfo buf, const int64 *ids, int n);
extern void doc_invalid(const char *path, const char *problem) mlsys_noreturn;
extern char *doc_elem_path(const char *path, int index);
extern char *doc_key_path(const char *path, const char *key);
extern JsonbValue *doc_get_key(JsonbContainer *obj, const char *path, const char *key, bool required);
extern JsonbContainer *doc_as_container(JsonbValue *v, bool object, const char *path, int index);
extern JsonbContainer *doc_as_array(JsonbValue *v, int n, const char *path);
extern JsonbValue *doc_elem(JsonbContainer *c, int i);
extern char *doc_as_string(JsonbValue *v, const char *path, int index);
extern double doc_as_float8(JsonbValue *v, const char *path, int index);
extern float doc_as_float4(JsonbValue *v, const char *path, int index);
extern int64 doc_as_int(JsonbValue *v, int64 lo, int64 hi, const char *path, int index);
extern JsonbContainer *doc_key_object(JsonbContainer *obj, const char *path, const char *key);
extern char *doc_key_string(JsonbContainer *obj, const char *path, const char *key);
extern double doc_key_float8(JsonbContainer *obj, const char *path, const char *key);
extern int64 doc_key_int(JsonbContainer *obj, const char *path, const char *key, int64 lo, int64 hi);
extern void doc_named_vector(JsonbContainer *obj, const char *path, const char *key, char **names, int n, double *out);
extern int64 *doc_read_ids(JsonbContainer *obj, const char *path, int *n);
extern double *doc_read_float8s(JsonbContainer *obj, const char *path, const char *key, int n);
extern double *doc_read_factors(JsonbContainer *obj, const char *path, int rows, int f);

/* security.c: search_path pinning for SPI queries run from C */
extern int	mlsys_pin_search_path(void);
extern void mlsys_unpin_search_path(int nestlevel);
extern void mlsys_check_model_access(Datum name_text);

/* rowcheck.c: errors for a row's missing or non-finite values */
extern void mlsys_check_finite_vector(const double *x, int n, const char *const *names);
extern void mlsys_reject_missing_row(Datum x, bool xnull, ArrayType *names);
extern void mlsys_check_finite_row(const double *x, int n, bool with_y, ArrayType *names);
extern char *mlsys_feature_subject(ArrayType *names, int j);
extern char *mlsys_feature_subject_c(const char *const *names, int j);

/* blas_load.c: BLAS and LAPACK, from the module mlsys_blas (src/blas/) on first use */
extern void mlsys_syrk_upper(double *C, int m, const double *A, int rows);
extern void mlsys_syr_upper(double *C, int m, double alpha, const double *x);
extern int	mlsys_cholesky_solve(double *A, int n, double *b, double *rcond);
extern void mlsys_cholesky_resolve(const double *A, int n, double *b);
extern double mlsys_dot(const double *a, const double *b, int n);
extern int	mlsys_pinv_solve(double *A, int n, double *b, double rel_tol);
extern void mlsys_gram(double *G, int m, const double *A, int rows, double beta);
extern void mlsys_gemv_t(const double *A, int rows, int cols, const double *y, double *out);
extern void mlsys_gemv(const double *A, int rows, int cols, bool trans, double alpha,
					   const double *x, double beta, double *y);
extern void mlsys_gemm_nn(double *C, int m, int n, const double *A, const double *B, int k, double alpha);
extern void mlsys_gemm_tn(double *C, int m, int n, const double *A, int lda, const double *B, int ldb, int rows);
extern int	mlsys_posv(double *A, int n, double *b);
extern void mlsys_sgemv(const float *A, int rows, int cols, const float *x, float *y);
extern void mlsys_sgemm_nt(float *C, int ldc, const float *A, int m, const float *B, int n, int k);

/* MurmurHash3's 64-bit finalizer */
static inline uint64
mlsys_mix64(uint64 h)
{
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/* a text datum, detoasted only when compressed or out of line (no call otherwise) */
static inline text *
mlsys_text_bytes(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	return (VARATT_IS_COMPRESSED(v) || VARATT_IS_EXTERNAL(v)) ? pg_detoast_datum_packed(v) : v;
}

/*
 * A word that, among strings of the same length len <= 8, identifies s
 * (fixed-size loads that overlap rather than a byte loop); for longer
 * strings, their first 8 bytes. Categories are keyed by it.
 */
static inline uint64
mlsys_load_word(const char *s, int len)
{
	uint64		w;
	uint32		a,
				b;

	if (len >= 8)
	{
		memcpy(&w, s, 8);
		return w;
	}
	if (len >= 4)
	{
		memcpy(&a, s, 4);
		memcpy(&b, s + len - 4, 4);
		return (uint64) a | ((uint64) b << 32);
	}
	if (len == 0)
		return 0;
	return (uint64) (unsigned char) s[0] | ((uint64) (unsigned char) s[len / 2] << 8) |
		((uint64) (unsigned char) s[len - 1] << 16);
}

#endif							/* MLSYS_COMMON_H */
