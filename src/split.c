/*
 * split.c — the content hash of a training row and the holdout decision.
 *
 * A row's split depends only on its values after type coercion and on the
 * seed, never on its physical position, so the same data in another order (or
 * after VACUUM FULL, or restored elsewhere) splits the same way.
 *
 * What is hashed: the row's feature vector x1..xp followed by the target y, as
 * p+1 IEEE-754 binary64 values, each taken as its 64-bit pattern (so the bytes
 * are the little-endian float8 representation on x86-64), with -0.0 replaced by
 * +0.0. The hash runs four independent lanes of multiply-rotate rounds (the
 * round function of xxHash64: acc = rotl(acc + v·P2, 31)·P1), value i going to
 * lane i mod 4, then folds the lanes and the count and finishes with
 * MurmurHash3's 64-bit finalizer. It is our own code, not xxHash64 itself.
 *
 * Holdout decision: u = (fmix64(h XOR fmix64(seed + φ)) >> 11) · 2⁻⁵³ is a
 * uniform number in [0, 1); the row is held out when u < test_size.
 * The unseeded hash h is also what the data fingerprint sums.
 */
#include "postgres.h"

#include "mlsys.h"

#define P1 UINT64CONST(0x9E3779B185EBCA87)
#define P2 UINT64CONST(0xC2B2AE3D27D4EB4F)
#define P3 UINT64CONST(0x165667B19E3779F9)
#define GOLDEN UINT64CONST(0x9E3779B97F4A7C15)

static inline uint64
rotl64(uint64 x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* MurmurHash3's fmix64 */
uint64
mlsys_mix64(uint64 h)
{
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/* the 64-bit pattern of a float8, with -0.0 folded into +0.0 */
static inline uint64
float8_bits(double v)
{
	uint64		bits;

	if (v == 0.0)
		return 0;
	memcpy(&bits, &v, sizeof(bits));
	return bits;
}

static inline uint64
hash_round(uint64 acc, uint64 v)
{
	return rotl64(acc + v * P2, 31) * P1;
}

/* content hash of one row: x[0..p-1] then y */
uint64
mlsys_row_hash(const double *x, int p, double y)
{
	uint64		a = P1 + P2,
				b = P2,
				c = 0,
				d = (uint64) 0 - P1;
	int			i = 0;

	for (; i + 4 <= p; i += 4)
	{
		a = hash_round(a, float8_bits(x[i]));
		b = hash_round(b, float8_bits(x[i + 1]));
		c = hash_round(c, float8_bits(x[i + 2]));
		d = hash_round(d, float8_bits(x[i + 3]));
	}
	for (; i < p; i++)
	{
		switch (i & 3)
		{
			case 0:
				a = hash_round(a, float8_bits(x[i]));
				break;
			case 1:
				b = hash_round(b, float8_bits(x[i]));
				break;
			case 2:
				c = hash_round(c, float8_bits(x[i]));
				break;
			default:
				d = hash_round(d, float8_bits(x[i]));
				break;
		}
	}
	/* y is value number p, in lane p mod 4 */
	switch (p & 3)
	{
		case 0:
			a = hash_round(a, float8_bits(y));
			break;
		case 1:
			b = hash_round(b, float8_bits(y));
			break;
		case 2:
			c = hash_round(c, float8_bits(y));
			break;
		default:
			d = hash_round(d, float8_bits(y));
			break;
	}
	return mlsys_mix64(rotl64(a, 1) + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18) +
					   (uint64) (p + 1) * P3);
}

/* is a row with this content hash in the holdout split? */
bool
mlsys_in_holdout(uint64 row_hash, int64 seed, double test_size)
{
	uint64		u = mlsys_mix64(row_hash ^ mlsys_mix64((uint64) seed + GOLDEN));

	return (double) (u >> 11) * (1.0 / 9007199254740992.0) < test_size;
}
