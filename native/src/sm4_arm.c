/* SM4 (GB/T 32907-2016) on aarch64: the ARMv8.2 SM4 instructions, or NEON with the S-box computed
 * through AESE. Compiles to nothing on other architectures.
 *
 * sm4e path (HWCAP_SM4): SM4E performs four rounds (7.1) on a register holding X0..X3 in
 * elements 0..3 with four round keys; SM4EKEY derives four round keys (7.3) from K0..K3 and four
 * CK words. Words are big-endian in the byte stream, so each 32-bit element is byte-swapped
 * (REV32) on load and store; the final reverse R (7.1) is a word reversal (REV64 + EXT). Eight
 * blocks are interleaved to cover SM4E's latency. No table, no data-dependent branch or address;
 * SM4E/SM4EKEY are on Arm's data-independent-timing (FEAT_DIT) list.
 *
 * neon-aes path (HWCAP_AES and ASIMD, no SM4): the affine isomorphism of sm4_aesni.c with the same
 * Pre and Post nibble tables (S_sm4(x) = Post(AES_SubBytes(Pre(x)))). TBL on a table held in a
 * register replaces pshufb (register-indexed, no memory access by secret index: constant time);
 * AESE with a zero round key computes ShiftRows(SubBytes(x)), a preceding inverse-ShiftRows TBL
 * with a public index cancels ShiftRows. The data layout is sm4_aesni.c's: LD4/ST4 transpose four
 * blocks so register j holds word j of the four blocks; two groups (8 blocks) are interleaved.
 *
 * Functions carry target attributes ("+crypto" = AES + PMULL; "arch=armv8.2-a+sm4" for SM4E, the
 * form GCC's arm_neon.h declares them with) so the module runs on every ARM64 CPU; vk_sm4_select
 * calls them only when getauxval(AT_HWCAP) reports the feature. */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define T_SM4 __attribute__((target("arch=armv8.2-a+sm4")))
#define T_AES __attribute__((target("+crypto")))
#define T_AES_INLINE __attribute__((always_inline, target("+crypto"))) static inline

/* ---- SM4E / SM4EKEY --------------------------------------------------------------------------- */

/* GB/T 32907-2016 7.3: FK and CK (ck[i,j] = (4i + j) * 7 mod 256), as host-order words. */
static const uint32_t SM4_FK[4] = {0xA3B1BAC6u, 0x56AA3350u, 0x677D9197u, 0xB27022DCu};

static uint32_t sm4_ck(unsigned i) {
    uint32_t ck = 0;
    for (unsigned j = 0; j < 4; j++) ck = ck << 8 | (uint8_t)((4 * i + j) * 7);
    return ck;
}

/* The 32 round keys (7.3) with SM4EKEY: K[0..3] = MK ^ FK, then four keys per instruction. */
T_SM4 void vk_sm4_expand_key_sm4e(const uint8_t key[16], uint32_t rk[32]) {
    uint32_t ck[32];
    for (unsigned i = 0; i < 32; i++) ck[i] = sm4_ck(i);
    uint32x4_t k = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(key)));
    k = veorq_u32(k, vld1q_u32(SM4_FK));
    for (unsigned i = 0; i < 8; i++) {
        k = vsm4ekeyq_u32(k, vld1q_u32(ck + 4 * i));
        vst1q_u32(rk + 4 * i, k);
    }
}

/* 32 rounds on one block held as host-order words X0..X3, then R (7.1): X35, X34, X33, X32. */
#define SM4E_32(x, k)                                                                             \
    do {                                                                                          \
        for (int r_ = 0; r_ < 8; r_++) x = vsm4eq_u32(x, k[r_]);                                   \
        x = vrev64q_u32(x);                                                                       \
        x = vextq_u32(x, x, 2);                                                                   \
    } while (0)

/* nblocks blocks with round keys rk (uint32[32]; reversed for decryption); in == out allowed. */
T_SM4 void vk_sm4_blocks_sm4e(const void *ks, const uint8_t *in, uint8_t *out, size_t nblocks) {
    const uint32_t *rk = (const uint32_t *)ks;
    uint32x4_t k[8];
    for (int i = 0; i < 8; i++) k[i] = vld1q_u32(rk + 4 * i);
    for (; nblocks >= 8; nblocks -= 8, in += 128, out += 128) {
        uint32x4_t x[8];
        for (int j = 0; j < 8; j++) x[j] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(in + 16 * j)));
        for (int r = 0; r < 8; r++)
            for (int j = 0; j < 8; j++) x[j] = vsm4eq_u32(x[j], k[r]);
        for (int j = 0; j < 8; j++) {
            uint32x4_t y = vrev64q_u32(x[j]);
            y = vextq_u32(y, y, 2);
            vst1q_u8(out + 16 * j, vrev32q_u8(vreinterpretq_u8_u32(y)));
        }
    }
    for (; nblocks; nblocks--, in += 16, out += 16) {
        uint32x4_t x = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(in)));
        SM4E_32(x, k);
        vst1q_u8(out, vrev32q_u8(vreinterpretq_u8_u32(x)));
    }
}

/* ---- NEON + AESE (the sm4_aesni.c isomorphism) ----------------------------------------------- */

/* Nibble tables of Pre (with its constant 0x3e in the low table) and Post (constant 0x6c): the
 * constants of sm4_aesni.c (tests/native/test_cipher_native.py re-derives them and compares with
 * both files). */
static const uint8_t PRE_LO[16] = {0x3e, 0xb2, 0x0e, 0x82, 0xbb, 0x37, 0x8b, 0x07,
                                   0xa1, 0x2d, 0x91, 0x1d, 0x24, 0xa8, 0x14, 0x98};
static const uint8_t PRE_HI[16] = {0x00, 0xdc, 0x2e, 0xf2, 0xc5, 0x19, 0xeb, 0x37,
                                   0x08, 0xd4, 0x26, 0xfa, 0xcd, 0x11, 0xe3, 0x3f};
static const uint8_t POST_LO[16] = {0x6c, 0xd4, 0xa6, 0x1e, 0x52, 0xea, 0x98, 0x20,
                                    0x0b, 0xb3, 0xc1, 0x79, 0x35, 0x8d, 0xff, 0x47};
static const uint8_t POST_HI[16] = {0x00, 0xe0, 0x50, 0xb0, 0x9d, 0x7d, 0xcd, 0x2d,
                                    0xc0, 0x20, 0x90, 0x70, 0x5d, 0xbd, 0x0d, 0xed};
/* Inverse AES ShiftRows (FIPS 197 5.3.1) as a byte gather: out[i] = in[INV_SHIFT_ROWS[i]]. */
static const uint8_t INV_SHIFT_ROWS[16] = {0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3};

/* The tables in registers, loaded once per call. */
typedef struct {
    uint8x16_t pre_lo, pre_hi, post_lo, post_hi, isr;
} sbox_tables;

T_AES_INLINE sbox_tables load_tables(void) {
    sbox_tables t = {vld1q_u8(PRE_LO), vld1q_u8(PRE_HI), vld1q_u8(POST_LO), vld1q_u8(POST_HI),
                     vld1q_u8(INV_SHIFT_ROWS)};
    return t;
}

/* Affine map of each byte of x from nibble tables: lo[x & 15] ^ hi[x >> 4] (TBL on registers). */
T_AES_INLINE uint8x16_t nibble_affine(uint8x16_t x, uint8x16_t lo, uint8x16_t hi) {
    return veorq_u8(vqtbl1q_u8(lo, vandq_u8(x, vdupq_n_u8(0x0f))), vqtbl1q_u8(hi, vshrq_n_u8(x, 4)));
}

/* The SM4 S-box on each of the 16 bytes of x. */
T_AES_INLINE uint32x4_t sbox(uint32x4_t w, const sbox_tables *t) {
    uint8x16_t x = nibble_affine(vreinterpretq_u8_u32(w), t->pre_lo, t->pre_hi);
    x = vaeseq_u8(vqtbl1q_u8(x, t->isr), vdupq_n_u8(0)); /* SubBytes (ShiftRows cancelled) */
    return vreinterpretq_u32_u8(nibble_affine(x, t->post_lo, t->post_hi));
}

#define ROL(x, n) vsriq_n_u32(vshlq_n_u32((x), (n)), (x), 32 - (n))

/* L (6.2 (b)): B ^ (B <<< 2) ^ (B <<< 10) ^ (B <<< 18) ^ (B <<< 24). */
T_AES_INLINE uint32x4_t sm4_l(uint32x4_t b) {
    uint32x4_t rol16 = vreinterpretq_u32_u16(vrev32q_u16(vreinterpretq_u16_u32(b)));
    uint32x4_t t = veorq_u32(veorq_u32(b, ROL(b, 8)), rol16);
    return veorq_u32(veorq_u32(b, ROL(b, 24)), ROL(t, 2));
}

/* Four blocks: x.val[j] = word j (host order) of blocks 0..3 (LD4 de-interleaves the words). */
T_AES_INLINE uint32x4x4_t load4(const uint8_t *in) {
    uint32x4x4_t x = vld4q_u32((const uint32_t *)(const void *)in);
    for (int j = 0; j < 4; j++)
        x.val[j] = vreinterpretq_u32_u8(vrev32q_u8(vreinterpretq_u8_u32(x.val[j])));
    return x;
}

/* R (7.1): the blocks get X35, X34, X33, X32, here x.val[3..0]. */
T_AES_INLINE void store4(uint8_t *out, uint32x4x4_t x) {
    uint32x4x4_t y;
    for (int j = 0; j < 4; j++)
        y.val[j] = vreinterpretq_u32_u8(vrev32q_u8(vreinterpretq_u8_u32(x.val[3 - j])));
    vst4q_u32((uint32_t *)(void *)out, y);
}

/* One round (7.1: X[i+4] = X[i] ^ L(tau(X[i+1] ^ X[i+2] ^ X[i+3] ^ rk[i]))) on (a, b, c, d) -> a. */
#define NEON_ROUND(k, a, b, c, d) \
    a = veorq_u32(a, sm4_l(sbox(veorq_u32(veorq_u32(b, c), veorq_u32(d, k)), &t)))

/* 4 or 8 blocks (groups = 1 or 2) in place in buf. */
T_AES_INLINE void neon_aes_groups(const uint32_t *rk, const uint8_t *in, uint8_t *out, int groups) {
    const sbox_tables t = load_tables();
    uint32x4x4_t x = load4(in), y = groups == 2 ? load4(in + 64) : x;
    for (int r = 0; r < 32; r += 4) {
        for (int q = 0; q < 4; q++) {
            uint32x4_t k = vdupq_n_u32(rk[r + q]);
            NEON_ROUND(k, x.val[q], x.val[(q + 1) & 3], x.val[(q + 2) & 3], x.val[(q + 3) & 3]);
            if (groups == 2)
                NEON_ROUND(k, y.val[q], y.val[(q + 1) & 3], y.val[(q + 2) & 3], y.val[(q + 3) & 3]);
        }
    }
    store4(out, x);
    if (groups == 2) store4(out + 64, y);
}

T_AES static void neon_aes_x4(const uint32_t *rk, const uint8_t *in, uint8_t *out) {
    neon_aes_groups(rk, in, out, 1);
}

T_AES static void neon_aes_x8(const uint32_t *rk, const uint8_t *in, uint8_t *out) {
    neon_aes_groups(rk, in, out, 2);
}

/* nblocks blocks with round keys rk (uint32[32]); in == out allowed. 8-block steps; the last
 * 1..7 blocks padded in a stack buffer to 4 (one group: FF1's single calls) or 8. */
T_AES void vk_sm4_blocks_neon_aes(const void *ks, const uint8_t *in, uint8_t *out, size_t nblocks) {
    const uint32_t *rk = (const uint32_t *)ks;
    for (; nblocks >= 8; nblocks -= 8, in += 128, out += 128) neon_aes_x8(rk, in, out);
    if (nblocks) {
        uint8_t buf[128] = {0};
        memcpy(buf, in, 16 * nblocks);
        if (nblocks <= 4)
            neon_aes_x4(rk, buf, buf);
        else
            neon_aes_x8(rk, buf, buf);
        memcpy(out, buf, 16 * nblocks);
        vk_wipe(buf, sizeof buf);
    }
}

/* tau (6.2 (a)) on one word for the key schedule (7.3), through the same S-box. */
T_AES uint32_t vk_sm4_tau_neon_aes(uint32_t word) {
    const sbox_tables t = load_tables();
    return vgetq_lane_u32(sbox(vdupq_n_u32(word), &t), 0);
}

#endif
