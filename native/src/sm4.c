/* SM4 (GB/T 32907-2016): key schedule, portable constant-time block routines, CPU dispatch.
 *
 * No table is indexed by key or data anywhere. The portable S-box is computed from SM4's
 * algebraic structure: S(x) = A * inv(A * x + C) + C in GF(2^8) mod f(z) = z^8+z^7+z^6+z^5+z^4+
 * z^2+1 with the affine matrix A (rows rotl8(0xA7, i)) and C = 0xD3 (Liu, Mao, Yang, "Algebraic
 * structure of the SM4 S-box"; checked against all 256 standard values in
 * tests/native/test_cipher_native.py). Two portable routines:
 *   - bitsliced (3+ blocks): 64 blocks per pass, each state bit of the 64 blocks in one uint64;
 *     the S-box is a Boolean circuit (inversion in the tower field GF((2^4)^2), Canright's
 *     method, with our own isomorphism matrices), L is slice renumbering plus XORs; ~95 MiB/s;
 *   - bytewise (1-2 blocks, the key schedule): inv(x) = x^254 by a fixed addition chain of
 *     GF(2^8) multiplications on 8 bytes at a time in a uint64 with masks; ~5 us per call.
 * The fast paths live in sm4_aesni.c (x86) and sm4_arm.c (aarch64).
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
void vk_sm4_expand_key_with(const uint8_t key[16], uint32_t rk[32], vk_sm4_tau_fn *tau) {
    static const uint32_t FK[4] = {0xA3B1BAC6u, 0x56AA3350u, 0x677D9197u, 0xB27022DCu};
    uint32_t k[4];
    for (int i = 0; i < 4; i++) k[i] = load_be32(key + 4 * i) ^ FK[i];
    for (int i = 0; i < 32; i++) {
        uint32_t ck = 0;  /* 7.3: ck[i,j] = (4i + j) * 7 mod 256 */
        for (int j = 0; j < 4; j++) ck = ck << 8 | (uint8_t)((4 * i + j) * 7);
        uint32_t b = tau(k[1] ^ k[2] ^ k[3] ^ ck);
        uint32_t nk = k[0] ^ b ^ rol32(b, 13) ^ rol32(b, 23);
        rk[i] = nk;
        k[0] = k[1]; k[1] = k[2]; k[2] = k[3]; k[3] = nk;
    }
    vk_wipe(k, sizeof k);
}

uint32_t vk_sm4_tau_portable(uint32_t word) { return (uint32_t)sm4_sbox8(word); }

void vk_sm4_expand_key(const uint8_t key[16], uint32_t rk[32]) {
    vk_sm4_expand_key_with(key, rk, vk_sm4_tau_portable);
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

/* ---- bitsliced portable path (64 blocks per pass) ---------------------------------------- */

/* S-box through the tower field GF((2^4)^2): S(x) = Post(inv(Pre(x))) where Pre = T*A (+ T*C),
 * Post = A*T^-1 (+ C), T the isomorphism from GF(2^8)/f onto GF(16)[y]/(y^2 + y + 8) with
 * GF(16) = GF(2)[z]/(z^4 + z + 1) (z^... -> 0x83), and inv(a*y + b) = (a*d)*y + (a + b)*d with
 * d = (8*a^2 + a*b + b^2)^-1 (Canright's tower-field inversion). Rows: bit i of the output is
 * the parity of (row i & input); tests/native/test_cipher_native.py re-derives them. */
static const uint8_t BS_PRE[8] = {0xd8, 0x65, 0xbe, 0xe3, 0x93, 0x40, 0xc4, 0x7f};
static const uint8_t BS_POST[8] = {0x93, 0x45, 0xe4, 0x95, 0x1a, 0xba, 0x57, 0x19};
#define BS_PRE_C 0xac
#define BS_POST_C 0xd3
static const uint8_t BS_SQ[4] = {5, 4, 10, 8};   /* a -> a^2 in GF(16) */
static const uint8_t BS_LSQ[4] = {4, 14, 2, 13}; /* a -> 8 * a^2 */

typedef uint64_t bs_t; /* one bit of 64 lanes */

/* out = M in (+ c): n x n bit matrix on bitsliced values (constant rows: the branches are on
 * public constants and unroll away). */
static inline void bs_linear(bs_t *out, const bs_t *in, const uint8_t *rows, unsigned n, unsigned c) {
    for (unsigned i = 0; i < n; i++) {
        bs_t v = (bs_t)0 - (bs_t)((c >> i) & 1);
        for (unsigned j = 0; j < n; j++)
            if ((rows[i] >> j) & 1) v ^= in[j];
        out[i] = v;
    }
}

/* r = a * b in GF(16) = GF(2)[z]/(z^4 + z + 1). */
static inline void bs_mul4(bs_t r[4], const bs_t a[4], const bs_t b[4]) {
    bs_t p0 = a[0] & b[0];
    bs_t p1 = (a[0] & b[1]) ^ (a[1] & b[0]);
    bs_t p2 = (a[0] & b[2]) ^ (a[1] & b[1]) ^ (a[2] & b[0]);
    bs_t p3 = (a[0] & b[3]) ^ (a[1] & b[2]) ^ (a[2] & b[1]) ^ (a[3] & b[0]);
    bs_t p4 = (a[1] & b[3]) ^ (a[2] & b[2]) ^ (a[3] & b[1]);
    bs_t p5 = (a[2] & b[3]) ^ (a[3] & b[2]);
    bs_t p6 = a[3] & b[3];
    r[0] = p0 ^ p4;
    r[1] = p1 ^ p4 ^ p5;
    r[2] = p2 ^ p5 ^ p6;
    r[3] = p3 ^ p6;
}

/* SM4 S-box on 8 bitsliced bits x[0..7] (x[j] = bit j of each lane's byte), in place. */
static void bs_sbox(bs_t x[8]) {
    bs_t u[8], a2[4], a4[4], a8[4], ab[4], s[4], delta[4], d[4], t[4], v[8];
    bs_linear(u, x, BS_PRE, 8, BS_PRE_C);
    const bs_t *b = u, *a = u + 4; /* byte = a * y + b: a is the high nibble */
    bs_mul4(ab, a, b);
    bs_linear(s, a, BS_LSQ, 4, 0);
    bs_linear(t, b, BS_SQ, 4, 0);
    for (int i = 0; i < 4; i++) delta[i] = s[i] ^ ab[i] ^ t[i];
    bs_linear(a2, delta, BS_SQ, 4, 0); /* d = delta^14 = delta^2 * delta^4 * delta^8 */
    bs_linear(a4, a2, BS_SQ, 4, 0);
    bs_linear(a8, a4, BS_SQ, 4, 0);
    bs_mul4(t, a2, a4);
    bs_mul4(d, t, a8);
    bs_mul4(v + 4, a, d);
    for (int i = 0; i < 4; i++) t[i] = a[i] ^ b[i];
    bs_mul4(v, t, d);
    bs_linear(x, v, BS_POST, 8, BS_POST_C);
}

/* 64 x 64 bit-matrix transpose (Hacker's Delight 7-3): afterwards bit 63-p of a[i] is what bit
 * 63-i of a[p] was. An involution. */
static void bs_transpose64(uint64_t a[64]) {
    uint64_t m = 0x00000000FFFFFFFFull;
    for (unsigned j = 32; j; j >>= 1, m ^= m << j) {
        for (unsigned k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            uint64_t t = (a[k] ^ (a[k | j] >> j)) & m;
            a[k] ^= t;
            a[k | j] ^= t << j;
        }
    }
}

/* Words w0, w1 of up to 64 blocks into slices: s0[q] / s1[q] = bit q of word w0 / w1 of every
 * block (block k in lane bit 63 - k). */
static void bs_load(const uint8_t *in, size_t n, unsigned w, bs_t s0[32], bs_t s1[32]) {
    uint64_t a[64];
    for (size_t k = 0; k < 64; k++)
        a[k] = k < n ? (uint64_t)load_be32(in + 16 * k + 4 * w) << 32 | load_be32(in + 16 * k + 4 * w + 4)
                     : 0;
    bs_transpose64(a);
    for (unsigned q = 0; q < 32; q++) {
        s0[q] = a[31 - q];
        s1[q] = a[63 - q];
    }
    vk_wipe(a, sizeof a);
}

static void bs_store(uint8_t *out, size_t n, unsigned w, const bs_t s0[32], const bs_t s1[32]) {
    uint64_t a[64];
    for (unsigned q = 0; q < 32; q++) {
        a[31 - q] = s0[q];
        a[63 - q] = s1[q];
    }
    bs_transpose64(a);
    for (size_t k = 0; k < n; k++) {
        store_be32(out + 16 * k + 4 * w, (uint32_t)(a[k] >> 32));
        store_be32(out + 16 * k + 4 * w + 4, (uint32_t)a[k]);
    }
    vk_wipe(a, sizeof a);
}

/* Up to 64 blocks (7.1): X[i+4] = X[i] ^ L(tau(X[i+1] ^ X[i+2] ^ X[i+3] ^ rk[i])) on slices;
 * the rotations of L are slice renumbering, the round key is XORed as all-ones/zero masks. */
static void sm4_bitsliced(const uint32_t *rk, const uint8_t *in, uint8_t *out, size_t n) {
    bs_t x[4][32], t[32];
    bs_load(in, n, 0, x[0], x[1]);
    bs_load(in, n, 2, x[2], x[3]);
    for (unsigned r = 0; r < 32; r++) {
        bs_t *x0 = x[r & 3], *x1 = x[(r + 1) & 3], *x2 = x[(r + 2) & 3], *x3 = x[(r + 3) & 3];
        for (unsigned q = 0; q < 32; q++)
            t[q] = x1[q] ^ x2[q] ^ x3[q] ^ ((bs_t)0 - (bs_t)((rk[r] >> q) & 1));
        for (unsigned m = 0; m < 4; m++) bs_sbox(t + 8 * m);
        for (unsigned q = 0; q < 32; q++) /* L (6.2 (b)): rotation left by s = bit q - s */
            x0[q] ^= t[q] ^ t[(q - 2) & 31] ^ t[(q - 10) & 31] ^ t[(q - 18) & 31] ^ t[(q - 24) & 31];
    }
    /* after 32 rounds x[0..3] hold X32..X35; R reverses them (7.1) */
    bs_store(out, n, 0, x[3], x[2]);
    bs_store(out, n, 2, x[1], x[0]);
    vk_wipe(x, sizeof x);
    vk_wipe(t, sizeof t);
}

#define BS_MIN 3 /* from this many blocks one bitsliced pass beats the bytewise path */

/* Portable constant-time SM4 over nblocks blocks with round keys rk (uint32[32]): 64-block
 * bitsliced passes (up to 64 blocks each), calls of 1 or 2 blocks and the last 1 or 2 blocks two
 * at a time bytewise. */
void vk_sm4_blocks_portable(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks) {
    while (nblocks >= BS_MIN) {
        size_t n = nblocks < 64 ? nblocks : 64;
        sm4_bitsliced(rk, in, out, n);
        in += 16 * n;
        out += 16 * n;
        nblocks -= n;
    }
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
#if !defined(__aarch64__)
static int avx512_bw_vl(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}
#endif

/* The fastest constant-time SM4 routine the usable CPU features allow (see docs/native.md). */
vk_blocks_fn *vk_sm4_select(const char **name, vk_sm4_tau_fn **tau) {
    uint32_t f = vk_cpu_usable();
#if defined(__aarch64__)
    /* ARMv8.2 SM4 instructions; else NEON with the S-box through AESE (sm4_arm.c). */
    if (f & VK_CPU_ARM_SM4) {
        *tau = vk_sm4_tau_portable; /* unused: vk_cipher_new expands the key with SM4EKEY */
        *name = "sm4e";
        return vk_sm4_blocks_sm4e;
    }
    if ((f & (VK_CPU_ARM_AES | VK_CPU_ARM_NEON)) == (VK_CPU_ARM_AES | VK_CPU_ARM_NEON)) {
        *tau = vk_sm4_tau_neon_aes;
        *name = "neon-aes";
        return vk_sm4_blocks_neon_aes;
    }
    *tau = vk_sm4_tau_portable;
    *name = "portable-ct";
    return vk_sm4_blocks_portable;
#else
    const uint32_t ni = VK_CPU_AESNI | VK_CPU_SSSE3, gfni = VK_CPU_GFNI | VK_CPU_AVX2 | ni;
    if ((f & gfni) == gfni) {
        *tau = vk_sm4_tau_gfni;
        if ((f & VK_CPU_AVX512) && avx512_bw_vl()) {
            *name = "gfni-avx512";
            return vk_sm4_blocks_gfni_avx512;
        }
        *name = "gfni-avx2";
        return vk_sm4_blocks_gfni;
    }
    if ((f & ni) == ni) {
        *tau = vk_sm4_tau_aesni;
        if ((f & (VK_CPU_VAES | VK_CPU_AVX2)) == (VK_CPU_VAES | VK_CPU_AVX2)) {
            *name = "vaes-avx2";
            return vk_sm4_blocks_vaes;
        }
        if (f & VK_CPU_AVX2) {
            *name = "aesni-avx2";
            return vk_sm4_blocks_avx2;
        }
        *name = "aesni";
        return vk_sm4_blocks_aesni;
    }
    *tau = vk_sm4_tau_portable;
    *name = "portable-ct";
    return vk_sm4_blocks_portable;
#endif
}

const char *vk_sm4_impl(void) {
    const char *name;
    vk_sm4_tau_fn *tau;
    (void)vk_sm4_select(&name, &tau);
    return name;
}
