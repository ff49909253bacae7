/*
 * Number text as xcp-rrdd prints it (see numfmt.h): "%.15g" of the exact
 * binary value, rounded half-to-even at the 15th significant digit, with
 * "0.0", "NaN", "Infinity" and "-Infinity" for the special values.
 *
 * Method: a finite non-zero value is m * 2^e with an integer m < 2^53.  We
 * guess its decimal exponent X from the binary one (exact or one too small),
 * compute N0 = floor(v * 10^(14-X)) exactly with integer arithmetic
 * (m * 5^k shifted, or m * 2^e divided by 5^j, in 128/192-bit integers),
 * keep the exact remainder as a half bit and a sticky bit, fix the guess,
 * round half-to-even and lay the 15 digits out as %g does.  Every float32
 * falls inside the exact ranges, so numfmt_float has no fallback at all;
 * numfmt_double uses snprintf for doubles outside them (|v| below about
 * 1e-45 or above about 1e41).  Output is assembled with fixed 16-byte
 * copies, so bytes after the NUL (within NUMFMT_MAX) are scratch.
 *
 * Must not: depend on the locale or rounding mode, allocate, or write more
 * than NUMFMT_MAX bytes.
 */
#include "export/numfmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

#define P14 100000000000000ULL  /* 10^14 */
#define P15 1000000000000000ULL /* 10^15 */

/* 5^k for k < 28 fits 63 bits; m * 5^k then fits 116 bits for m < 2^53. */
static const uint64_t pow5_64[28] = {
    1ULL,                   /* 5^0 */
    5ULL,                   /* 5^1 */
    25ULL,                  /* 5^2 */
    125ULL,                 /* 5^3 */
    625ULL,                 /* 5^4 */
    3125ULL,                /* 5^5 */
    15625ULL,               /* 5^6 */
    78125ULL,               /* 5^7 */
    390625ULL,              /* 5^8 */
    1953125ULL,             /* 5^9 */
    9765625ULL,             /* 5^10 */
    48828125ULL,            /* 5^11 */
    244140625ULL,           /* 5^12 */
    1220703125ULL,          /* 5^13 */
    6103515625ULL,          /* 5^14 */
    30517578125ULL,         /* 5^15 */
    152587890625ULL,        /* 5^16 */
    762939453125ULL,        /* 5^17 */
    3814697265625ULL,       /* 5^18 */
    19073486328125ULL,      /* 5^19 */
    95367431640625ULL,      /* 5^20 */
    476837158203125ULL,     /* 5^21 */
    2384185791015625ULL,    /* 5^22 */
    11920928955078125ULL,   /* 5^23 */
    59604644775390625ULL,   /* 5^24 */
    298023223876953125ULL,  /* 5^25 */
    1490116119384765625ULL, /* 5^26 */
    7450580596923828125ULL, /* 5^27 */
};

/* 5^k for 28 <= k <= 60 as three 64-bit limbs, least significant first. */
static const uint64_t pow5_192[33][3] = {
    {0x04fce5e3e2502611ULL, 0x0000000000000002ULL, 0x0000000000000000ULL}, /* 5^28 */
    {0x18f07d736b90be55ULL, 0x000000000000000aULL, 0x0000000000000000ULL}, /* 5^29 */
    {0x7cb2734119d3b7a9ULL, 0x0000000000000032ULL, 0x0000000000000000ULL}, /* 5^30 */
    {0x6f7c40458122964dULL, 0x00000000000000fcULL, 0x0000000000000000ULL}, /* 5^31 */
    {0x2d6d415b85acef81ULL, 0x00000000000004eeULL, 0x0000000000000000ULL}, /* 5^32 */
    {0xe32246c99c60ad85ULL, 0x00000000000018a6ULL, 0x0000000000000000ULL}, /* 5^33 */
    {0x6fab61f00de36399ULL, 0x0000000000007b42ULL, 0x0000000000000000ULL}, /* 5^34 */
    {0x2e58e9b04570f1fdULL, 0x000000000002684cULL, 0x0000000000000000ULL}, /* 5^35 */
    {0xe7bc90715b34b9f1ULL, 0x00000000000c097cULL, 0x0000000000000000ULL}, /* 5^36 */
    {0x86aed236c807a1b5ULL, 0x00000000003c2f70ULL, 0x0000000000000000ULL}, /* 5^37 */
    {0xa16a1b11e8262889ULL, 0x00000000012ced32ULL, 0x0000000000000000ULL}, /* 5^38 */
    {0x2712875988becaadULL, 0x0000000005e0a1fdULL, 0x0000000000000000ULL}, /* 5^39 */
    {0xc35ca4bfabb9f561ULL, 0x000000001d6329f1ULL, 0x0000000000000000ULL}, /* 5^40 */
    {0xd0cf37be5aa1cae5ULL, 0x0000000092efd1b8ULL, 0x0000000000000000ULL}, /* 5^41 */
    {0x140c16b7c528f679ULL, 0x00000002deaf189cULL, 0x0000000000000000ULL}, /* 5^42 */
    {0x643c7196d9ccd05dULL, 0x0000000e596b7b0cULL, 0x0000000000000000ULL}, /* 5^43 */
    {0xf52e37f2410011d1ULL, 0x00000047bf19673dULL, 0x0000000000000000ULL}, /* 5^44 */
    {0xc9e717bb45005915ULL, 0x00000166bb7f0435ULL, 0x0000000000000000ULL}, /* 5^45 */
    {0xf18376a85901bd69ULL, 0x00000701a97b150cULL, 0x0000000000000000ULL}, /* 5^46 */
    {0xb7915149bd08b30dULL, 0x000023084f676940ULL, 0x0000000000000000ULL}, /* 5^47 */
    {0x95d69670b12b7f41ULL, 0x0000af298d050e43ULL, 0x0000000000000000ULL}, /* 5^48 */
    {0xed30f03375d97c45ULL, 0x00036bcfc1194751ULL, 0x0000000000000000ULL}, /* 5^49 */
    {0xa1f4b1014d3f6d59ULL, 0x00111b0ec57e6499ULL, 0x0000000000000000ULL}, /* 5^50 */
    {0x29c77506823d22bdULL, 0x00558749db77f700ULL, 0x0000000000000000ULL}, /* 5^51 */
    {0xd0e549208b31adb1ULL, 0x01aba4714957d300ULL, 0x0000000000000000ULL}, /* 5^52 */
    {0x147a6da2b7f86475ULL, 0x085a36366eb71f04ULL, 0x0000000000000000ULL}, /* 5^53 */
    {0x6664242d97d9f649ULL, 0x29c30f1029939b14ULL, 0x0000000000000000ULL}, /* 5^54 */
    {0xfff4b4e3f741cf6dULL, 0xd0cf4b50cfe20765ULL, 0x0000000000000000ULL}, /* 5^55 */
    {0xffc78873d4490d21ULL, 0x140c78940f6a24fdULL, 0x0000000000000004ULL}, /* 5^56 */
    {0xfee5aa43256d41a5ULL, 0x643e5ae44d12b8f5ULL, 0x0000000000000014ULL}, /* 5^57 */
    {0xfa7c534fbb224839ULL, 0xf537c675815d9ccdULL, 0x0000000000000065ULL}, /* 5^58 */
    {0xe46da08ea7ab691dULL, 0xca16e04b86d41005ULL, 0x00000000000001fdULL}, /* 5^59 */
    {0x762422c946590d91ULL, 0xf2726179a224501dULL, 0x00000000000009f4ULL}, /* 5^60 */
};

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

/* floor(v * 10^k) of some v = m * 2^e, with the fraction f summarised as
 * half = (f >= 1/2) and sticky = (f > 1/2 if half, else f > 0). */
struct scaled {
	uint64_t n;
	bool half;
	bool sticky;
};

static inline int bit_length(uint64_t m)
{
	return 64 - __builtin_clzll(m);
}

/* floor(log10(2^t)) for |t| <= 1650 (arithmetic shift floors negatives). */
static inline int floor_log10_pow2(int t)
{
	return (t * 78913) >> 18;
}

static inline void split_u128(u128 p, int s, struct scaled *r)
{
	r->n = (uint64_t)(p >> s);
	u128 rem = p & (((u128)1 << s) - 1);
	u128 half = (u128)1 << (s - 1);
	r->half = rem >= half;
	r->sticky = (rem & (half - 1)) != 0;
}

/* v * 10^k for 0 <= k <= 60, where v = m * 2^e, m * 5^k < 2^192 and the
 * result is below 2^64 (callers guarantee 10^14 <= result < 10^16). */
static void scale_up(uint64_t m, int e, int k, struct scaled *r)
{
	int sh = e + k;
	if (k < 28) {
		u128 p = (u128)m * pow5_64[k];
		if (sh >= 0) {
			/* An integer below 10^16: exact. */
			r->n = (uint64_t)p << sh;
			r->half = r->sticky = false;
			return;
		}
		split_u128(p, -sh, r);
		return;
	}
	/* 5^k > 10^16 here, so sh < 0: a 192-bit product shifted right. */
	const uint64_t *t = pow5_192[k - 28];
	u128 a0 = (u128)m * t[0];
	u128 a1 = (u128)m * t[1] + (uint64_t)(a0 >> 64);
	u128 a2 = (u128)m * t[2] + (uint64_t)(a1 >> 64);
	uint64_t l[4] = {(uint64_t)a0, (uint64_t)a1, (uint64_t)a2, 0};
	int s = -sh; /* 0 < s < 192 */
	int li = s >> 6, bi = s & 63;
	r->n = bi ? (l[li] >> bi) | (l[li + 1] << (64 - bi)) : l[li];
	/* Bit s-1 and the bits below it. */
	int h = s - 1, hl = h >> 6, hb = h & 63;
	r->half = (l[hl] >> hb) & 1;
	bool below = (l[hl] & ((1ULL << hb) - 1)) != 0;
	for (int i = 0; i < hl; i++)
		below |= l[i] != 0;
	r->sticky = below;
}

/* v / 10^j for 1 <= j < 28, where v = m * 2^e >= 10^15, and either
 * e >= j with bit_length(m) + e - j <= 127, or e < j with j - e <= 64. */
static void scale_down(uint64_t m, int e, int j, struct scaled *r)
{
	u128 num, den;
	if (e >= j) {
		num = (u128)m << (e - j);
		den = pow5_64[j];
	} else {
		num = m;
		den = (u128)pow5_64[j] << (j - e);
	}
	u128 q = num / den, rem = num - q * den;
	r->n = (uint64_t)q;
	r->half = 2 * rem >= den;
	r->sticky = r->half ? 2 * rem > den : rem != 0;
}

/* Write the 15 digits of 10^14 <= n < 10^15 into d[0..14]. */
static inline void write15(char *d, uint64_t n)
{
	uint32_t hi = (uint32_t)(n / 100000000), lo = (uint32_t)(n % 100000000);
	uint32_t a = lo / 10000, b = lo % 10000;
	memcpy(d + 7, digit_pairs + 2 * (a / 100), 2);
	memcpy(d + 9, digit_pairs + 2 * (a % 100), 2);
	memcpy(d + 11, digit_pairs + 2 * (b / 100), 2);
	memcpy(d + 13, digit_pairs + 2 * (b % 100), 2);
	d[0] = (char)('0' + hi / 1000000);
	hi %= 1000000;
	uint32_t c = hi / 10000;
	hi %= 10000;
	memcpy(d + 1, digit_pairs + 2 * c, 2);
	memcpy(d + 3, digit_pairs + 2 * (hi / 100), 2);
	memcpy(d + 5, digit_pairs + 2 * (hi % 100), 2);
}

/* The number of trailing '0's of the 15 digits d[0..14] (d[0] != '0'). */
static inline int trailing_zeros15(const char *d)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* In a little-endian load the last digit is the top byte. */
	const uint64_t zeros = 0x3030303030303030ULL;
	uint64_t w;
	memcpy(&w, d + 7, 8);
	w ^= zeros;
	if (w)
		return __builtin_clzll(w) >> 3;
	memcpy(&w, d, 8); /* d[7] == '0' is counted twice */
	return 7 + (__builtin_clzll(w ^ zeros) >> 3);
#else
	int n = 0;
	while (d[14 - n] == '0')
		n++;
	return n;
#endif
}

/* Finish from r = floor(|v| * 10^(14 - x)) (x the guessed exponent): fix the
 * guess, round half-to-even to 15 digits and lay out as %.15g. */
static size_t finish(char *out, bool neg, const struct scaled *r, int x)
{
	uint64_t n = r->n;
	bool half = r->half, sticky = r->sticky;
	if (n >= P15) {
		/* The guess was one too small: drop a digit.  The new fraction
		 * is (d + f) / 10 with d the dropped digit. */
		uint64_t q = n / 10;
		unsigned d = (unsigned)(n - q * 10);
		bool f_pos = half || sticky;
		half = d >= 5;
		sticky = half ? (d > 5 || f_pos) : (d > 0 || f_pos);
		n = q;
		x++;
	}
	if (half && (sticky || (n & 1)))
		n++;
	if (n == P15) {
		n = P14;
		x++;
	}

	/* d holds the 15 digits then '0's, so that fixed 16-byte copies (which
	 * the compiler inlines) can move any tail; out has NUMFMT_MAX bytes. */
	char d[32];
	memset(d + 15, '0', 17);
	write15(d, n);
	int nd = 15 - trailing_zeros15(d);

	char *p = out;
	if (neg)
		*p++ = '-';
	if (x >= 0 && x < 15) {
		int ip = x + 1; /* integer digits */
		memcpy(p, d, 16);
		p += ip;
		if (nd > ip) {
			/* p + 1 + 16 <= out + 1 + 14 + 1 + 16 = out + 32 */
			*p++ = '.';
			memcpy(p, d + ip, 16);
			p += nd - ip;
		}
	} else if (x < 0 && x >= -4) {
		memcpy(p, "0.000000", 8);
		p += 1 - x;
		memcpy(p, d, 16);
		p += nd;
	} else {
		p[0] = d[0];
		p[1] = '.';
		memcpy(p + 2, d + 1, 16);
		p += nd > 1 ? nd + 1 : 1;
		unsigned ax = (unsigned)(x < 0 ? -x : x);
		p[0] = 'e';
		p[1] = x < 0 ? '-' : '+';
		p += 2;
		if (ax >= 100) {
			*p++ = (char)('0' + ax / 100);
			ax %= 100;
		}
		memcpy(p, digit_pairs + 2 * ax, 2);
		p += 2;
	}
	*p = '\0';
	return (size_t)(p - out);
}

static size_t special(char *out, const char *s, size_t n)
{
	memcpy(out, s, n + 1);
	return n;
}

size_t numfmt_float(char *out, float f)
{
	uint32_t bits;
	memcpy(&bits, &f, sizeof bits);
	bool neg = bits >> 31;
	uint32_t be = (bits >> 23) & 0xff, fr = bits & 0x7fffff;
	uint64_t m;
	int e;
	if (be == 0xff)
		return fr    ? special(out, "NaN", 3)
		       : neg ? special(out, "-Infinity", 9)
		             : special(out, "Infinity", 8);
	if (be == 0) {
		if (fr == 0)
			return special(out, "0.0", 3);
		m = fr;
		e = -149;
	} else {
		m = fr | 0x800000;
		e = (int)be - 150;
	}
	/* m < 2^24, -149 <= e <= 104: the guess x lies in [-46, 38], so k =
	 * 14 - x <= 60 with m * 5^60 < 2^164, and j = x - 14 <= 24 with
	 * e >= j (v >= 10^15 needs e >= 26) and 24 + e - j <= 127. */
	int x = floor_log10_pow2(e + bit_length(m) - 1);
	int k = 14 - x;
	struct scaled r;
	if (k >= 0)
		scale_up(m, e, k, &r);
	else
		scale_down(m, e, -k, &r);
	return finish(out, neg, &r, x);
}

size_t numfmt_double(char *out, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	bool neg = bits >> 63;
	unsigned be = (unsigned)(bits >> 52) & 0x7ff;
	uint64_t fr = bits & 0xfffffffffffffULL;
	uint64_t m;
	int e;
	if (be == 0x7ff)
		return fr    ? special(out, "NaN", 3)
		       : neg ? special(out, "-Infinity", 9)
		             : special(out, "Infinity", 8);
	if (be == 0) {
		if (fr == 0)
			return special(out, "0.0", 3);
		m = fr;
		e = -1074;
	} else {
		m = fr | 0x10000000000000ULL;
		e = (int)be - 1075;
	}
	int bl = bit_length(m);
	int x = floor_log10_pow2(e + bl - 1);
	int k = 14 - x;
	struct scaled r;
	if (k >= 0) {
		/* m * 5^59 < 2^(53 + 138) fits the 192-bit product. */
		if (k > 59)
			goto slow;
		scale_up(m, e, k, &r);
	} else {
		int j = -k;
		if (j >= 28 || (e >= j ? bl + e - j > 127 : j - e > 64))
			goto slow;
		scale_down(m, e, j, &r);
	}
	return finish(out, neg, &r, x);
slow:
	return (size_t)snprintf(out, NUMFMT_MAX, "%.15g", v);
}

/* The number of decimal digits of u >= 1. */
static inline int decimal_length(uint64_t u)
{
	static const uint64_t pow10[20] = {1ULL,
	                                   10ULL,
	                                   100ULL,
	                                   1000ULL,
	                                   10000ULL,
	                                   100000ULL,
	                                   1000000ULL,
	                                   10000000ULL,
	                                   100000000ULL,
	                                   1000000000ULL,
	                                   10000000000ULL,
	                                   100000000000ULL,
	                                   1000000000000ULL,
	                                   10000000000000ULL,
	                                   100000000000000ULL,
	                                   1000000000000000ULL,
	                                   10000000000000000ULL,
	                                   100000000000000000ULL,
	                                   1000000000000000000ULL,
	                                   10000000000000000000ULL};
	int t = (bit_length(u) * 1233) >> 12; /* floor or floor-1 of log10 */
	return t + (u >= pow10[t]);
}

size_t numfmt_int64(char *out, int64_t v)
{
	char *p = out;
	uint64_t u = (uint64_t)v;
	if (v < 0) {
		*p++ = '-';
		u = 0 - u;
	}
	int len = u ? decimal_length(u) : 1;
	char *q = p + len;
	*q = '\0';
	while (u >= 100) {
		q -= 2;
		memcpy(q, digit_pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10)
		memcpy(q - 2, digit_pairs + 2 * u, 2);
	else
		q[-1] = (char)('0' + u);
	return (size_t)(p + len - out);
}
