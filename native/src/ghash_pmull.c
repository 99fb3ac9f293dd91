/* GHASH (NIST SP 800-38D 6.4) with the ARMv8 PMULL instruction: the algorithm of ghash_clmul.c
 * (byte-reversed operands, H^1..H^8 in the same k->pow layout, 8 blocks per reduction, the
 * shift-and-fold reduction of Gueron and Kounavis, Intel white paper 323640, algorithm 5) with
 * each SSE operation replaced by its NEON equivalent: PCLMULQDQ by PMULL/PMULL2, byte shifts of
 * the whole register by EXT against zero, 32-bit lane shifts by SHL/USHR. Compiles to nothing on
 * other architectures; on aarch64 it defines the vk_ghash_*_clmul functions that ghash.c selects
 * when HWCAP_PMULL is reported. PMULL's timing does not depend on its operands: constant time.
 */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define PMULL __attribute__((target("+crypto")))
#define PMULL_INLINE __attribute__((always_inline, target("+crypto"))) static inline
#define AGG 8

typedef uint8x16_t v128;

/* _mm_slli_si128 / _mm_srli_si128: the 128-bit register shifted by n bytes (little-endian). */
#define SLLI_BYTES(x, n) vextq_u8(vdupq_n_u8(0), (x), 16 - (n))
#define SRLI_BYTES(x, n) vextq_u8((x), vdupq_n_u8(0), (n))
#define SLLI32(x, n) vreinterpretq_u8_u32(vshlq_n_u32(vreinterpretq_u32_u8(x), (n)))
#define SRLI32(x, n) vreinterpretq_u8_u32(vshrq_n_u32(vreinterpretq_u32_u8(x), (n)))

PMULL_INLINE v128 bswap128(v128 x) {
    x = vrev64q_u8(x);
    return vextq_u8(x, x, 8);
}

PMULL_INLINE v128 mul64(uint64_t a, uint64_t b) {
    return vreinterpretq_u8_p128(vmull_p64((poly64_t)a, (poly64_t)b));
}

/* lo/mid/hi ^= the partial products of a * b (unreduced, 256 bits as lo ^ mid<<64 ^ hi<<128). */
PMULL_INLINE void mul_acc(v128 a, v128 b, v128 *lo, v128 *mid, v128 *hi) {
    uint64x2_t a64 = vreinterpretq_u64_u8(a), b64 = vreinterpretq_u64_u8(b);
    uint64_t a0 = vgetq_lane_u64(a64, 0), a1 = vgetq_lane_u64(a64, 1);
    uint64_t b0 = vgetq_lane_u64(b64, 0), b1 = vgetq_lane_u64(b64, 1);
    *lo = veorq_u8(*lo, mul64(a0, b0));
    *hi = veorq_u8(*hi, vreinterpretq_u8_p128(vmull_high_p64(vreinterpretq_p64_u8(a),
                                                             vreinterpretq_p64_u8(b))));
    *mid = veorq_u8(*mid, veorq_u8(mul64(a0, b1), mul64(a1, b0)));
}

/* Reduce an unreduced reflected product to a field element (white paper algorithm 5). */
PMULL_INLINE v128 reduce(v128 lo, v128 mid, v128 hi) {
    v128 t3 = veorq_u8(lo, SLLI_BYTES(mid, 8));
    v128 t6 = veorq_u8(hi, SRLI_BYTES(mid, 8));
    /* shift the 256-bit t6:t3 left by one bit (the operands are reflected) */
    v128 t7 = SRLI32(t3, 31), t8 = SRLI32(t6, 31);
    t3 = SLLI32(t3, 1);
    t6 = SLLI32(t6, 1);
    v128 t9 = SRLI_BYTES(t7, 12);
    t8 = SLLI_BYTES(t8, 4);
    t7 = SLLI_BYTES(t7, 4);
    t3 = vorrq_u8(t3, t7);
    t6 = vorrq_u8(vorrq_u8(t6, t8), t9);
    /* first phase */
    t7 = veorq_u8(veorq_u8(SLLI32(t3, 31), SLLI32(t3, 30)), SLLI32(t3, 25));
    t8 = SRLI_BYTES(t7, 4);
    t3 = veorq_u8(t3, SLLI_BYTES(t7, 12));
    /* second phase */
    v128 t2 = veorq_u8(veorq_u8(SRLI32(t3, 1), SRLI32(t3, 2)), veorq_u8(SRLI32(t3, 7), t8));
    return veorq_u8(t6, veorq_u8(t3, t2));
}

PMULL_INLINE v128 gfmul(v128 a, v128 b) {
    v128 lo = vdupq_n_u8(0), mid = lo, hi = lo;
    mul_acc(a, b, &lo, &mid, &hi);
    return reduce(lo, mid, hi);
}

/* Fills k->pow with H^1..H^8 (byte-reversed form) and selects this path. */
PMULL void vk_ghash_init_clmul(vk_ghash_key *k, const uint8_t h[16]) {
    v128 hr = bswap128(vld1q_u8(h)), p = hr;
    for (int i = 0; i < 8; i++) {
        vst1q_u8(k->pow[i], p);
        p = gfmul(p, hr);
    }
    k->clmul = 1;
}

/* acc <- GHASH continued over n blocks at b, aggregated 8 at a time, the last 1..7 in one
 * reduction with H^n..H^1. */
PMULL_INLINE v128 ghash_run(const vk_ghash_key *k, v128 acc, const uint8_t *b, size_t n) {
    for (; n >= AGG; n -= AGG, b += 16 * AGG) {
        v128 lo = vdupq_n_u8(0), mid = lo, hi = lo;
        for (int j = 0; j < AGG; j++) {
            v128 x = bswap128(vld1q_u8(b + 16 * j));
            if (j == 0) x = veorq_u8(x, acc);
            mul_acc(x, vld1q_u8(k->pow[AGG - 1 - j]), &lo, &mid, &hi);
        }
        acc = reduce(lo, mid, hi);
    }
    if (n) {
        v128 lo = vdupq_n_u8(0), mid = lo, hi = lo;
        for (size_t j = 0; j < n; j++) {
            v128 x = bswap128(vld1q_u8(b + 16 * j));
            if (j == 0) x = veorq_u8(x, acc);
            mul_acc(x, vld1q_u8(k->pow[n - 1 - j]), &lo, &mid, &hi);
        }
        acc = reduce(lo, mid, hi);
    }
    return acc;
}

PMULL void vk_ghash_blocks_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *b, size_t n) {
    v128 acc = bswap128(vld1q_u8(y));
    acc = ghash_run(k, acc, b, n);
    vst1q_u8(y, bswap128(acc));
}

/* GHASH over c[0..len) zero-padded, then the block [a_bits]64 || [c_bits]64; the last whole
 * blocks, the padded partial block and the lengths block share one reduction when they fit. */
PMULL void vk_ghash_final_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *c, size_t len,
                                uint64_t a_bits, uint64_t c_bits) {
    v128 acc = bswap128(vld1q_u8(y));
    size_t full = len / 16, rem = len % 16, head = full - full % AGG, ra = full % AGG;
    v128 last[2];
    size_t nl = 0;
    if (rem) {
        uint8_t part[16] = {0};
        memcpy(part, c + 16 * full, rem);
        last[nl++] = bswap128(vld1q_u8(part));
    }
    /* the byte-reversed lengths block: a_bits in the high half, c_bits in the low half */
    last[nl++] = vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(c_bits), vcreate_u64(a_bits)));
    acc = ghash_run(k, acc, c, head);
    if (ra + nl > AGG) {
        acc = ghash_run(k, acc, c + 16 * head, ra);
        head += ra;
        ra = 0;
    }
    size_t n = ra + nl;
    v128 lo = vdupq_n_u8(0), mid = lo, hi = lo;
    for (size_t j = 0; j < n; j++) {
        v128 x = j < ra ? bswap128(vld1q_u8(c + 16 * (head + j))) : last[j - ra];
        if (j == 0) x = veorq_u8(x, acc);
        mul_acc(x, vld1q_u8(k->pow[n - 1 - j]), &lo, &mid, &hi);
    }
    acc = reduce(lo, mid, hi);
    vst1q_u8(y, bswap128(acc));
}

#endif
