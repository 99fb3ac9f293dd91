/* SM4 (GB/T 32907-2016): key schedule, portable constant-time block routine, CPU dispatch.
 *
 * No table is indexed by key or data anywhere. The portable S-box is computed: SM4's S-box is
 * S(x) = A * inv(A * x + C) + C in GF(2^8) mod f(z) = z^8+z^7+z^6+z^5+z^4+z^2+1 with the affine
 * matrix A (rows rotl8(0xA7, i)) and C = 0xD3 (Liu, Mao, Yang, "Algebraic structure of the SM4
 * S-box"; checked against all 256 standard values in tests/native/test_cipher_native.py), and
 * inv(x) = x^254 by a fixed addition chain of bytewise multiplications done 8 bytes at a time in a
 * uint64 with masks (no branch, no memory index). The fast paths live in sm4_aesni.c.
 */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#define L01 0x0101010101010101ull

/* Bytewise product of the 8 bytes of a and b in GF(2^8) mod f (0x1F5). Constant time. */
static uint64_t gf_mul8(uint64_t a, uint64_t b) {
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) {
        r ^= a & (((b >> i) & L01) * 0xFF);
        a = ((a << 1) & (L01 * 0xFE)) ^ (((a >> 7) & L01) * 0xF5);
    }
    return r;
}

/* Bytewise x^254 (= x^-1, 0 -> 0): z^2, z^3, z^6, z^7, z^14, z^15, z^30, z^60, z^120, z^127, z^254. */
static uint64_t gf_inv8(uint64_t x) {
    uint64_t x2 = gf_mul8(x, x), x3 = gf_mul8(x2, x), x6 = gf_mul8(x3, x3), x7 = gf_mul8(x6, x);
    uint64_t x14 = gf_mul8(x7, x7), x15 = gf_mul8(x14, x);
    uint64_t x30 = gf_mul8(x15, x15), x60 = gf_mul8(x30, x30), x120 = gf_mul8(x60, x60);
    uint64_t x127 = gf_mul8(x120, x7);
    return gf_mul8(x127, x127);
}

/* Bytewise A * x + 0xD3: column j of A is SM4_A_COL[j]. */
static uint64_t sm4_affine8(uint64_t x) {
    static const uint8_t SM4_A_COL[8] = {0xcb, 0x97, 0x2f, 0x5e, 0xbc, 0x79, 0xf2, 0xe5};
    uint64_t r = L01 * 0xD3;
    for (int j = 0; j < 8; j++) r ^= (((x >> j) & L01) * 0xFF) & (L01 * SM4_A_COL[j]);
    return r;
}

/* SM4 S-box applied to each of the 8 bytes of x (GB/T 32907-2016 6.2 (a), tau). */
static uint64_t sm4_sbox8(uint64_t x) { return sm4_affine8(gf_inv8(sm4_affine8(x))); }

static inline uint32_t rol32(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* GB/T 32907-2016 7.3: rk[i] = K[i+4] = K[i] ^ T'(K[i+1] ^ K[i+2] ^ K[i+3] ^ CK[i]) with
 * K[0..3] = MK ^ FK and T'(B) = L'(tau(B)), L'(B) = B ^ (B <<< 13) ^ (B <<< 23). */
void vk_sm4_expand_key(const uint8_t key[16], uint32_t rk[32]) {
    static const uint32_t FK[4] = {0xA3B1BAC6u, 0x56AA3350u, 0x677D9197u, 0xB27022DCu};
    uint32_t k[4];
    for (int i = 0; i < 4; i++) k[i] = load_be32(key + 4 * i) ^ FK[i];
    for (int i = 0; i < 32; i++) {
        uint32_t ck = 0;  /* 7.3: ck[i,j] = (4i + j) * 7 mod 256 */
        for (int j = 0; j < 4; j++) ck = ck << 8 | (uint8_t)((4 * i + j) * 7);
        uint32_t b = (uint32_t)sm4_sbox8(k[1] ^ k[2] ^ k[3] ^ ck);
        uint32_t nk = k[0] ^ b ^ rol32(b, 13) ^ rol32(b, 23);
        rk[i] = nk;
        k[0] = k[1]; k[1] = k[2]; k[2] = k[3]; k[3] = nk;
    }
    vk_wipe(k, sizeof k);
}

/* L (6.2 (b)): C = B ^ (B <<< 2) ^ (B <<< 10) ^ (B <<< 18) ^ (B <<< 24). */
static inline uint32_t sm4_l(uint32_t b) {
    return b ^ rol32(b, 2) ^ rol32(b, 10) ^ rol32(b, 18) ^ rol32(b, 24);
}

/* Two blocks at once (their words share a uint64, block a low, block b high): 7.1 with the round
 * function F(X0..X3, rk) = X0 ^ T(X1 ^ X2 ^ X3 ^ rk) and the final reverse R. */
static void sm4_two_blocks(const uint32_t *rk, const uint8_t *a, const uint8_t *b, uint8_t *oa,
                           uint8_t *ob) {
    uint32_t xa[4], xb[4];
    for (int i = 0; i < 4; i++) { xa[i] = load_be32(a + 4 * i); xb[i] = load_be32(b + 4 * i); }
    for (int r = 0; r < 32; r++) {
        uint64_t t = (uint64_t)(xa[1] ^ xa[2] ^ xa[3] ^ rk[r]) |
                     (uint64_t)(xb[1] ^ xb[2] ^ xb[3] ^ rk[r]) << 32;
        t = sm4_sbox8(t);
        uint32_t na = xa[0] ^ sm4_l((uint32_t)t), nb = xb[0] ^ sm4_l((uint32_t)(t >> 32));
        xa[0] = xa[1]; xa[1] = xa[2]; xa[2] = xa[3]; xa[3] = na;
        xb[0] = xb[1]; xb[1] = xb[2]; xb[2] = xb[3]; xb[3] = nb;
    }
    uint8_t ta[16], tb[16];  /* staging: in == out is allowed for both blocks */
    for (int i = 0; i < 4; i++) { store_be32(ta + 4 * i, xa[3 - i]); store_be32(tb + 4 * i, xb[3 - i]); }
    memcpy(oa, ta, 16);
    memcpy(ob, tb, 16);
}

/* Portable constant-time SM4 over nblocks blocks with round keys rk (uint32[32]). */
void vk_sm4_blocks_portable(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks) {
    size_t i = 0;
    for (; i + 2 <= nblocks; i += 2)
        sm4_two_blocks(rk, in + 16 * i, in + 16 * (i + 1), out + 16 * i, out + 16 * (i + 1));
    if (i < nblocks) {
        uint8_t spare[16] = {0};
        sm4_two_blocks(rk, in + 16 * i, spare, out + 16 * i, spare);
    }
}

/* AVX-512 BW and VL besides the F that VK_CPU_AVX512 stands for (every CPU with GFNI and
 * AVX-512F has them; checked anyway). */
static int avx512_bw_vl(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* The fastest constant-time SM4 routine the usable CPU features allow (see docs/native.md). */
vk_blocks_fn *vk_sm4_select(const char **name) {
    uint32_t f = vk_cpu_usable();
    const uint32_t ni = VK_CPU_AESNI | VK_CPU_SSSE3, gfni = VK_CPU_GFNI | VK_CPU_AVX2 | ni;
    if ((f & (gfni | VK_CPU_AVX512)) == (gfni | VK_CPU_AVX512) && avx512_bw_vl()) {
        *name = "gfni-avx512";
        return vk_sm4_blocks_gfni_avx512;
    }
    if ((f & gfni) == gfni) {
        *name = "gfni-avx2";
        return vk_sm4_blocks_gfni;
    }
    if ((f & (VK_CPU_VAES | VK_CPU_AVX2 | ni)) == (VK_CPU_VAES | VK_CPU_AVX2 | ni)) {
        *name = "vaes-avx2";
        return vk_sm4_blocks_vaes;
    }
    if ((f & (VK_CPU_AVX2 | ni)) == (VK_CPU_AVX2 | ni)) {
        *name = "aesni-avx2";
        return vk_sm4_blocks_avx2;
    }
    if ((f & ni) == ni) {
        *name = "aesni";
        return vk_sm4_blocks_aesni;
    }
    *name = "portable-ct";
    return vk_sm4_blocks_portable;
}

const char *vk_sm4_impl(void) {
    const char *name;
    (void)vk_sm4_select(&name);
    return name;
}
