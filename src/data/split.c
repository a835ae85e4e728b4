/*
 * split.c — the content hash of a training row.
 *
 * A row's split depends only on its values after type coercion and on the
 * seed, never on its physical position, so the same data in another order (or
 * after VACUUM FULL, or restored elsewhere) splits the same way.
 *
 * What is hashed: the row's feature vector x1..xp followed by the target y, as
 * p+1 IEEE-754 binary64 values, each taken as its 64-bit pattern (so the bytes
 * are the little-endian float8 representation on x86-64), with -0.0 replaced by
 * +0.0. Value i goes to lane i mod 4 of four accumulators, each updated as
 * acc = (acc + v) · P (mod 2⁶⁴, P odd); the lanes are then folded with the
 * count and finished with MurmurHash3's 64-bit finalizer (common.h). The same
 * loop also notes whether any value is NaN or infinite, so the training pass
 * checks its rows for free.
 *
 * The holdout decision and the finalizer are inline functions in data.h and common.h.
 */
#include "postgres.h"

#include <float.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "data/data.h"

#define P1 UINT64CONST(0x9E3779B185EBCA87)
#define P3 UINT64CONST(0x165667B19E3779F9)
#define EXPONENT_MASK UINT64CONST(0x7FF0000000000000)

/* the 64-bit pattern of the float8 at p (any alignment), -0.0 folded into +0.0 */
static inline uint64
float8_bits(const char *p)
{
	uint64		bits;

	memcpy(&bits, p, sizeof(bits));
	return bits & -(uint64) ((bits << 1) != 0);
}

/* NaN and infinity have every exponent bit set */
static inline uint64
is_special(uint64 bits)
{
	return (uint64) ((bits & EXPONENT_MASK) == EXPONENT_MASK);
}

#ifdef __SSE2__
/*
 * Two float8 values at p (any alignment) with ±0.0 as +0.0: x == 0.0 holds for
 * exactly those two, and clearing their bits leaves +0.0.
 */
static inline __m128d
float8_pair(const char *p)
{
	__m128d		v = _mm_loadu_pd((const double *) p);

	return _mm_andnot_pd(_mm_cmpeq_pd(v, _mm_setzero_pd()), v);
}

/* all ones where |v| > DBL_MAX or v is NaN (not |v| ≤ DBL_MAX): an exponent of all ones */
static inline __m128d
float8_pair_special(__m128d v)
{
	const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));

	return _mm_cmpnle_pd(_mm_and_pd(v, abs_mask), _mm_set1_pd(DBL_MAX));
}
#endif

/*
 * The hash loop; check_special notes NaN and infinity on the way (the
 * training pass needs that, later passes over the same rows do not). Where
 * SSE2 is there (all of x86-64), four values at a time are folded and checked
 * as two pairs; the lanes take the same bit patterns either way.
 */
static pg_attribute_always_inline uint64
row_hash_impl(const char *x, int p, double y, bool check_special, bool *finite)
{
	uint64		l0 = P1,
				l1 = P3,
				l2 = ~P1,
				l3 = ~P3;
	uint64		special = 0;
	uint64		b0,
				b1,
				b2,
				b3;
	int			i = 0;

#ifdef __SSE2__
	__m128d		bad = _mm_setzero_pd();

	for (; i + 4 <= p; i += 4)
	{
		__m128d		lo = float8_pair(x + sizeof(double) * i);
		__m128d		hi = float8_pair(x + sizeof(double) * (i + 2));

		if (check_special)
			bad = _mm_or_pd(bad, _mm_or_pd(float8_pair_special(lo), float8_pair_special(hi)));
		b0 = (uint64) _mm_cvtsi128_si64(_mm_castpd_si128(lo));
		b1 = (uint64) _mm_cvtsi128_si64(_mm_castpd_si128(_mm_unpackhi_pd(lo, lo)));
		b2 = (uint64) _mm_cvtsi128_si64(_mm_castpd_si128(hi));
		b3 = (uint64) _mm_cvtsi128_si64(_mm_castpd_si128(_mm_unpackhi_pd(hi, hi)));
		l0 = (l0 + b0) * P1;
		l1 = (l1 + b1) * P1;
		l2 = (l2 + b2) * P1;
		l3 = (l3 + b3) * P1;
	}
	if (check_special)
		special = (uint64) _mm_movemask_pd(bad);
#else
	for (; i + 4 <= p; i += 4)
	{
		b0 = float8_bits(x + sizeof(double) * i);
		b1 = float8_bits(x + sizeof(double) * (i + 1));
		b2 = float8_bits(x + sizeof(double) * (i + 2));
		b3 = float8_bits(x + sizeof(double) * (i + 3));
		if (check_special)
			special |= is_special(b0) | is_special(b1) | is_special(b2) | is_special(b3);
		l0 = (l0 + b0) * P1;
		l1 = (l1 + b1) * P1;
		l2 = (l2 + b2) * P1;
		l3 = (l3 + b3) * P1;
	}
#endif
	/* the remaining features, then y: value number i goes to lane i mod 4 */
	for (; i <= p; i++)
	{
		b0 = float8_bits(i < p ? x + sizeof(double) * i : (const char *) &y);
		if (check_special)
			special |= is_special(b0);
		switch (i & 3)
		{
			case 0:
				l0 = (l0 + b0) * P1;
				break;
			case 1:
				l1 = (l1 + b0) * P1;
				break;
			case 2:
				l2 = (l2 + b0) * P1;
				break;
			default:
				l3 = (l3 + b0) * P1;
				break;
		}
	}
	if (check_special)
		*finite = (special == 0);
	return mlsys_mix64(l0 + (l1 << 1 | l1 >> 63) + (l2 << 2 | l2 >> 62) +
					   (l3 << 3 | l3 >> 61) + (uint64) (p + 1) * P3);
}

/*
 * Content hash of one row: the p float8 values at x (any alignment, so a
 * row can be hashed where it lies in a tuple), then y. *finite is set to
 * false when a value is NaN or infinite.
 */
uint64
mlsys_row_hash(const char *x, int p, double y, bool *finite)
{
	return row_hash_impl(x, p, y, true, finite);
}

/* the same hash, for rows already checked by a training pass */
uint64
mlsys_row_hash_unchecked(const char *x, int p, double y)
{
	return row_hash_impl(x, p, y, false, NULL);
}
