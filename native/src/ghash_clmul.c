/* GHASH (NIST SP 800-38D 6.4) with PCLMULQDQ: 8 blocks per reduction using H^1..H^8.
 *
 * Blocks are byte-reversed so a 128-bit register holds the bit-reflected polynomial; products are
 * Karatsuba-free 4-multiply schoolbook, summed unreduced over 8 blocks (aggregated reduction,
 * Y' = (Y ^ X1) H^8 ^ X2 H^7 ^ ... ^ X8 H), then shifted left by one and reduced modulo
 * x^128 + x^7 + x^2 + x + 1 (Gueron and Kounavis, "Intel Carry-Less Multiplication Instruction
 * and its Usage for Computing the GCM Mode", Intel white paper 323640, rev. 2.02, algorithms 1-5).
 * PCLMULQDQ's latency does not depend on its operands: constant time.
 */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define CLMUL __attribute__((target("pclmul,ssse3")))
#define CLMUL_INLINE __attribute__((always_inline, target("pclmul,ssse3"))) static inline
#define AGG 8

CLMUL_INLINE __m128i bswap128(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

/* lo/mid/hi ^= the partial products of a * b (unreduced, 256 bits as lo ^ mid<<64 ^ hi<<128). */
CLMUL_INLINE void mul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi) {
    *lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
    *hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
    *mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10),
                                             _mm_clmulepi64_si128(a, b, 0x01)));
}

/* Reduce an unreduced reflected product to a field element (white paper algorithm 5). */
CLMUL_INLINE __m128i reduce(__m128i lo, __m128i mid, __m128i hi) {
    __m128i t3 = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    __m128i t6 = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    /* shift the 256-bit t6:t3 left by one bit (the operands are reflected) */
    __m128i t7 = _mm_srli_epi32(t3, 31), t8 = _mm_srli_epi32(t6, 31);
    t3 = _mm_slli_epi32(t3, 1);
    t6 = _mm_slli_epi32(t6, 1);
    __m128i t9 = _mm_srli_si128(t7, 12);
    t8 = _mm_slli_si128(t8, 4);
    t7 = _mm_slli_si128(t7, 4);
    t3 = _mm_or_si128(t3, t7);
    t6 = _mm_or_si128(_mm_or_si128(t6, t8), t9);
    /* first phase */
    t7 = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(t3, 31), _mm_slli_epi32(t3, 30)),
                       _mm_slli_epi32(t3, 25));
    t8 = _mm_srli_si128(t7, 4);
    t3 = _mm_xor_si128(t3, _mm_slli_si128(t7, 12));
    /* second phase */
    __m128i t2 = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(t3, 1), _mm_srli_epi32(t3, 2)),
                               _mm_xor_si128(_mm_srli_epi32(t3, 7), t8));
    return _mm_xor_si128(t6, _mm_xor_si128(t3, t2));
}

CLMUL_INLINE __m128i gfmul(__m128i a, __m128i b) {
    __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
    mul_acc(a, b, &lo, &mid, &hi);
    return reduce(lo, mid, hi);
}

/* Fills k->pow with H^1..H^8 (byte-reversed form) and selects this path. */
CLMUL void vk_ghash_init_clmul(vk_ghash_key *k, const uint8_t h[16]) {
    __m128i hr = bswap128(_mm_loadu_si128((const __m128i *)h)), p = hr;
    for (int i = 0; i < 8; i++) {
        _mm_store_si128((__m128i *)k->pow[i], p);
        p = gfmul(p, hr);
    }
    k->clmul = 1;
}

/* acc <- GHASH continued over n blocks at b, aggregated 8 at a time, the last 1..7 in one
 * reduction with H^n..H^1. */
CLMUL_INLINE __m128i ghash_run(const __m128i *pw, __m128i acc, const uint8_t *b, size_t n) {
    for (; n >= AGG; n -= AGG, b += 16 * AGG) {
        __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
        for (int j = 0; j < AGG; j++) {
            __m128i x = bswap128(_mm_loadu_si128((const __m128i *)(b + 16 * j)));
            if (j == 0) x = _mm_xor_si128(x, acc);
            mul_acc(x, _mm_load_si128(pw + AGG - 1 - j), &lo, &mid, &hi);
        }
        acc = reduce(lo, mid, hi);
    }
    if (n) {
        __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
        for (size_t j = 0; j < n; j++) {
            __m128i x = bswap128(_mm_loadu_si128((const __m128i *)(b + 16 * j)));
            if (j == 0) x = _mm_xor_si128(x, acc);
            mul_acc(x, _mm_load_si128(pw + n - 1 - j), &lo, &mid, &hi);
        }
        acc = reduce(lo, mid, hi);
    }
    return acc;
}

CLMUL void vk_ghash_blocks_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *b, size_t n) {
    __m128i acc = bswap128(_mm_loadu_si128((const __m128i *)y));
    acc = ghash_run((const __m128i *)k->pow, acc, b, n);
    _mm_storeu_si128((__m128i *)y, bswap128(acc));
}

/* GHASH over c[0..len) zero-padded, then the block [a_bits]64 || [c_bits]64 built in a
 * register (no store-to-load round trip); the last whole blocks, the padded partial block and
 * the lengths block share one reduction when they fit in 8 blocks. */
CLMUL void vk_ghash_final_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *c, size_t len,
                                uint64_t a_bits, uint64_t c_bits) {
    const __m128i *pw = (const __m128i *)k->pow;
    __m128i acc = bswap128(_mm_loadu_si128((const __m128i *)y));
    size_t full = len / 16, rem = len % 16, head = full - full % AGG, ra = full % AGG;
    __m128i last[2];
    size_t nl = 0;
    if (rem) {
        _Alignas(16) uint8_t part[16] = {0};
        memcpy(part, c + 16 * full, rem);
        last[nl++] = bswap128(_mm_load_si128((const __m128i *)part));
    }
    last[nl++] = _mm_set_epi64x((long long)a_bits, (long long)c_bits); /* bswap of the block */
    acc = ghash_run(pw, acc, c, head);
    if (ra + nl > AGG) {
        acc = ghash_run(pw, acc, c + 16 * head, ra);
        head += ra;
        ra = 0;
    }
    size_t n = ra + nl;
    __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
    for (size_t j = 0; j < n; j++) {
        __m128i x = j < ra ? bswap128(_mm_loadu_si128((const __m128i *)(c + 16 * (head + j))))
                           : last[j - ra];
        if (j == 0) x = _mm_xor_si128(x, acc);
        mul_acc(x, _mm_load_si128(pw + n - 1 - j), &lo, &mid, &hi);
    }
    acc = reduce(lo, mid, hi);
    _mm_storeu_si128((__m128i *)y, bswap128(acc));
}

#elif !defined(__aarch64__) /* neither x86 nor aarch64 (ghash_pmull.c): never selected */
void vk_ghash_init_clmul(vk_ghash_key *k, const uint8_t h[16]) { (void)k; (void)h; }
void vk_ghash_final_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *c, size_t len,
                          uint64_t a_bits, uint64_t c_bits) {
    (void)k; (void)y; (void)c; (void)len; (void)a_bits; (void)c_bits;
}
void vk_ghash_blocks_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *b, size_t n) {
    vk_ghash_blocks_portable(k, y, b, n);
}
#endif
