/* SM3 hash (GB/T 32905-2016): portable compression and a multi-buffer engine hashing 8 (AVX2) or
 * 16 (AVX-512F) messages at a time, one per SIMD lane; on aarch64 the SM3 instructions
 * (sm3_arm.c) one message at a time, or 4 messages per NEON register.
 *
 * Constant time: the compression function is straight-line 32-bit arithmetic (no table indexed by
 * data; SM3_TJ is indexed by the public round number only). Branches and memory addresses depend
 * only on message lengths, which are public. */
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VK_SM3_HAVE_AVX2 1
#define VK_SM3_HAVE_LANES 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define VK_SM3_HAVE_NEON 1
#define VK_SM3_HAVE_LANES 1
#endif

/* Internal interface shared with hmac_sm3.c (not exported). */
extern const uint32_t vk_sm3_iv[8];
void vk_sm3_compress(uint32_t v[8], const uint8_t *block);
void vk_sm3_many_from(const uint32_t init[8], uint64_t prefix_len, const uint8_t *data,
                      const uint64_t *lens, uint64_t fixed_len, size_t count, uint8_t *out);
void vk_sm3_hmac_many(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *data,
                      const uint64_t *lens, size_t count, uint8_t *out);
int vk_sm3_hmac_rows(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *data,
                     const uint8_t *end, size_t stride, size_t len, size_t count, uint8_t *out,
                     size_t out_len, uint8_t last_mask);

/* GB/T 32905-2016 4.1: initial value IV. */
const uint32_t vk_sm3_iv[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                               0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};

/* GB/T 32905-2016 4.2 and 5.3.3: T_j <<< (j mod 32), by public round number j. */
static const uint32_t SM3_TJ[64] = {
    0x79cc4519, 0xf3988a32, 0xe7311465, 0xce6228cb, 0x9cc45197, 0x3988a32f,
    0x7311465e, 0xe6228cbc, 0xcc451979, 0x988a32f3, 0x311465e7, 0x6228cbce,
    0xc451979c, 0x88a32f39, 0x11465e73, 0x228cbce6, 0x9d8a7a87, 0x3b14f50f,
    0x7629ea1e, 0xec53d43c, 0xd8a7a879, 0xb14f50f3, 0x629ea1e7, 0xc53d43ce,
    0x8a7a879d, 0x14f50f3b, 0x29ea1e76, 0x53d43cec, 0xa7a879d8, 0x4f50f3b1,
    0x9ea1e762, 0x3d43cec5, 0x7a879d8a, 0xf50f3b14, 0xea1e7629, 0xd43cec53,
    0xa879d8a7, 0x50f3b14f, 0xa1e7629e, 0x43cec53d, 0x879d8a7a, 0x0f3b14f5,
    0x1e7629ea, 0x3cec53d4, 0x79d8a7a8, 0xf3b14f50, 0xe7629ea1, 0xcec53d43,
    0x9d8a7a87, 0x3b14f50f, 0x7629ea1e, 0xec53d43c, 0xd8a7a879, 0xb14f50f3,
    0x629ea1e7, 0xc53d43ce, 0x8a7a879d, 0x14f50f3b, 0x29ea1e76, 0x53d43cec,
    0xa7a879d8, 0x4f50f3b1, 0x9ea1e762, 0x3d43cec5,
};

static inline uint32_t rotl32(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* GB/T 32905-2016 4.4: permutations P0 and P1. */
static inline uint32_t p0(uint32_t x) { return x ^ rotl32(x, 9) ^ rotl32(x, 17); }
static inline uint32_t p1(uint32_t x) { return x ^ rotl32(x, 15) ^ rotl32(x, 23); }

/* GB/T 32905-2016 5.3.2 (message expansion) and 5.3.3 (compression function CF):
 * v = CF(v, block) for one 64-byte block. */
void vk_sm3_compress(uint32_t v[8], const uint8_t *block) {
    uint32_t w[68];
    for (int j = 0; j < 16; j++) w[j] = load_be32(block + 4 * j);
#pragma GCC unroll 52
    for (int j = 16; j < 68; j++)
        w[j] = p1(w[j - 16] ^ w[j - 9] ^ rotl32(w[j - 3], 15)) ^ rotl32(w[j - 13], 7) ^ w[j - 6];
    uint32_t a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
#define SM3_ROUND(FF, GG)                                                                        \
    do {                                                                                         \
        uint32_t a12 = rotl32(a, 12);                                                            \
        uint32_t ss1 = rotl32(a12 + e + SM3_TJ[j], 7);                                           \
        uint32_t ss2 = ss1 ^ a12;                                                                \
        uint32_t tt1 = (FF) + d + ss2 + (w[j] ^ w[j + 4]);                                       \
        uint32_t tt2 = (GG) + h + ss1 + w[j];                                                    \
        d = c;                                                                                   \
        c = rotl32(b, 9);                                                                        \
        b = a;                                                                                   \
        a = tt1;                                                                                 \
        h = g;                                                                                   \
        g = rotl32(f, 19);                                                                       \
        f = e;                                                                                   \
        e = p0(tt2);                                                                             \
    } while (0)
    /* FF_j and GG_j (4.3): XOR for j < 16; majority and choice after. */
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) SM3_ROUND(a ^ b ^ c, e ^ f ^ g);
#pragma GCC unroll 48
    for (int j = 16; j < 64; j++) SM3_ROUND((a & b) | (a & c) | (b & c), (e & f) | (~e & g));
#undef SM3_ROUND
    v[0] ^= a; v[1] ^= b; v[2] ^= c; v[3] ^= d;
    v[4] ^= e; v[5] ^= f; v[6] ^= g; v[7] ^= h;
    vk_wipe(w, sizeof w);
}

/* GB/T 32905-2016 5.2 (padding): the last rest_len (< 64) bytes of a message, 0x80, zeros and the
 * 64-bit big-endian bit length of all `total` bytes hashed. Writes 1 or 2 blocks to buf; returns
 * how many. */
static size_t sm3_pad(const uint8_t *rest, size_t rest_len, uint64_t total, uint8_t buf[128]) {
    static const uint8_t zeros[128];
    memcpy(buf, zeros, 128); /* a fixed-size copy, not the slow `rep stos` of a memset */
    memcpy(buf, rest, rest_len);
    buf[rest_len] = 0x80;
    size_t nblocks = rest_len < 56 ? 1 : 2;
    uint64_t bits = total << 3;
    store_be32(buf + 64 * nblocks - 8, (uint32_t)(bits >> 32));
    store_be32(buf + 64 * nblocks - 4, (uint32_t)bits);
    return nblocks;
}

static void sm3_store_digest(uint8_t *out, const uint32_t v[8]) {
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, v[i]);
}

/* Truncation of a digest to out_len bytes (1..32), the last one ANDed with last_mask (blind
 * indexes keep the first L bits: last_mask clears the low 8 - L % 8 bits). */
static inline void sm3_store_truncated(uint8_t *dst, const uint8_t digest[32], size_t out_len,
                                       uint8_t last_mask) {
    for (size_t b = 0; b < out_len; b++) dst[b] = digest[b];
    dst[out_len - 1] &= last_mask;
}

/* One message at a time. */
static void sm3_many_portable(const uint32_t init[8], uint64_t prefix_len, const uint8_t *data,
                              const uint64_t *lens, uint64_t fixed_len, size_t count,
                              uint8_t *out) {
    uint8_t buf[128];
#if defined(__aarch64__)
    const int ce = (vk_cpu_usable() & VK_CPU_ARM_SM3) != 0;
#endif
    for (size_t i = 0; i < count; i++) {
        uint64_t len = lens ? lens[i] : fixed_len;
        uint32_t v[8];
        memcpy(v, init, sizeof v);
        uint64_t full = len / 64;
#if defined(__aarch64__)
        if (ce) {
            size_t nb = sm3_pad(data + 64 * full, (size_t)(len % 64), prefix_len + len, buf);
            vk_sm3_blocks_ce(v, data, (size_t)full);
            vk_sm3_blocks_ce(v, buf, nb);
        } else
#endif
        {
            for (uint64_t k = 0; k < full; k++) vk_sm3_compress(v, data + 64 * k);
            size_t nb = sm3_pad(data + 64 * full, (size_t)(len % 64), prefix_len + len, buf);
            for (size_t k = 0; k < nb; k++) vk_sm3_compress(v, buf + 64 * k);
        }
        sm3_store_digest(out + 32 * i, v);
        vk_wipe(v, sizeof v);
        data += len;
    }
    vk_wipe(buf, sizeof buf);
}

#ifdef VK_SM3_HAVE_LANES
/* Multi-buffer state: st[word][lane] chaining values and w[word][lane] message words of each
 * lane's current block; up to 16 lanes (AVX-512), 8 used with AVX2, 4 with NEON. */
typedef uint32_t sm3_lanes_state[8][16];
typedef void sm3_lanes_fn(sm3_lanes_state st, const uint8_t *const blk[16]);
#endif

#ifdef VK_SM3_HAVE_AVX2

#define ROTL8(x, n) _mm256_or_si256(_mm256_slli_epi32((x), (n)), _mm256_srli_epi32((x), 32 - (n)))
#define XOR8(a, b) _mm256_xor_si256((a), (b))
#define ADD8(a, b) _mm256_add_epi32((a), (b))
/* x <<< 8 in each 32-bit element by one byte shuffle (AVX2 has no rotate; a shift pair and an OR
 * are 3 instructions): P0 and P1 (4.4) as x ^ t ^ (t <<< 8) with t = x <<< 9 (x <<< 15). */
#define ROT8_8(x, rot8) _mm256_shuffle_epi8((x), (rot8))

/* SM3_TJ broadcast to 8 lanes, for the AVX2 rounds: an addition with a memory operand, where a
 * set1 of the constant costs a move, a broadcast and (GCC hoists it) a spill per round. */
#define TJ8(x) {x, x, x, x, x, x, x, x}
_Alignas(32) static const uint32_t SM3_TJ8[64][8] = {
    TJ8(0x79cc4519), TJ8(0xf3988a32), TJ8(0xe7311465), TJ8(0xce6228cb),
    TJ8(0x9cc45197), TJ8(0x3988a32f), TJ8(0x7311465e), TJ8(0xe6228cbc),
    TJ8(0xcc451979), TJ8(0x988a32f3), TJ8(0x311465e7), TJ8(0x6228cbce),
    TJ8(0xc451979c), TJ8(0x88a32f39), TJ8(0x11465e73), TJ8(0x228cbce6),
    TJ8(0x9d8a7a87), TJ8(0x3b14f50f), TJ8(0x7629ea1e), TJ8(0xec53d43c),
    TJ8(0xd8a7a879), TJ8(0xb14f50f3), TJ8(0x629ea1e7), TJ8(0xc53d43ce),
    TJ8(0x8a7a879d), TJ8(0x14f50f3b), TJ8(0x29ea1e76), TJ8(0x53d43cec),
    TJ8(0xa7a879d8), TJ8(0x4f50f3b1), TJ8(0x9ea1e762), TJ8(0x3d43cec5),
    TJ8(0x7a879d8a), TJ8(0xf50f3b14), TJ8(0xea1e7629), TJ8(0xd43cec53),
    TJ8(0xa879d8a7), TJ8(0x50f3b14f), TJ8(0xa1e7629e), TJ8(0x43cec53d),
    TJ8(0x879d8a7a), TJ8(0x0f3b14f5), TJ8(0x1e7629ea), TJ8(0x3cec53d4),
    TJ8(0x79d8a7a8), TJ8(0xf3b14f50), TJ8(0xe7629ea1), TJ8(0xcec53d43),
    TJ8(0x9d8a7a87), TJ8(0x3b14f50f), TJ8(0x7629ea1e), TJ8(0xec53d43c),
    TJ8(0xd8a7a879), TJ8(0xb14f50f3), TJ8(0x629ea1e7), TJ8(0xc53d43ce),
    TJ8(0x8a7a879d), TJ8(0x14f50f3b), TJ8(0x29ea1e76), TJ8(0x53d43cec),
    TJ8(0xa7a879d8), TJ8(0x4f50f3b1), TJ8(0x9ea1e762), TJ8(0x3d43cec5),
};
#undef TJ8

/* 5.3.2: W_j = P1(W_{j-16} ^ W_{j-9} ^ (W_{j-3} <<< 15)) ^ (W_{j-13} <<< 7) ^ W_{j-6}, for
 * j = the index of p[0]. */
#define SM3_EXPAND8(p)                                                                           \
    do {                                                                                         \
        __m256i x_ = XOR8(XOR8((p)[-16], (p)[-9]), ROTL8((p)[-3], 15));                          \
        __m256i t_ = ROTL8(x_, 15);                                                              \
        x_ = XOR8(XOR8(x_, t_), ROT8_8(t_, rot8)); /* P1: x ^ (x <<< 15) ^ (x <<< 23) */        \
        (p)[0] = XOR8(XOR8(x_, ROTL8((p)[-13], 7)), (p)[-6]);                                    \
    } while (0)
/* FF_j and GG_j (4.3): XOR for j < 16, majority and choice after. */
#define SM3_FF0_8(x, y, z) XOR8(XOR8(x, y), z)
#define SM3_GG0_8(x, y, z) XOR8(XOR8(x, y), z)
#define SM3_FF1_8(x, y, z)                                                                       \
    _mm256_or_si256(_mm256_and_si256(x, _mm256_or_si256(y, z)), _mm256_and_si256(y, z))
#define SM3_GG1_8(x, y, z) _mm256_or_si256(_mm256_and_si256(x, y), _mm256_andnot_si256(x, z))
/* Round j (5.3.3) with the registers renamed instead of moved: on entry A..H hold the state
 * words A..H; on exit D holds the new A (TT1), B the new C (B <<< 9), H the new E (P0(TT2)),
 * F the new G (F <<< 19), and the other registers their old values, now one place further: the
 * next round is SM3_R8(D, A, B, C, H, E, F, G, ...). w points to W_j, tj to T_j <<< j; with
 * `expand`, W_{j+8} is computed here, 8 rounds before its first use, so each round's dependency
 * chain (A <<< 12 -> SS1 -> SS2 -> TT1; SS1 -> TT2 -> P0) has independent work next to it. The
 * sums are ordered so that one operation separates the chain's operands (SS1 = E + (A <<< 12 +
 * T_j), TT1 = SS2 + (FF + D + W'_j), TT2 = SS1 + (GG + H + W_j), P0 = (x ^ t) ^ (t <<< 8) with
 * t = x <<< 9); SM3_KEEP stops GCC's reassociation from reordering them. */
#define SM3_KEEP(x) __asm__("" : "+x"(x))
#define SM3_R8(A, B, C, D, E, F, G, H, FF, GG, w, tj, expand)                                   \
    do {                                                                                         \
        if (expand) SM3_EXPAND8((w) + 8);                                                        \
        __m256i a12_ = ROTL8(A, 12);                                                             \
        __m256i k_ = ADD8(a12_, _mm256_load_si256(tj));                                          \
        SM3_KEEP(k_);                                                                            \
        __m256i ss1_ = ROTL8(ADD8(E, k_), 7);                                                    \
        __m256i ss2_ = XOR8(ss1_, a12_);                                                         \
        __m256i x_ = ADD8(ADD8(FF(A, B, C), D), XOR8((w)[0], (w)[4]));                           \
        __m256i y_ = ADD8(ADD8(GG(E, F, G), H), (w)[0]);                                         \
        SM3_KEEP(x_);                                                                            \
        SM3_KEEP(y_);                                                                            \
        __m256i tt1_ = ADD8(ss2_, x_);                                                           \
        __m256i tt2_ = ADD8(ss1_, y_);                                                           \
        B = ROTL8(B, 9);                                                                         \
        D = tt1_;                                                                                \
        F = ROTL8(F, 19);                                                                        \
        __m256i t9_ = ROTL8(tt2_, 9);                                                            \
        __m256i u_ = XOR8(tt2_, t9_);                                                            \
        SM3_KEEP(u_);                                                                            \
        H = XOR8(u_, ROT8_8(t9_, rot8)); /* P0: x ^ (x <<< 9) ^ (x <<< 17) */                   \
    } while (0)
/* Four rounds from round j (w = W_j, tj = T_j): the names come back to where they started. */
#define SM3_R8X4(FF, GG, w, tj, expand)                                                          \
    do {                                                                                         \
        SM3_R8(a, b, c, d, e, f, g, h, FF, GG, (w), (tj), expand);                               \
        SM3_R8(d, a, b, c, h, e, f, g, FF, GG, (w) + 1, (tj) + 1, expand);                       \
        SM3_R8(c, d, a, b, g, h, e, f, FF, GG, (w) + 2, (tj) + 2, expand);                       \
        SM3_R8(b, c, d, a, f, g, h, e, FF, GG, (w) + 3, (tj) + 3, expand);                       \
    } while (0)

/* CF (5.3.2, 5.3.3) on 8 lanes held in registers: v = CF(v, block), lane k in element k of each
 * vector; w[0..15] hold the block's words on entry, w[16..67] get the message expansion. The
 * rounds are a loop of four (about 200 instructions: the whole compression stays in the
 * micro-op cache, where a fully unrolled one, about 3,300 instructions, runs from the decoders). */
__attribute__((target("avx2"))) static void sm3_cf_x8(__m256i v[8], __m256i w[68]) {
    const __m256i rot8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
                                          3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
    const __m256i *tj = (const __m256i *)SM3_TJ8;
    __m256i a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    int j = 0;
#pragma GCC unroll 1
    for (; j < 8; j += 4) SM3_R8X4(SM3_FF0_8, SM3_GG0_8, w + j, tj + j, 0);
#pragma GCC unroll 1
    for (; j < 16; j += 4) SM3_R8X4(SM3_FF0_8, SM3_GG0_8, w + j, tj + j, 1);
#pragma GCC unroll 1
    for (; j < 60; j += 4) SM3_R8X4(SM3_FF1_8, SM3_GG1_8, w + j, tj + j, 1);
    SM3_R8X4(SM3_FF1_8, SM3_GG1_8, w + j, tj + j, 0);
    v[0] = XOR8(v[0], a); v[1] = XOR8(v[1], b); v[2] = XOR8(v[2], c); v[3] = XOR8(v[3], d);
    v[4] = XOR8(v[4], e); v[5] = XOR8(v[5], f); v[6] = XOR8(v[6], g); v[7] = XOR8(v[7], h);
}

/* CF on lanes 0..7, lane k hashing the 64-byte block blk[k]. */
__attribute__((target("avx2"))) static void sm3_compress_x8(sm3_lanes_state st,
                                                            const uint8_t *const blk[16]) {
    __m256i w[68], v[8];
    uint32_t w_in[16][8];
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 16; j++) w_in[j][k] = load_be32(blk[k] + 4 * j);
    for (int j = 0; j < 16; j++) w[j] = _mm256_loadu_si256((const __m256i *)w_in[j]);
    vk_wipe(w_in, sizeof w_in);
    for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_si256((const __m256i *)st[i]);
    sm3_cf_x8(v, w);
    for (int i = 0; i < 8; i++) _mm256_storeu_si256((__m256i *)st[i], v[i]);
    vk_wipe(w, sizeof w);
}

/* r[j] = element j of every r[k] (an 8 x 8 transpose of 32-bit elements; its own inverse). */
__attribute__((target("avx2"))) static inline void sm3_transpose8(__m256i r[8]) {
    __m256i t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_epi32(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_epi32(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_unpacklo_epi64(t[k], t[k + 2]);
        u[k + 1] = _mm256_unpackhi_epi64(t[k], t[k + 2]);
        u[k + 2] = _mm256_unpacklo_epi64(t[k + 1], t[k + 3]);
        u[k + 3] = _mm256_unpackhi_epi64(t[k + 1], t[k + 3]);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x20);
        r[j + 4] = _mm256_permute2x128_si256(u[j], u[j + 4], 0x31);
    }
}

/* Per-length constants of the one-block rows (sm3_hmac_rows_x8): the bytes of a row that are
 * message (keep), its padding (5.2: 0x80 after the message, the bit length of 64 + len bytes at
 * the end of the block), each as two 32-byte halves, and how many halves hold message bytes. */
struct sm3_rows_shape {
    __m256i keep[2], pad[2];
    size_t len;
    uint32_t bits;
    int halves;
    _Alignas(32) uint8_t pad_bytes[64];
};

/* The inner block of 8 rows (row[k] in lane k) as words w[0..15] (5.3.2 W_0..W_15): each
 * 32-byte half that holds message bytes is one unaligned load per row, the bytes past the row
 * masked off and the padding ORed in, a byte swap and an 8 x 8 transpose; a half with no message
 * byte (len <= 32: the second) is the same constant words in every lane. */
__attribute__((target("avx2"))) static inline void sm3_rows_block(__m256i w[68],
                                                                  const uint8_t *const row[8],
                                                                  const struct sm3_rows_shape *sh,
                                                                  __m256i bswap) {
    __m256i r[8];
    for (int half = 0; half < 2; half++) {
        if (half == sh->halves) { /* no message byte: the padding's words, in every lane */
            if (sh->len < 32) { /* zeros and the bit length */
                for (int j = 8; j < 15; j++) w[j] = _mm256_setzero_si256();
                w[15] = _mm256_set1_epi32((int)sh->bits);
            } else {
                for (int j = 0; j < 8; j++)
                    w[8 + j] = _mm256_set1_epi32((int)load_be32(sh->pad_bytes + 32 + 4 * j));
            }
            break;
        }
        for (int k = 0; k < 8; k++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(row[k] + 32 * half));
            x = _mm256_or_si256(_mm256_and_si256(x, sh->keep[half]), sh->pad[half]);
            r[k] = _mm256_shuffle_epi8(x, bswap);
        }
        sm3_transpose8(r);
        for (int j = 0; j < 8; j++) w[8 * half + j] = r[j];
    }
}

/* The outer block (5.2) of 8 inner digests v: H(inner) || 0x80 || zeros || the bit length of
 * 64 + 32 bytes; the digests' words become W_0..W_7 without leaving the registers. */
__attribute__((target("avx2"))) static inline void sm3_outer_block(__m256i w[68],
                                                                   const __m256i v[8]) {
    for (int j = 0; j < 8; j++) w[j] = v[j];
    w[8] = _mm256_set1_epi32((int)0x80000000u);
    for (int j = 9; j < 15; j++) w[j] = _mm256_setzero_si256();
    w[15] = _mm256_set1_epi32((64 + 32) * 8);
}

/* out_len bytes of each of the 8 digests v (lane k to dst + k * out_len), the last ANDed with
 * last_mask: a transpose and a byte swap, then whole digests or truncated copies. */
__attribute__((target("avx2"))) static inline void sm3_rows_store(uint8_t *dst, __m256i v[8],
                                                                  size_t out_len,
                                                                  uint8_t last_mask,
                                                                  __m256i bswap,
                                                                  uint8_t digests[8][32]) {
    sm3_transpose8(v);
    if (out_len == 32 && last_mask == 0xff) {
        for (int k = 0; k < 8; k++)
            _mm256_storeu_si256((__m256i *)(dst + 32 * k), _mm256_shuffle_epi8(v[k], bswap));
        return;
    }
    for (int k = 0; k < 8; k++) {
        _mm256_store_si256((__m256i *)digests[k], _mm256_shuffle_epi8(v[k], bswap));
        sm3_store_truncated(dst + out_len * k, digests[k], out_len, last_mask);
    }
}

/* HMAC-SM3 of `groups` x 8 rows of one length len <= SM3_ONE_BLOCK_MAX, row i at data + i *
 * stride (stride >= len; rows may be separated by other bytes), from the keyed chaining values;
 * each message is then exactly one inner block (the message, 0x80, zeros, the bit length of 64 +
 * len bytes; 5.2) and one outer block (the inner digest, 0x80, zeros, the bit length of 64 + 32
 * bytes), so the 8 lanes run in lockstep with no bookkeeping. The blocks are loaded straight
 * from the rows (sm3_rows_block); a load that would pass `end` (the last rows) goes through a
 * zeroed copy of the row instead. Output: out_len bytes per row (sm3_rows_store). */
#define SM3_ONE_BLOCK_MAX 55
__attribute__((target("avx2"))) static void sm3_hmac_rows_x8(const uint32_t inner[8],
                                                            const uint32_t outer[8],
                                                            const uint8_t *data,
                                                            const uint8_t *end, size_t stride,
                                                            size_t len, size_t groups,
                                                            uint8_t *out, size_t out_len,
                                                            uint8_t last_mask) {
    _Alignas(32) uint8_t keep[64], copy[8][64], digests[8][32];
    _Alignas(32) struct sm3_rows_shape sh;
    __m256i w[68], v[8];
    const __m256i bswap = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
                                           3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    const uint64_t bits = (64 + (uint64_t)len) * 8;
    if (len > SM3_ONE_BLOCK_MAX || out_len < 1 || out_len > 32) return; /* callers check */
    sh.len = len;
    sh.bits = (uint32_t)bits;
    sh.halves = len <= 32 ? 1 : 2; /* halves holding message bytes */
    memset(sh.pad_bytes, 0, sizeof sh.pad_bytes);
    memset(copy, 0, sizeof copy);
    sh.pad_bytes[len] = 0x80;
    store_be32(sh.pad_bytes + 56, (uint32_t)(bits >> 32));
    store_be32(sh.pad_bytes + 60, (uint32_t)bits);
    for (size_t b = 0; b < 64; b++) keep[b] = (uint8_t)(b < len ? 0xff : 0);
    for (int half = 0; half < 2; half++) {
        sh.keep[half] = _mm256_load_si256((const __m256i *)(keep + 32 * half));
        sh.pad[half] = _mm256_load_si256((const __m256i *)(sh.pad_bytes + 32 * half));
    }
    for (size_t grp = 0; grp < groups; grp++) {
        const uint8_t *row[8];
        for (int k = 0; k < 8; k++) row[k] = data + (grp * 8 + k) * stride;
        if ((size_t)(end - row[7]) < (size_t)(32 * sh.halves)) { /* a load would pass the end */
            for (int k = 0; k < 8; k++) {
                memcpy(copy[k], row[k], len);
                row[k] = copy[k];
            }
        }
        sm3_rows_block(w, row, &sh, bswap);
        for (int i = 0; i < 8; i++) v[i] = _mm256_set1_epi32((int)inner[i]);
        sm3_cf_x8(v, w);
        sm3_outer_block(w, v);
        for (int i = 0; i < 8; i++) v[i] = _mm256_set1_epi32((int)outer[i]);
        sm3_cf_x8(v, w);
        sm3_rows_store(out + grp * 8 * out_len, v, out_len, last_mask, bswap, digests);
    }
    vk_wipe(copy, sizeof copy);
    vk_wipe(digests, sizeof digests);
    vk_wipe(w, sizeof w);
    vk_wipe(v, sizeof v);
}

/* w[j] = big-endian word j of each lane's block (lane k in element k): 16 row loads, a byte
 * swap by rotates (AVX-512F has no byte shuffle) and a 16 x 16 transpose of 32-bit elements. */
__attribute__((target("avx512f"))) static inline void sm3_load_x16(__m512i w[16],
                                                                  const uint8_t *const blk[16]) {
    const __m512i lo = _mm512_set1_epi32(0x00ff00ff);
    __m512i r[16], t[16];
    for (int k = 0; k < 16; k++) {
        __m512i x = _mm512_loadu_si512((const void *)blk[k]);
        /* bswap32(x) = (x & 0x00ff00ff) <<< 24 | (x & 0xff00ff00) <<< 8 */
        r[k] = _mm512_or_si512(_mm512_rol_epi32(_mm512_and_si512(x, lo), 24),
                               _mm512_rol_epi32(_mm512_andnot_si512(lo, x), 8));
    }
    for (int k = 0; k < 16; k += 2) {
        t[k] = _mm512_unpacklo_epi32(r[k], r[k + 1]);
        t[k + 1] = _mm512_unpackhi_epi32(r[k], r[k + 1]);
    }
    for (int k = 0; k < 16; k += 4) {
        r[k] = _mm512_unpacklo_epi64(t[k], t[k + 2]);
        r[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);
        r[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]);
        r[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]);
    }
    for (int k = 0; k < 4; k++) {
        t[k] = _mm512_shuffle_i32x4(r[k], r[k + 4], 0x88);
        t[k + 4] = _mm512_shuffle_i32x4(r[k], r[k + 4], 0xdd);
        t[k + 8] = _mm512_shuffle_i32x4(r[k + 8], r[k + 12], 0x88);
        t[k + 12] = _mm512_shuffle_i32x4(r[k + 8], r[k + 12], 0xdd);
    }
    for (int k = 0; k < 8; k++) {
        w[k] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0x88);
        w[k + 8] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0xdd);
    }
}

/* The same on 16 lanes with AVX-512F: native rotates (vprold) and three-input logic
 * (vpternlogd: 0x96 = x ^ y ^ z, 0xe8 = majority, 0xca = choice). */
#define ROTL16(x, n) _mm512_rol_epi32((x), (n))
#define XOR3_16(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0x96)
#define ADD16(a, b) _mm512_add_epi32((a), (b))

__attribute__((target("avx512f"))) static void sm3_compress_x16(sm3_lanes_state st,
                                                               const uint8_t *const blk[16]) {
    __m512i w[68];
    sm3_load_x16(w, blk);
#pragma GCC unroll 52
    for (int j = 16; j < 68; j++) {
        __m512i x = XOR3_16(w[j - 16], w[j - 9], ROTL16(w[j - 3], 15));
        x = XOR3_16(x, ROTL16(x, 15), ROTL16(x, 23)); /* P1 */
        w[j] = XOR3_16(x, ROTL16(w[j - 13], 7), w[j - 6]);
    }
    __m512i v[8], a, b, c, d, e, f, g, h;
    for (int i = 0; i < 8; i++) v[i] = _mm512_loadu_si512((const void *)st[i]);
    a = v[0]; b = v[1]; c = v[2]; d = v[3]; e = v[4]; f = v[5]; g = v[6]; h = v[7];
#define SM3_ROUND16(FF, GG)                                                                      \
    do {                                                                                         \
        __m512i a12 = ROTL16(a, 12);                                                             \
        __m512i ss1 = ROTL16(ADD16(ADD16(a12, e), _mm512_set1_epi32((int)SM3_TJ[j])), 7);        \
        __m512i ss2 = _mm512_xor_si512(ss1, a12);                                                \
        __m512i tt1 = ADD16(ADD16((FF), d), ADD16(ss2, _mm512_xor_si512(w[j], w[j + 4])));       \
        __m512i tt2 = ADD16(ADD16((GG), h), ADD16(ss1, w[j]));                                   \
        d = c;                                                                                   \
        c = ROTL16(b, 9);                                                                        \
        b = a;                                                                                   \
        a = tt1;                                                                                 \
        h = g;                                                                                   \
        g = ROTL16(f, 19);                                                                       \
        f = e;                                                                                   \
        e = XOR3_16(tt2, ROTL16(tt2, 9), ROTL16(tt2, 17)); /* P0 */                              \
    } while (0)
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) SM3_ROUND16(XOR3_16(a, b, c), XOR3_16(e, f, g));
#pragma GCC unroll 48
    for (int j = 16; j < 64; j++)
        SM3_ROUND16(_mm512_ternarylogic_epi32(a, b, c, 0xe8),
                    _mm512_ternarylogic_epi32(e, f, g, 0xca));
#undef SM3_ROUND16
    v[0] = _mm512_xor_si512(v[0], a); v[1] = _mm512_xor_si512(v[1], b);
    v[2] = _mm512_xor_si512(v[2], c); v[3] = _mm512_xor_si512(v[3], d);
    v[4] = _mm512_xor_si512(v[4], e); v[5] = _mm512_xor_si512(v[5], f);
    v[6] = _mm512_xor_si512(v[6], g); v[7] = _mm512_xor_si512(v[7], h);
    for (int i = 0; i < 8; i++) _mm512_storeu_si512((void *)st[i], v[i]);
    vk_wipe(w, sizeof w);
}

#endif /* VK_SM3_HAVE_AVX2 */

#ifdef VK_SM3_HAVE_NEON
#define ROTL4(x, n) vsriq_n_u32(vshlq_n_u32((x), (n)), (x), 32 - (n))
#define XOR4(a, b) veorq_u32((a), (b))
#define ADD4(a, b) vaddq_u32((a), (b))

/* CF (5.3.2, 5.3.3) on lanes 0..3 with NEON (baseline on aarch64), lane k hashing blk[k]: the
 * AVX2 routine above on 128-bit registers (choice by BSL). */
static void sm3_compress_x4(sm3_lanes_state st, const uint8_t *const blk[16]) {
    uint32x4_t w[68];
    uint32_t w_in[16][4];
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 16; j++) w_in[j][k] = load_be32(blk[k] + 4 * j);
    for (int j = 0; j < 16; j++) w[j] = vld1q_u32(w_in[j]);
    vk_wipe(w_in, sizeof w_in);
#pragma GCC unroll 52
    for (int j = 16; j < 68; j++) {
        uint32x4_t x = XOR4(XOR4(w[j - 16], w[j - 9]), ROTL4(w[j - 3], 15));
        x = XOR4(XOR4(x, ROTL4(x, 15)), ROTL4(x, 23)); /* P1 */
        w[j] = XOR4(XOR4(x, ROTL4(w[j - 13], 7)), w[j - 6]);
    }
    uint32x4_t v[8], a, b, c, d, e, f, g, h;
    for (int i = 0; i < 8; i++) v[i] = vld1q_u32(st[i]);
    a = v[0]; b = v[1]; c = v[2]; d = v[3]; e = v[4]; f = v[5]; g = v[6]; h = v[7];
#define SM3_ROUND4(FF, GG)                                                                       \
    do {                                                                                         \
        uint32x4_t a12 = ROTL4(a, 12);                                                           \
        uint32x4_t ss1 = ROTL4(ADD4(ADD4(a12, e), vdupq_n_u32(SM3_TJ[j])), 7);                   \
        uint32x4_t ss2 = XOR4(ss1, a12);                                                         \
        uint32x4_t tt1 = ADD4(ADD4((FF), d), ADD4(ss2, XOR4(w[j], w[j + 4])));                   \
        uint32x4_t tt2 = ADD4(ADD4((GG), h), ADD4(ss1, w[j]));                                   \
        d = c;                                                                                   \
        c = ROTL4(b, 9);                                                                         \
        b = a;                                                                                   \
        a = tt1;                                                                                 \
        h = g;                                                                                   \
        g = ROTL4(f, 19);                                                                        \
        f = e;                                                                                   \
        e = XOR4(XOR4(tt2, ROTL4(tt2, 9)), ROTL4(tt2, 17)); /* P0 */                             \
    } while (0)
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) SM3_ROUND4(XOR4(XOR4(a, b), c), XOR4(XOR4(e, f), g));
#pragma GCC unroll 48
    for (int j = 16; j < 64; j++)
        SM3_ROUND4(vorrq_u32(vandq_u32(a, vorrq_u32(b, c)), vandq_u32(b, c)), vbslq_u32(e, f, g));
#undef SM3_ROUND4
    v[0] = XOR4(v[0], a); v[1] = XOR4(v[1], b); v[2] = XOR4(v[2], c); v[3] = XOR4(v[3], d);
    v[4] = XOR4(v[4], e); v[5] = XOR4(v[5], f); v[6] = XOR4(v[6], g); v[7] = XOR4(v[7], h);
    for (int i = 0; i < 8; i++) vst1q_u32(st[i], v[i]);
    vk_wipe(w, sizeof w);
}
#endif /* VK_SM3_HAVE_NEON */

#ifdef VK_SM3_HAVE_LANES
/* A lane of the multi-buffer engine: the message it hashes now and where its next block is. */
struct sm3_lane {
    const uint8_t *next; /* next full block in the caller's buffer */
    uint64_t full_left;  /* full blocks left at `next` */
    size_t tail_blocks;  /* padded tail blocks in `tail` */
    size_t tail_done;    /* tail blocks already hashed */
    size_t msg;          /* index of the message */
    int live;
    int inner; /* HMAC: 1 while the lane runs the inner hash, 0 on the outer one */
    uint8_t tail[128];
};

/* Multi-buffer: `nlanes` lanes, each refilled with the next message as soon as its message is
 * done, so lanes stay busy whatever the mix of lengths. Messages are handed out in order; a
 * message's tail (< 64 bytes) is copied into its lane when it is handed out, so out may equal
 * data when every message is shorter than 64 bytes and 32 bytes apart.
 *
 * HMAC (outer != NULL; init and outer are the chaining values after K0 ^ ipad and K0 ^ opad, so
 * prefix_len is 64): when a lane finishes a message's inner hash it goes on with that message's
 * outer hash at once, in the same lane: the chaining value becomes `outer` and the lane's tail the
 * one padded block of the 32-byte inner digest (64 + 32 bytes hashed). The inner and outer
 * compressions of different messages thus share every compress call, and the inner digests never
 * leave the lanes. */
static void sm3_many_lanes(sm3_lanes_fn *compress, int nlanes, const uint32_t init[8],
                           const uint32_t *outer, uint64_t prefix_len, const uint8_t *data,
                           const uint64_t *lens, uint64_t fixed_len, size_t count, uint8_t *out) {
    struct sm3_lane lane[16];
    sm3_lanes_state st;
    const uint8_t *blk[16];
    uint8_t digest[32];
    static const uint8_t idle_block[64];
    size_t handed = 0, live = 0;
    const uint8_t *cursor = data;
    for (int k = 0; k < nlanes; k++) lane[k].live = 0;
    for (;;) {
        /* Hand the next messages to idle lanes. */
        for (int k = 0; k < nlanes; k++) {
            if (lane[k].live) continue;
            for (int i = 0; i < 8; i++) st[i][k] = init[i];
            if (handed == count) continue;
            uint64_t len = lens ? lens[handed] : fixed_len;
            uint64_t full = len / 64;
            lane[k].next = cursor;
            lane[k].full_left = full;
            lane[k].tail_blocks =
                sm3_pad(cursor + 64 * full, (size_t)(len % 64), prefix_len + len, lane[k].tail);
            lane[k].tail_done = 0;
            lane[k].msg = handed++;
            lane[k].live = 1;
            lane[k].inner = outer != NULL;
            cursor += len;
            live++;
        }
        if (!live) break;
        for (int k = 0; k < nlanes; k++) {
            blk[k] = idle_block;
            if (lane[k].live) {
                if (lane[k].full_left) {
                    blk[k] = lane[k].next;
                    lane[k].next += 64;
                    lane[k].full_left--;
                } else {
                    blk[k] = lane[k].tail + 64 * lane[k].tail_done++;
                }
            }
        }
        compress(st, blk);
        for (int k = 0; k < nlanes; k++) {
            if (!lane[k].live || lane[k].full_left || lane[k].tail_done < lane[k].tail_blocks)
                continue;
            if (outer && lane[k].inner) { /* HMAC: the outer hash of the same message, same lane */
                for (int i = 0; i < 8; i++) {
                    store_be32(digest + 4 * i, st[i][k]);
                    st[i][k] = outer[i];
                }
                lane[k].tail_blocks = sm3_pad(digest, 32, 64 + 32, lane[k].tail);
                lane[k].tail_done = 0;
                lane[k].inner = 0;
                continue;
            }
            for (int i = 0; i < 8; i++) store_be32(out + 32 * lane[k].msg + 4 * i, st[i][k]);
            lane[k].live = 0;
            live--;
        }
    }
    vk_wipe(lane, sizeof lane);
    vk_wipe(st, sizeof st);
    vk_wipe(digest, sizeof digest);
}

#ifdef VK_SM3_HAVE_AVX2
/* Lanes to use for a batch of `count` messages: 16 (AVX-512F), 8 (AVX2) or 1 (portable). */
static int sm3_lanes(size_t count) {
    uint32_t cpu = vk_cpu_usable();
    if (count >= 8 && (cpu & VK_CPU_AVX512)) return 16;
    if (count >= 4 && (cpu & VK_CPU_AVX2)) return 8;
    return 1;
}
#else
/* aarch64: 1 with the SM3 instructions (one message at a time beats 4 NEON lanes) or without
 * NEON, else 4 lanes for 2 or more messages. */
static int sm3_lanes(size_t count) {
    uint32_t cpu = vk_cpu_usable();
    if (cpu & VK_CPU_ARM_SM3) return 1;
    if (count >= 2 && (cpu & VK_CPU_ARM_NEON)) return 4;
    return 1;
}
#endif
#else
static int sm3_lanes(size_t count) { (void)count; return 1; }
#endif

#ifdef VK_SM3_HAVE_AVX2
/* Rows of one short length go 8 at a time in lockstep (sm3_hmac_rows_x8) on AVX2 without
 * AVX-512F (with it, the 16 lanes of sm3_many_lanes are faster). */
static int sm3_rows_x8_usable(void) {
    uint32_t cpu = vk_cpu_usable();
    return (cpu & VK_CPU_AVX2) && !(cpu & VK_CPU_AVX512);
}
#endif

/* Hash `count` messages, each as if preceded by prefix_len bytes already absorbed into the
 * chaining value `init` (prefix_len = 0 with the IV for plain SM3; 64 with HMAC's keyed states).
 * Message i has length lens[i], or fixed_len when lens is NULL. */
void vk_sm3_many_from(const uint32_t init[8], uint64_t prefix_len, const uint8_t *data,
                      const uint64_t *lens, uint64_t fixed_len, size_t count, uint8_t *out) {
#ifdef VK_SM3_HAVE_AVX2
    int nlanes = sm3_lanes(count);
    if (nlanes > 1) {
        sm3_many_lanes(nlanes == 16 ? sm3_compress_x16 : sm3_compress_x8, nlanes, init, NULL,
                       prefix_len, data, lens, fixed_len, count, out);
        return;
    }
#elif defined(VK_SM3_HAVE_NEON)
    if (sm3_lanes(count) == 4) {
        sm3_many_lanes(sm3_compress_x4, 4, init, NULL, prefix_len, data, lens, fixed_len, count,
                       out);
        return;
    }
#endif
    sm3_many_portable(init, prefix_len, data, lens, fixed_len, count, out);
}

/* HMAC-SM3 of `count` messages (lens[i] bytes each, concatenated at data) from the keyed chaining
 * values inner = CF(IV, K0 ^ ipad) and outer = CF(IV, K0 ^ opad). With SIMD lanes, each lane runs
 * a message's inner hash and then its outer hash (sm3_many_lanes); else one pass of inner hashes
 * into out and one pass of outer hashes over them in place. */
void vk_sm3_hmac_many(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *data,
                      const uint64_t *lens, size_t count, uint8_t *out) {
#ifdef VK_SM3_HAVE_AVX2
    /* Short messages of one length (blind indexes: rows of one width) on AVX2 without AVX-512F:
     * 8 at a time in lockstep, one inner and one outer block each (sm3_hmac_rows_x8). */
    if (count >= 8 && sm3_rows_x8_usable() && lens[0] <= SM3_ONE_BLOCK_MAX) {
        uint64_t len = lens[0];
        size_t same = 1;
        while (same < count && lens[same] == len) same++;
        size_t done = same - same % 8;
        if (done) {
            sm3_hmac_rows_x8(inner, outer, data, data + done * len, (size_t)len, (size_t)len,
                             done / 8, out, 32, 0xff);
            data += done * len;
            lens += done;
            count -= done;
            out += 32 * done;
            if (!count) return;
        }
    }
    int nlanes = sm3_lanes(count);
    if (nlanes > 1) {
        sm3_many_lanes(nlanes == 16 ? sm3_compress_x16 : sm3_compress_x8, nlanes, inner, outer,
                       64, data, lens, 0, count, out);
        return;
    }
#elif defined(VK_SM3_HAVE_NEON)
    if (sm3_lanes(count) == 4) {
        sm3_many_lanes(sm3_compress_x4, 4, inner, outer, 64, data, lens, 0, count, out);
        return;
    }
#endif
    sm3_many_portable(inner, 64, data, lens, 0, count, out);
    sm3_many_portable(outer, 64, out, NULL, 32, count, out);
}

/* HMAC-SM3 of `count` rows of `len` bytes, row i at data + i * stride (stride >= len), from the
 * keyed chaining values; out_len (1..32) bytes of each digest to out, the last ANDed with
 * last_mask (sm3_store_truncated). `end` bounds what may be read: the caller guarantees
 * data + (count - 1) * stride + len <= end. Short rows on AVX2: 8 at a time straight from the
 * rows (sm3_hmac_rows_x8); the rest (other paths, long rows, the last count % 8) gathered
 * SM3_ROWS_CHUNK at a time and hashed by vk_sm3_hmac_many, which keeps its lanes full across the
 * inner and outer hashes. Returns 0, or -1 if the gather buffer cannot be allocated. */
#define SM3_ROWS_CHUNK 256
int vk_sm3_hmac_rows(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *data,
                     const uint8_t *end, size_t stride, size_t len, size_t count, uint8_t *out,
                     size_t out_len, uint8_t last_mask) {
    if (out_len < 1 || out_len > 32 || stride < len) return -1;
#ifdef VK_SM3_HAVE_AVX2
    if (count >= 8 && len <= SM3_ONE_BLOCK_MAX && sm3_rows_x8_usable()) {
        size_t done = count - count % 8;
        sm3_hmac_rows_x8(inner, outer, data, end, stride, len, done / 8, out, out_len, last_mask);
        data += done * stride;
        out += done * out_len;
        count -= done;
    }
#endif
    (void)end;
    if (!count) return 0;
    uint64_t lens[SM3_ROWS_CHUNK];
    uint8_t digests[SM3_ROWS_CHUNK * 32];
    size_t chunk = count < SM3_ROWS_CHUNK ? count : SM3_ROWS_CHUNK;
    uint8_t *gather = NULL;
    if (stride != len && len) { /* rows apart: gathered into one buffer per chunk */
        if (len > SIZE_MAX / chunk) return -1;
        gather = malloc(chunk * len);
        if (!gather) return -1;
    }
    for (size_t i = 0; i < chunk; i++) lens[i] = len;
    for (size_t start = 0; start < count; start += chunk) {
        size_t n = count - start < chunk ? count - start : chunk;
        const uint8_t *src = data + start * stride;
        if (gather) {
            for (size_t i = 0; i < n; i++) memcpy(gather + i * len, src + i * stride, len);
            src = gather;
        }
        vk_sm3_hmac_many(inner, outer, src, lens, n, digests);
        for (size_t i = 0; i < n; i++)
            sm3_store_truncated(out + (start + i) * out_len, digests + 32 * i, out_len, last_mask);
    }
    vk_wipe(digests, sizeof digests);
    if (gather) {
        vk_wipe(gather, chunk * len);
        free(gather);
    }
    return 0;
}

void vk_sm3_digest(const uint8_t *data, size_t len, uint8_t *out) {
    sm3_many_portable(vk_sm3_iv, 0, data, NULL, len, 1, out);
}

void vk_sm3_digest_many(const uint8_t *data, const uint64_t *lens, size_t count, uint8_t *out) {
    vk_sm3_many_from(vk_sm3_iv, 0, data, lens, 0, count, out);
}

const char *vk_sm3_impl(void) {
#if defined(__aarch64__)
    if (vk_cpu_usable() & VK_CPU_ARM_SM3) return "sm3ce";
    return sm3_lanes(16) == 4 ? "neon-4way" : "portable";
#else
    int nlanes = sm3_lanes(16);
    return nlanes == 16 ? "avx512-16way" : nlanes == 8 ? "avx2-8way" : "portable";
#endif
}
