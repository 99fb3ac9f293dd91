/* SM3 compression (GB/T 32905-2016 5.3) with the ARMv8.2 SM3 instructions. Compiles to nothing
 * on other architectures; sm3.c calls it only when getauxval(AT_HWCAP) reports HWCAP_SM3.
 *
 * The instruction sequence follows the SM3 extension's design (and the Linux kernel's
 * arch/arm64/crypto/sm3-ce-core.S, Ard Biesheuvel, 2018): the state is held as {D, C, B, A} and
 * {H, G, F, E} (lane 3 = A / E); per round SM3SS1 computes SS1 from A, E and T_j <<< j (lane 3
 * of t, rotated by one each round), SM3TT1A/B and SM3TT2A/B update the two halves with W'_j and
 * W_j (A: rounds 0-15, FF/GG = XOR; B: rounds 16-63, majority/choice); SM3PARTW1/2 expand the
 * message four words at a time (5.3.2). Straight-line code, no table, constant time. */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define T_SM3 __attribute__((target("arch=armv8.2-a+sm4")))
#define T_SM3_INLINE __attribute__((always_inline, target("arch=armv8.2-a+sm4"))) static inline

/* {x0, x1, x2, x3} -> {x3, x2, x1, x0}: the state words in the instructions' lane order. */
T_SM3_INLINE uint32x4_t rev_words(uint32x4_t x) {
    x = vrev64q_u32(x);
    return vextq_u32(x, x, 2);
}

#define ROL1(t) vsriq_n_u32(vshlq_n_u32((t), 1), (t), 31)

/* Round j (4.3, 5.3.3) with message lane I of w (W_j) and wp (W'_j = W_j ^ W_j+4). */
#define SM3_CE_ROUND(AB, I)                                                                       \
    do {                                                                                          \
        uint32x4_t ss1 = vsm3ss1q_u32(abcd, t, efgh);                                             \
        abcd = vsm3tt1##AB##q_u32(abcd, ss1, wp, I);                                              \
        efgh = vsm3tt2##AB##q_u32(efgh, ss1, w[k], I);                                            \
        t = ROL1(t);                                                                              \
    } while (0)

#define SM3_CE_QROUND(AB)                                                                         \
    do {                                                                                          \
        uint32x4_t wp = veorq_u32(w[k], w[k + 1]);                                                \
        SM3_CE_ROUND(AB, 0);                                                                      \
        SM3_CE_ROUND(AB, 1);                                                                      \
        SM3_CE_ROUND(AB, 2);                                                                      \
        SM3_CE_ROUND(AB, 3);                                                                      \
    } while (0)

T_SM3 void vk_sm3_blocks_ce(uint32_t v[8], const uint8_t *p, size_t nblocks) {
    uint32x4_t abcd = rev_words(vld1q_u32(v)), efgh = rev_words(vld1q_u32(v + 4));
    for (; nblocks; nblocks--, p += 64) {
        const uint32x4_t abcd0 = abcd, efgh0 = efgh;
        uint32x4_t w[17]; /* w[k] = W_4k .. W_4k+3 (5.3.2) */
        for (int k = 0; k < 4; k++) w[k] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * k)));
        uint32x4_t t = vsetq_lane_u32(0x79cc4519u, vdupq_n_u32(0), 3); /* T_0 (4.2) */
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++) {
            uint32x4_t next = w[0], x6 = w[0], x7 = w[0];
            if (k < 13) { /* W_4k+16 .. W_4k+19 */
                next = vextq_u32(w[k + 1], w[k + 2], 3);
                x6 = vextq_u32(w[k], w[k + 1], 3);
                x7 = vextq_u32(w[k + 2], w[k + 3], 2);
                next = vsm3partw1q_u32(next, w[k], w[k + 3]);
            }
            if (k == 4) t = vsetq_lane_u32(0x9d8a7a87u, vdupq_n_u32(0), 3); /* T_16 <<< 16 */
            if (k < 4)
                SM3_CE_QROUND(a);
            else
                SM3_CE_QROUND(b);
            if (k < 13) w[k + 4] = vsm3partw2q_u32(next, x7, x6);
        }
        abcd = veorq_u32(abcd, abcd0);
        efgh = veorq_u32(efgh, efgh0);
    }
    vst1q_u32(v, rev_words(abcd));
    vst1q_u32(v + 4, rev_words(efgh));
}

#endif
