/* GHASH (NIST SP 800-38D 6.4): path selection and the portable constant-time multiply.
 *
 * The portable path multiplies in GF(2^128) with integer multiplications on operands whose bits
 * are spread 4 apart ("holes", so carries never reach a bit that is kept), the high halves obtained
 * by bit reversal, Karatsuba over 64-bit halves and a shift-and-fold reduction: the technique of
 * BearSSL's ghash_ctmul64.c (Thomas Pornin). No table, no secret-dependent branch or index.
 */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

static inline uint64_t load_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static inline void store_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

/* Low 64 bits of the carry-less product x * y. */
static inline uint64_t bmul64(uint64_t x, uint64_t y) {
    const uint64_t m0 = 0x1111111111111111ull, m1 = m0 << 1, m2 = m0 << 2, m3 = m0 << 3;
    uint64_t x0 = x & m0, x1 = x & m1, x2 = x & m2, x3 = x & m3;
    uint64_t y0 = y & m0, y1 = y & m1, y2 = y & m2, y3 = y & m3;
    uint64_t z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
    uint64_t z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
    uint64_t z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
    uint64_t z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
    return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
}

static inline uint64_t rev64(uint64_t x) {
    x = ((x & 0x5555555555555555ull) << 1) | ((x >> 1) & 0x5555555555555555ull);
    x = ((x & 0x3333333333333333ull) << 2) | ((x >> 2) & 0x3333333333333333ull);
    x = ((x & 0x0F0F0F0F0F0F0F0Full) << 4) | ((x >> 4) & 0x0F0F0F0F0F0F0F0Full);
    x = ((x & 0x00FF00FF00FF00FFull) << 8) | ((x >> 8) & 0x00FF00FF00FF00FFull);
    x = ((x & 0x0000FFFF0000FFFFull) << 16) | ((x >> 16) & 0x0000FFFF0000FFFFull);
    return (x << 32) | (x >> 32);
}

/* Portable GHASH over n blocks (6.4), y in the standard byte representation. */
void vk_ghash_blocks_portable(const vk_ghash_key *k, uint8_t y[16], const uint8_t *b, size_t n) {
    const uint64_t h1 = k->h1, h0 = k->h0, h2 = h0 ^ h1;
    const uint64_t h0r = rev64(h0), h1r = rev64(h1), h2r = h0r ^ h1r;
    uint64_t y1 = load_be64(y), y0 = load_be64(y + 8);
    for (; n; n--, b += 16) {
        y1 ^= load_be64(b);
        y0 ^= load_be64(b + 8);
        uint64_t y0r = rev64(y0), y1r = rev64(y1), y2 = y0 ^ y1, y2r = y0r ^ y1r;
        /* Karatsuba: low halves from bmul64, high halves from the bit-reversed operands. */
        uint64_t z0 = bmul64(y0, h0), z1 = bmul64(y1, h1), z2 = bmul64(y2, h2);
        uint64_t z0h = bmul64(y0r, h0r), z1h = bmul64(y1r, h1r), z2h = bmul64(y2r, h2r);
        z2 ^= z0 ^ z1;
        z2h ^= z0h ^ z1h;
        z0h = rev64(z0h) >> 1;
        z1h = rev64(z1h) >> 1;
        z2h = rev64(z2h) >> 1;
        uint64_t v0 = z0, v1 = z0h ^ z2, v2 = z1 ^ z2h, v3 = z1h;
        /* The operands are bit-reflected: shift the 255-bit product left by one, then reduce
         * modulo x^128 + x^7 + x^2 + x + 1 (6.3) by folding the low 128 bits up. */
        v3 = (v3 << 1) | (v2 >> 63);
        v2 = (v2 << 1) | (v1 >> 63);
        v1 = (v1 << 1) | (v0 >> 63);
        v0 = v0 << 1;
        v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
        v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
        v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
        v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
        y1 = v3;
        y0 = v2;
    }
    store_be64(y, y1);
    store_be64(y + 8, y0);
}

/* The carry-less multiply path: PCLMULQDQ + SSSE3 (ghash_clmul.c) on x86, PMULL (ghash_pmull.c)
 * on aarch64; both fill k->pow and set k->clmul through vk_ghash_init_clmul. */
#if defined(__aarch64__)
#define CLMUL_NEED VK_CPU_ARM_PMULL
#define CLMUL_NAME "pmull"
#else
#define CLMUL_NEED (VK_CPU_PCLMUL | VK_CPU_SSSE3)
#define CLMUL_NAME "pclmul"
#endif

static int use_clmul(void) { return (vk_cpu_usable() & CLMUL_NEED) == CLMUL_NEED; }

const char *vk_ghash_select_name(void) { return use_clmul() ? CLMUL_NAME : "portable-ct"; }

void vk_ghash_init(vk_ghash_key *k, const uint8_t h[16]) {
    memset(k, 0, sizeof *k);
    k->h1 = load_be64(h);
    k->h0 = load_be64(h + 8);
    if (use_clmul()) vk_ghash_init_clmul(k, h);
}

void vk_ghash_blocks(const vk_ghash_key *k, uint8_t y[16], const uint8_t *blocks, size_t nblocks) {
    if (k->clmul)
        vk_ghash_blocks_clmul(k, y, blocks, nblocks);
    else
        vk_ghash_blocks_portable(k, y, blocks, nblocks);
}

void vk_ghash_final(const vk_ghash_key *k, uint8_t y[16], const uint8_t *c, size_t len,
                    uint64_t a_bits, uint64_t c_bits) {
    if (k->clmul) {
        vk_ghash_final_clmul(k, y, c, len, a_bits, c_bits);
        return;
    }
    size_t full = len / 16, rem = len % 16;
    uint8_t last[16] = {0};
    vk_ghash_blocks_portable(k, y, c, full);
    if (rem) {
        memcpy(last, c + 16 * full, rem);
        vk_ghash_blocks_portable(k, y, last, 1);
    }
    store_be64(last, a_bits);
    store_be64(last + 8, c_bits);
    vk_ghash_blocks_portable(k, y, last, 1);
}
