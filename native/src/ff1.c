/* FF1 format-preserving encryption (NIST SP 800-38G 6.2) over vk_cipher (SM4 or AES).
 *
 * Halves are kept as integers through the ten rounds: NUM_radix (4.5 Algorithm 1) once on input,
 * STR^m_radix (Algorithm 3) once on output, and the round function works on the integers, since
 * NUM_radix(STR^m_radix(c)) = c.
 *
 * Fast path, when radix^v < 2^64 (v = ceil(n/2)): halves are uint64_t; then b <= 8, d <= 12 and
 * the varying part of Q ([i] || [NUM(B)]^b) lies in Q's last block, so the PRF is one block cipher
 * call per round once the CBC-MAC chaining value over P and the leading blocks of Q is known
 * (it depends only on radix, n and T: computed once per length per call). FF1_LANES values go
 * through each round together, so the cipher gets FF1_LANES independent blocks per call.
 *
 * General path: halves are little-endian arrays of 32-bit limbs of a fixed size per value;
 * FF1_BIG_LANES values go through each round together as well. y mod radix^m is the low m
 * numerals of y: short division by radix^per (the largest power of the radix below 2^32), then
 * multiply-add; STR by the same chunks.
 *
 * Constant time: no branch or memory index depends on the key or the numerals (lengths, radix and
 * tweak are public). No division instruction ever sees a secret: every division is by a public
 * divisor (radix, radix^per, radix^m) and is done by multiplying with its reciprocal computed
 * once (ff1_div, Granlund and Montgomery), so its time does not depend on the dividend either
 * (memcheck-based checks could not have seen a `div` timing leak).
 */
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#define FF1_LANES 64       /* values per group on the fast path */
#define FF1_FAST_MAX_N 128 /* radix^v < 2^64 and radix >= 2 give v <= 63, so n <= 127 */
#define FF1_ROUNDS 10      /* SP 800-38G 6.2 step 6 */

/* Division by an invariant d >= 2 by one multiplication (Granlund and Montgomery, "Division by
 * invariant integers using multiplication", PLDI 1994, figure 4.1): with l = ceil(log2 d) and
 * m = floor(2^64 (2^l - d) / d) + 1, floor(n / d) = (t + ((n - t) >> 1)) >> (l - 1) where
 * t = (m n) >> 64, for every 64-bit n. Set up once per public divisor. */
struct ff1_divider {
    uint64_t m;
    uint32_t shift;
};

static struct ff1_divider ff1_divider(uint64_t d) {
    uint32_t l = 64 - (uint32_t)__builtin_clzll(d - 1);
    unsigned __int128 two_l = (unsigned __int128)1 << l;
    struct ff1_divider v = {(uint64_t)(((two_l - d) << 64) / d) + 1, l - 1};
    return v;
}

static inline uint64_t ff1_div(uint64_t n, struct ff1_divider v) {
    uint64_t t = (uint64_t)(((unsigned __int128)v.m * n) >> 64);
    return (t + ((n - t) >> 1)) >> v.shift;
}

/* x = x / div, returning x mod div (short division of L 32-bit limbs, most significant last, by
 * div < 2^32 with its reciprocal dv). */
static uint32_t bn_divrem_small(uint32_t *x, size_t L, uint32_t div, struct ff1_divider dv) {
    uint64_t rem = 0;
    for (size_t i = L; i-- > 0;) {
        uint64_t cur = (rem << 32) | x[i];
        uint64_t q = ff1_div(cur, dv);
        x[i] = (uint32_t)q;
        rem = cur - q * div;
    }
    return (uint32_t)rem;
}

/* Powers of the radix used to split integers into chunks of `per` numerals: chunk = radix^per,
 * the largest power of the radix below 2^32; with the reciprocals of chunk and radix. */
struct ff1_chunk {
    uint32_t radix, chunk, per;
    struct ff1_divider by_chunk, by_radix;
};

static struct ff1_chunk ff1_chunk(uint32_t radix) {
    struct ff1_chunk c = {radix, radix, 1, {0, 0}, {0, 0}};
    while ((uint64_t)c.chunk * radix < ((uint64_t)1 << 32)) {
        c.chunk *= radix;
        c.per++;
    }
    c.by_chunk = ff1_divider(c.chunk);
    c.by_radix = ff1_divider(radix);
    return c;
}

/* The key's cipher and its radix, with what depends only on the radix, computed once here rather
 * than on every call (single calls are dominated by set-up, not by the ten rounds). */
struct vk_ff1 {
    vk_cipher *cipher;
    uint32_t radix;
    uint32_t fast_vmax; /* ff1_fast_vmax(radix) */
    struct ff1_chunk ch; /* ff1_chunk(radix) */
    /* CIPH_K(P) for an empty tweak and each fast-path length n <= p_max (step 5 and the first
     * block of the PRF, 4.5 Algorithm 6): P depends only on radix, n and t, so every call with
     * t = 0 (the common single call) saves one serial block. Filled by vk_ff1_new, read-only
     * after it (thread-safe), wiped by vk_ff1_free. */
    uint32_t p_max;
    uint8_t p_mac[FF1_FAST_MAX_N][16];
};

/* radix^e for e < per, with its reciprocal. */
struct ff1_top {
    uint32_t top;
    struct ff1_divider by_top;
};

static struct ff1_top ff1_top(uint32_t radix, uint32_t e) {
    struct ff1_top t = {1, {0, 0}};
    for (uint32_t i = 0; i < e; i++) t.top *= radix;
    if (e) t.by_top = ff1_divider(t.top);
    return t;
}

static inline uint64_t load_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void store_be64(uint8_t *p, uint64_t v) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint32_t numeral_at(const uint8_t *p, size_t j, int wide) {
    return wide ? (uint32_t)p[2 * j] | ((uint32_t)p[2 * j + 1] << 8) : p[j];
}

static inline void numeral_put(uint8_t *p, size_t j, uint32_t x, int wide) {
    if (wide) {
        p[2 * j] = (uint8_t)x;
        p[2 * j + 1] = (uint8_t)(x >> 8);
    } else {
        p[j] = (uint8_t)x;
    }
}

/* ---- per-length constants (SP 800-38G 6.2 steps 1-5) ------------------------------------- */

/* The length of Q = T || [0]^((-t-b-1) mod 16) || [i]^1 || [NUM(B)]^b (step 6.i), a multiple of
 * 16; its first (qlen - b - 1) / 16 blocks hold only T and zeros. */
static uint64_t ff1_q_len(uint64_t t, uint64_t b) {
    uint64_t pad = (16 - (t + b + 1) % 16) % 16;
    return t + pad + 1 + b;
}

/* The PRF (4.5 Algorithm 6, CBC-MAC with zero IV) over P and the blocks of Q before block
 * `first_var`, into y; and the Q blocks from `first_var` on with [i] = 0 and NUM(B) = 0, into
 * tmpl (qlen - 16 * first_var bytes). P is step 5:
 * [1]^1 [2]^1 [1]^1 [radix]^3 [10]^1 [u mod 256]^1 [n]^4 [t]^4. */
static void ff1_p_block(uint32_t radix, uint32_t n, uint64_t t, uint8_t p[16]) {
    uint32_t u = n / 2;
    const uint8_t v[16] = {1, 2, 1, (uint8_t)(radix >> 16), (uint8_t)(radix >> 8), (uint8_t)radix,
                           10, (uint8_t)(u % 256), (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                           (uint8_t)(n >> 8), (uint8_t)n, (uint8_t)(t >> 24), (uint8_t)(t >> 16),
                           (uint8_t)(t >> 8), (uint8_t)t};
    memcpy(p, v, 16);
}

static void ff1_prefix(const vk_ff1 *f, uint32_t n, const uint8_t *tweak, uint64_t t,
                       uint64_t qlen, uint64_t first_var, uint8_t y[16], uint8_t *tmpl) {
    if (t == 0 && n <= f->p_max) {
        memcpy(y, f->p_mac[n], 16);
    } else {
        uint8_t p[16];
        ff1_p_block(f->radix, n, t, p);
        vk_cipher_encrypt_blocks(f->cipher, p, y, 1);
    }
    uint8_t blk[16];
    for (uint64_t j = 0; j < first_var; j++) {
        for (uint64_t k = 0; k < 16; k++) {
            uint64_t pos = 16 * j + k;
            blk[k] = y[k] ^ (pos < t ? tweak[pos] : 0);
        }
        vk_cipher_encrypt_blocks(f->cipher, blk, y, 1);
    }
    for (uint64_t pos = 16 * first_var; pos < qlen; pos++)
        tmpl[pos - 16 * first_var] = pos < t ? tweak[pos] : 0;
}

/* b = ceil(ceil(v * log2(radix)) / 8) (step 3), exactly: ceil(log2(N)) = bit length of N - 1. */
static uint32_t ff1_b_from_bits(uint64_t bitlen) { return (uint32_t)((bitlen + 7) / 8); }

/* d = 4 * ceil(b / 4) + 4 (step 4). */
static uint32_t ff1_d(uint32_t b) { return 4 * ((b + 3) / 4) + 4; }

/* ---- fast path: halves in uint64_t ------------------------------------------------------- */

struct ff1_fast_ctx {
    uint32_t u, v, b, d;
    uint64_t mod_u, mod_v; /* radix^u, radix^v */
    struct ff1_divider div_u, div_v;
    struct ff1_top top_u, top_v; /* radix^(u mod per), radix^(v mod per), for 96-bit y */
    /* CBC-MAC chaining value before Q's last block, XOR that block with [i] = 0, NUM(B) = 0, as
     * two big-endian words: the PRF input block of round i is base ^ ([i] at byte 15 - b) ^
     * ([NUM(B)]^b in the last b bytes). */
    uint64_t base_hi, base_lo;
};

/* Largest v with radix^v < 2^64. */
static uint32_t ff1_fast_vmax(uint32_t radix) {
    uint64_t x = 1;
    uint32_t v = 0;
    while (!__builtin_mul_overflow(x, (uint64_t)radix, &x)) v++;
    return v;
}

vk_ff1 *vk_ff1_new(int algorithm, const uint8_t *key, size_t key_len, uint32_t radix) {
    if (radix < 2 || radix > 65536) return NULL; /* SP 800-38G 5.2: radix in [2..2^16] */
    vk_ff1 *f = malloc(sizeof *f);
    if (!f) return NULL;
    f->cipher = vk_cipher_new(algorithm, key, key_len);
    if (!f->cipher) {
        free(f);
        return NULL;
    }
    f->radix = radix;
    f->fast_vmax = ff1_fast_vmax(radix);
    f->ch = ff1_chunk(radix);
    /* fast-path lengths: n - n / 2 <= fast_vmax, i.e. n <= 2 fast_vmax (< FF1_FAST_MAX_N) */
    f->p_max = 2 * f->fast_vmax;
    memset(f->p_mac, 0, sizeof f->p_mac);
    for (uint32_t n = 2; n <= f->p_max; n++) ff1_p_block(radix, n, 0, f->p_mac[n]);
    vk_cipher_encrypt_blocks(f->cipher, f->p_mac[2], f->p_mac[2], f->p_max - 1);
    return f;
}

void vk_ff1_free(vk_ff1 *f) {
    if (!f) return;
    vk_cipher_free(f->cipher);
    vk_wipe(f, sizeof *f);
    free(f);
}

static uint64_t pow_u64(uint32_t radix, uint32_t e) {
    uint64_t x = 1;
    while (e--) x *= radix;
    return x;
}

static void ff1_fast_setup(const vk_ff1 *f, struct ff1_fast_ctx *c, uint32_t n,
                           const uint8_t *tweak, uint64_t t, const struct ff1_chunk *ch) {
    c->u = n / 2; /* step 1 */
    c->v = n - c->u;
    c->mod_u = pow_u64(f->radix, c->u);
    c->mod_v = pow_u64(f->radix, c->v);
    c->div_u = ff1_divider(c->mod_u);
    c->div_v = ff1_divider(c->mod_v);
    c->top_u = ff1_top(f->radix, c->u % ch->per);
    c->top_v = ff1_top(f->radix, c->v % ch->per);
    c->b = ff1_b_from_bits(64 - (uint64_t)__builtin_clzll(c->mod_v - 1));
    c->d = ff1_d(c->b);
    uint64_t qlen = ff1_q_len(t, c->b);
    uint8_t y[16], tmpl[16];
    ff1_prefix(f, n, tweak, t, qlen, qlen / 16 - 1, y, tmpl); /* b + 1 <= 16: last block only */
    for (int k = 0; k < 16; k++) y[k] ^= tmpl[k];
    c->base_hi = load_be64(y);
    c->base_lo = load_be64(y + 8);
    vk_wipe(y, sizeof y);
}

struct ff1_lane {
    const struct ff1_fast_ctx *c;
    const uint8_t *in;
    uint8_t *out;
    uint64_t a, b; /* NUM_radix(A), NUM_radix(B) */
};

/* (a + y) mod m and (a - y) mod m for a, y < m, without branches. */
static inline uint64_t add_mod(uint64_t a, uint64_t y, uint64_t m) {
    uint64_t s, t;
    uint64_t carry = __builtin_add_overflow(a, y, &s);
    uint64_t borrow = __builtin_sub_overflow(s, m, &t);
    uint64_t use_t = (carry | (borrow ^ 1)) & 1; /* s + 2^64 * carry >= m */
    uint64_t mask = (uint64_t)0 - use_t;
    return (t & mask) | (s & ~mask);
}

static inline uint64_t sub_mod(uint64_t a, uint64_t y, uint64_t m) {
    uint64_t s;
    uint64_t borrow = __builtin_sub_overflow(a, y, &s);
    return s + (m & ((uint64_t)0 - borrow));
}

/* x (3 limbs, destroyed) mod radix^m for radix^m < 2^64: its low m numerals in base radix, taken
 * chunk by chunk (top = radix^(m mod per) for the last one) and summed with their weights. */
static inline uint64_t ff1_mod_pow_u64(uint32_t x[3], uint32_t m, const struct ff1_chunk *ch,
                                       const struct ff1_top *top) {
    uint64_t r = 0, weight = 1;
    for (uint32_t i = m / ch->per; i > 0; i--) {
        r += bn_divrem_small(x, 3, ch->chunk, ch->by_chunk) * weight;
        weight *= ch->chunk; /* overflows only after the last use */
    }
    if (top->top > 1) r += bn_divrem_small(x, 3, top->top, top->by_top) * weight;
    return r;
}

/* Algorithm 7 (encrypt) or 8 (decrypt) on nl <= FF1_LANES values side by side. */
static void ff1_fast_group(const vk_ff1 *f, struct ff1_lane *lane, size_t nl, int decrypt,
                           int wide, const struct ff1_chunk *ch) {
    uint8_t x[FF1_LANES][16], r[FF1_LANES][16];
    uint32_t radix = f->radix;
    for (size_t k = 0; k < nl; k++) { /* step 2 and NUM_radix (Algorithm 1) */
        const struct ff1_fast_ctx *c = lane[k].c;
        uint64_t a = 0, b = 0;
        for (uint32_t j = 0; j < c->u; j++) a = a * radix + numeral_at(lane[k].in, j, wide);
        for (uint32_t j = c->u; j < c->u + c->v; j++)
            b = b * radix + numeral_at(lane[k].in, j, wide);
        lane[k].a = a;
        lane[k].b = b;
    }
    for (unsigned round = 0; round < FF1_ROUNDS; round++) {
        unsigned i = decrypt ? FF1_ROUNDS - 1 - round : round; /* Alg. 8: i from 9 down to 0 */
        for (size_t k = 0; k < nl; k++) {
            /* step 6.i-6.ii: the last block of P || Q, chained (Alg. 8 uses NUM(A)) */
            const struct ff1_fast_ctx *c = lane[k].c;
            uint64_t num = decrypt ? lane[k].a : lane[k].b; /* < 2^(8b), b <= 8 */
            uint64_t hi = c->base_hi, lo = c->base_lo ^ num;
            if (c->b == 8)
                hi ^= i;
            else
                lo ^= (uint64_t)i << (8 * c->b);
            store_be64(x[k], hi);
            store_be64(x[k] + 8, lo);
        }
        vk_cipher_encrypt_blocks(f->cipher, x[0], r[0], nl); /* R = PRF(P || Q) */
        for (size_t k = 0; k < nl; k++) {
            const struct ff1_fast_ctx *c = lane[k].c;
            uint64_t m = (i & 1) ? c->mod_v : c->mod_u; /* step 6.v */
            /* steps 6.iii-6.iv: d <= 12 <= 16, so S = R and y = NUM(R[0..d)), reduced mod m */
            uint64_t y;
            if (c->d == 8) {
                y = load_be64(r[k]);
                y -= ff1_div(y, (i & 1) ? c->div_v : c->div_u) * m;
            } else { /* radix^v > 2^32: a 96-bit y */
                uint64_t lo = load_be64(r[k] + 4);
                uint32_t x3[3] = {(uint32_t)lo, (uint32_t)(lo >> 32), load_be32(r[k])};
                y = ff1_mod_pow_u64(x3, (i & 1) ? c->v : c->u, ch,
                                    (i & 1) ? &c->top_v : &c->top_u);
            }
            if (decrypt) { /* Alg. 8 steps 6.vi-6.ix: c = (NUM(B) - y) mod m; B = A; A = C */
                uint64_t cc = sub_mod(lane[k].b, y, m);
                lane[k].b = lane[k].a;
                lane[k].a = cc;
            } else { /* Alg. 7 steps 6.vi-6.ix: c = (NUM(A) + y) mod m; A = B; B = C */
                uint64_t cc = add_mod(lane[k].a, y, m);
                lane[k].a = lane[k].b;
                lane[k].b = cc;
            }
        }
    }
    for (size_t k = 0; k < nl; k++) { /* step 7: A || B with STR^u and STR^v (Algorithm 3) */
        const struct ff1_fast_ctx *c = lane[k].c;
        uint64_t a = lane[k].a, b = lane[k].b;
        for (uint32_t j = c->u; j-- > 0;) {
            uint64_t q = ff1_div(a, ch->by_radix);
            numeral_put(lane[k].out, j, (uint32_t)(a - q * radix), wide);
            a = q;
        }
        for (uint32_t j = c->u + c->v; j-- > c->u;) {
            uint64_t q = ff1_div(b, ch->by_radix);
            numeral_put(lane[k].out, j, (uint32_t)(b - q * radix), wide);
            b = q;
        }
    }
    vk_wipe(x, nl * sizeof x[0]); /* rows nl.. were never written */
    vk_wipe(r, nl * sizeof r[0]);
    vk_wipe(lane, nl * sizeof *lane);
}

/* ---- general path: multi-precision halves ------------------------------------------------ */

/* Sizes for values of at most n numerals in radix 2^(k-1) < radix <= 2^k: limbs L per integer
 * (radix^v <= 2^(k v), and 2 radix^v must fit); words for five integers, y (d / 4 <= L + 4
 * limbs) and the chunks of y (<= v + 1); byte buffers for Q's varying blocks (b + 1 bytes and up
 * to 15 of T before them: b <= k v / 8 + 1) and for S (d <= b + 8, whole blocks). */
struct ff1_big_sizes {
    size_t limbs, words, q_bytes, s_bytes;
};

static struct ff1_big_sizes ff1_big_sizes(uint32_t radix, uint32_t n) {
    uint64_t k = 64 - (uint64_t)__builtin_clzll((uint64_t)radix - 1);
    uint64_t v = n - n / 2, bits = k * v;
    uint64_t b = bits / 8 + 1, d = b + 8;
    size_t L = (size_t)((bits + 2 + 31) / 32);
    struct ff1_big_sizes s = {L, 6 * L + 4 + (size_t)v + 1, (size_t)(b + 17), (size_t)(d + 16)};
    return s;
}

static void bn_zero(uint32_t *x, size_t L) { memset(x, 0, L * sizeof *x); }

/* x = x * mul + add (no overflow out of L limbs by construction). */
static void bn_mul_add(uint32_t *x, size_t L, uint32_t mul, uint32_t add) {
    uint64_t carry = add;
    for (size_t i = 0; i < L; i++) {
        uint64_t t = (uint64_t)x[i] * mul + carry;
        x[i] = (uint32_t)t;
        carry = t >> 32;
    }
}

/* x = NUM_radix(X[j0..j1)) (Algorithm 1). */
static void bn_num(uint32_t *x, size_t L, const uint8_t *in, uint32_t j0, uint32_t j1,
                   uint32_t radix, int wide) {
    bn_zero(x, L);
    for (uint32_t j = j0; j < j1; j++) bn_mul_add(x, L, radix, numeral_at(in, j, wide));
}

/* Bit length of x (public values only: it branches). */
static uint64_t bn_bitlen_public(const uint32_t *x, size_t L) {
    for (size_t i = L; i-- > 0;)
        if (x[i]) return 32 * (uint64_t)i + 32 - (uint64_t)__builtin_clz(x[i]);
    return 0;
}

/* r = r - m when r >= m (r < 2m), in constant time; t is scratch. */
static void bn_csub(uint32_t *r, const uint32_t *m, uint32_t *t, size_t L) {
    uint64_t borrow = 0;
    for (size_t i = 0; i < L; i++) {
        uint64_t d = (uint64_t)r[i] - m[i] - borrow;
        t[i] = (uint32_t)d;
        borrow = (d >> 32) & 1;
    }
    uint32_t keep = (uint32_t)0 - (uint32_t)borrow; /* borrow: r < m, keep r */
    for (size_t i = 0; i < L; i++) r[i] = (r[i] & keep) | (t[i] & ~keep);
}

/* r (L limbs) = NUM(s[0..d)) mod radix^m (steps 6.iv and 6.vi): the low m numerals of y in base
 * radix, taken as base-radix^per chunks by short division (top = radix^(m mod per) for the
 * last one), then put back together; tmp holds d / 4 limbs and chunks m / per words. */
static void bn_mod_pow(uint32_t *r, size_t L, const uint8_t *s, size_t d, uint32_t m,
                       const struct ff1_chunk *ch, const struct ff1_top *top, uint32_t *tmp,
                       uint32_t *chunks) {
    size_t ly = d / 4; /* d is a multiple of 4 (step 4) */
    for (size_t i = 0; i < ly; i++) tmp[i] = load_be32(s + 4 * (ly - 1 - i));
    uint32_t full = m / ch->per;
    for (uint32_t i = 0; i < full; i++)
        chunks[i] = bn_divrem_small(tmp, ly, ch->chunk, ch->by_chunk);
    bn_zero(r, L);
    if (top->top > 1) r[0] = bn_divrem_small(tmp, ly, top->top, top->by_top);
    for (uint32_t i = full; i-- > 0;) bn_mul_add(r, L, ch->chunk, chunks[i]);
}

/* a = (a + y) mod m, or (a - y) mod m when sub; a, y < m. */
static void bn_add_sub_mod(uint32_t *a, const uint32_t *y, const uint32_t *m, uint32_t *t,
                           size_t L, int sub) {
    if (!sub) {
        uint64_t carry = 0;
        for (size_t i = 0; i < L; i++) {
            uint64_t s = (uint64_t)a[i] + y[i] + carry;
            a[i] = (uint32_t)s;
            carry = s >> 32;
        }
        bn_csub(a, m, t, L);
        return;
    }
    uint64_t borrow = 0;
    for (size_t i = 0; i < L; i++) {
        uint64_t d = (uint64_t)a[i] - y[i] - borrow;
        a[i] = (uint32_t)d;
        borrow = (d >> 32) & 1;
    }
    uint32_t add = (uint32_t)0 - (uint32_t)borrow, carry = 0;
    for (size_t i = 0; i < L; i++) {
        uint64_t s = (uint64_t)a[i] + (m[i] & add) + carry;
        a[i] = (uint32_t)s;
        carry = (uint32_t)(s >> 32);
    }
}

/* Write STR^(j1-j0)_radix(x) to numerals j0..j1 of out (Algorithm 3), x < radix^(j1-j0), by
 * chunks of `per` numerals; destroys x. */
static void bn_str(uint32_t *x, size_t L, uint8_t *out, uint32_t j0, uint32_t j1,
                   const struct ff1_chunk *ch, int wide) {
    for (uint32_t pos = j1; pos > j0;) {
        uint32_t take = pos - j0 < ch->per ? pos - j0 : ch->per;
        /* the last (most significant) partial chunk is all that is left of x */
        uint64_t c = take == ch->per ? bn_divrem_small(x, L, ch->chunk, ch->by_chunk) : x[0];
        for (uint32_t i = 0; i < take; i++) {
            uint64_t q = ff1_div(c, ch->by_radix);
            numeral_put(out, --pos, (uint32_t)(c - q * ch->radix), wide);
            c = q;
        }
    }
}

/* xor [x]^b (big-endian, b bytes) into dst[0..b). */
static void bn_xor_be(const uint32_t *x, size_t L, uint8_t *dst, uint32_t b) {
    for (uint32_t k = 0; k < b && k / 4 < L; k++)
        dst[b - 1 - k] ^= (uint8_t)(x[k / 4] >> (8 * (k % 4)));
}

#define FF1_BIG_LANES 16           /* multi-precision values per group */
#define FF1_BIG_LANE_BUDGET 65536u /* work bytes per value above which a group holds one value */

/* One multi-precision value in flight: its sizes (steps 1-4), halves and per-round buffers, all
 * in its slot of the call's arena. */
struct ff1_big_lane {
    const uint8_t *in;
    uint8_t *out;
    uint32_t n, u, v, b, d;
    size_t L, q_tail, i_pos, s_blocks;
    uint32_t *a, *bb, *mu, *mv, *y, *tmp, *chunks;
    uint8_t *tmpl, *q, *s; /* s: the CBC-MAC chaining value, then S */
    uint8_t h[16];         /* CBC-MAC state after P and the blocks of Q holding only T and 0 */
    struct ff1_top top_u, top_v; /* radix^(u mod per), radix^(v mod per) */
};

/* Steps 1-5 and NUM_radix for one value of n numerals; words and bytes are its slot, sized by
 * ff1_big_sizes for at least n. */
static void ff1_big_init(const vk_ff1 *f, struct ff1_big_lane *l, const uint8_t *tweak,
                         uint64_t t, const uint8_t *in, uint8_t *out, uint32_t n, int wide,
                         const struct ff1_chunk *ch, uint32_t *words, uint8_t *bytes) {
    uint32_t radix = f->radix;
    struct ff1_big_sizes sz = ff1_big_sizes(radix, n);
    size_t L = sz.limbs;
    l->in = in;
    l->out = out;
    l->n = n;
    l->u = n / 2; /* step 1 */
    l->v = n - l->u;
    l->L = L;
    l->top_u = ff1_top(radix, l->u % ch->per);
    l->top_v = ff1_top(radix, l->v % ch->per);
    l->a = words;
    l->bb = l->a + L;
    l->mu = l->bb + L;
    l->mv = l->mu + L;
    l->y = l->mv + L;
    l->tmp = l->y + L;
    l->chunks = l->tmp + L + 4;
    l->tmpl = bytes;
    l->q = l->tmpl + sz.q_bytes;
    l->s = l->q + sz.q_bytes;
    bn_zero(l->mu, L);
    l->mu[0] = 1;
    for (uint32_t j = 0; j < l->u; j++) bn_mul_add(l->mu, L, radix, 0);
    bn_zero(l->mv, L);
    l->mv[0] = 1;
    for (uint32_t j = 0; j < l->v; j++) bn_mul_add(l->mv, L, radix, 0);
    /* step 3: ceil(log2(radix^v)) is the bit length of radix^v, less one when radix is a power
     * of two (radix^v is then a power of two) */
    uint64_t log2_ceil = bn_bitlen_public(l->mv, L) - ((radix & (radix - 1)) == 0);
    l->b = ff1_b_from_bits(log2_ceil);
    l->d = ff1_d(l->b); /* step 4 */
    uint64_t qlen = ff1_q_len(t, l->b), first_var = (qlen - l->b - 1) / 16;
    l->q_tail = (size_t)(qlen - 16 * first_var);
    l->i_pos = l->q_tail - l->b - 1;
    l->s_blocks = (l->d + 15) / 16;
    ff1_prefix(f, n, tweak, t, qlen, first_var, l->h, l->tmpl);
    bn_num(l->a, L, in, 0, l->u, radix, wide); /* step 2 */
    bn_num(l->bb, L, in, l->u, n, radix, wide);
}

/* Algorithm 7 or 8 on nl multi-precision values side by side: each cipher call takes one block
 * of every value (the CBC-MAC over Q's varying blocks, then all the extra blocks of S). stage
 * holds nl * max(q_tail, s_blocks * 16) bytes. */
static void ff1_big_group(const vk_ff1 *f, struct ff1_big_lane *lane, size_t nl, int decrypt,
                          int wide, const struct ff1_chunk *ch, uint8_t *stage) {
    size_t max_tail = 0;
    for (size_t k = 0; k < nl; k++)
        if (lane[k].q_tail / 16 > max_tail) max_tail = lane[k].q_tail / 16;
    for (unsigned round = 0; round < FF1_ROUNDS; round++) {
        unsigned i = decrypt ? FF1_ROUNDS - 1 - round : round;
        for (size_t k = 0; k < nl; k++) { /* step 6.i: Q's varying blocks (Alg. 8: NUM(A)) */
            struct ff1_big_lane *l = &lane[k];
            memcpy(l->q, l->tmpl, l->q_tail);
            l->q[l->i_pos] ^= (uint8_t)i;
            bn_xor_be(decrypt ? l->a : l->bb, l->L, l->q + l->i_pos + 1, l->b);
            memcpy(l->s, l->h, 16);
        }
        for (size_t j = 0; j < max_tail; j++) { /* step 6.ii: finish the CBC-MACs */
            size_t m = 0;
            for (size_t k = 0; k < nl; k++) {
                if (j >= lane[k].q_tail / 16) continue;
                for (int x = 0; x < 16; x++)
                    stage[16 * m + x] = lane[k].s[x] ^ lane[k].q[16 * j + x];
                m++;
            }
            vk_cipher_encrypt_blocks(f->cipher, stage, stage, m);
            m = 0;
            for (size_t k = 0; k < nl; k++)
                if (j < lane[k].q_tail / 16) memcpy(lane[k].s, stage + 16 * m++, 16);
        }
        /* step 6.iii: S = R || CIPH(R ^ [1]^16) || CIPH(R ^ [2]^16) ... (first d bytes) */
        size_t m = 0;
        for (size_t k = 0; k < nl; k++) {
            for (size_t j = 1; j < lane[k].s_blocks; j++, m++) {
                memcpy(stage + 16 * m, lane[k].s, 16);
                for (int x = 0; x < 8; x++)
                    stage[16 * m + 15 - x] ^= (uint8_t)((uint64_t)j >> (8 * x));
            }
        }
        if (m) vk_cipher_encrypt_blocks(f->cipher, stage, stage, m);
        m = 0;
        for (size_t k = 0; k < nl; k++) {
            struct ff1_big_lane *l = &lane[k];
            if (l->s_blocks > 1) {
                memcpy(l->s + 16, stage + 16 * m, 16 * (l->s_blocks - 1));
                m += l->s_blocks - 1;
            }
            uint32_t m_len = (i & 1) ? l->v : l->u; /* step 6.v */
            const uint32_t *mod = (i & 1) ? l->mv : l->mu;
            const struct ff1_top *top = (i & 1) ? &l->top_v : &l->top_u;
            bn_mod_pow(l->y, l->L, l->s, l->d, m_len, ch, top, l->tmp, l->chunks); /* 6.iv, 6.vi */
            if (decrypt) { /* Alg. 8 6.vi-6.ix: c = (NUM(B) - y) mod radix^m; B = A; A = C */
                bn_add_sub_mod(l->bb, l->y, mod, l->tmp, l->L, 1);
                uint32_t *c = l->bb;
                l->bb = l->a;
                l->a = c;
            } else { /* Alg. 7 6.vi-6.ix: c = (NUM(A) + y) mod radix^m; A = B; B = C */
                bn_add_sub_mod(l->a, l->y, mod, l->tmp, l->L, 0);
                uint32_t *c = l->a;
                l->a = l->bb;
                l->bb = c;
            }
        }
    }
    for (size_t k = 0; k < nl; k++) { /* step 7 */
        bn_str(lane[k].a, lane[k].L, lane[k].out, 0, lane[k].u, ch, wide);
        bn_str(lane[k].bb, lane[k].L, lane[k].out, lane[k].u, lane[k].n, ch, wide);
    }
    vk_wipe(lane, nl * sizeof *lane);
}

int vk_ff1_crypt(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len, const uint8_t *in,
                 uint8_t *out, const uint32_t *lengths, size_t count, int decrypt) {
    int wide = f->radix > 256;
    size_t width = wide ? 2 : 1;
    uint32_t fast_vmax = f->fast_vmax, big_n = 0;
    const struct ff1_chunk ch = f->ch;
    for (size_t i = 0; i < count; i++) {
        uint32_t n = lengths[i];
        if (n < 2) return -1;
        if (n - n / 2 > fast_vmax && n > big_n) big_n = n;
    }
    /* Fast-path contexts on the stack, one per distinct length (slot[n] = index + 1); the
     * general path's limbs and bytes in one allocation, only when some value needs them. */
    struct ff1_fast_ctx ctx[FF1_FAST_MAX_N];
    uint8_t slot[FF1_FAST_MAX_N];
    size_t used = 0;
    memset(slot, 0, sizeof slot);
    struct ff1_big_sizes sz = {0, 0, 0, 0};
    uint8_t *arena = NULL;
    size_t total = 0, slot_bytes = 0, big_group = 0;
    if (big_n) {
        sz = ff1_big_sizes(f->radix, big_n);
        slot_bytes = (sz.words * sizeof(uint32_t) + 2 * sz.q_bytes + sz.s_bytes + 7) / 8 * 8;
        big_group = slot_bytes > FF1_BIG_LANE_BUDGET ? 1 : FF1_BIG_LANES;
        size_t stage_per_value = (sz.q_bytes > sz.s_bytes ? sz.q_bytes : sz.s_bytes) + 16;
        total = big_group * (slot_bytes + stage_per_value);
        arena = calloc(1, total);
        if (!arena) return -1;
    }
    uint8_t *stage = arena ? arena + big_group * slot_bytes : NULL;
    struct ff1_big_lane big[FF1_BIG_LANES];
    size_t nb = 0;
    struct ff1_lane lane[FF1_LANES];
    size_t nl = 0, off = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t n = lengths[i];
        if (n - n / 2 <= fast_vmax) {
            if (!slot[n]) {
                ff1_fast_setup(f, &ctx[used], n, tweak, tweak_len, &ch);
                slot[n] = (uint8_t)++used;
            }
            lane[nl].c = &ctx[slot[n] - 1];
            lane[nl].in = in + off * width;
            lane[nl].out = out + off * width;
            if (++nl == FF1_LANES) {
                ff1_fast_group(f, lane, nl, decrypt, wide, &ch);
                nl = 0;
            }
        } else {
            uint8_t *slot_mem = arena + nb * slot_bytes;
            ff1_big_init(f, &big[nb], tweak, tweak_len, in + off * width, out + off * width, n,
                         wide, &ch, (uint32_t *)slot_mem, slot_mem + sz.words * sizeof(uint32_t));
            if (++nb == big_group) {
                ff1_big_group(f, big, nb, decrypt, wide, &ch, stage);
                nb = 0;
            }
        }
        off += n;
    }
    if (nl) ff1_fast_group(f, lane, nl, decrypt, wide, &ch);
    if (nb) ff1_big_group(f, big, nb, decrypt, wide, &ch, stage);
    vk_wipe(ctx, used * sizeof *ctx);
    if (arena) {
        vk_wipe(arena, total);
        free(arena);
    }
    return 0;
}

int vk_ff1_crypt_one(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len, const uint8_t *in,
                     uint8_t *out, uint32_t length, int decrypt) {
    return vk_ff1_crypt(f, tweak, tweak_len, in, out, &length, 1, decrypt);
}

/* The digits are mapped to numerals and back by arithmetic only (no table indexed by a digit),
 * and a non-digit neither branches nor indexes: it is accumulated into a flag, its numeral is
 * replaced by 0 so the cipher runs the same way, and the flag turns the result into
 * VK_FF1_NOT_DIGITS by a mask. Only public things (radix, length, memory) branch. */
uint64_t vk_ff1_crypt_digits(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len,
                             const uint8_t *digits, uint32_t length, int decrypt) {
    if (f->radix != 10 || length < 2 || length > VK_FF1_DIGITS_MAX) return VK_FF1_NOT_DIGITS;
    uint8_t num[VK_FF1_DIGITS_MAX];
    uint32_t bad = 0;
    for (uint32_t i = 0; i < length; i++) {
        int32_t d = (int32_t)digits[i] - '0';
        uint32_t out = (uint32_t)(d | (9 - d)) >> 31; /* 1 unless 0 <= d <= 9 */
        bad |= out;
        num[i] = (uint8_t)((uint32_t)d & (out - 1u)); /* 0 in place of a non-digit */
    }
    uint64_t value = VK_FF1_NOT_DIGITS;
    if (vk_ff1_crypt(f, tweak, tweak_len, num, num, &length, 1, decrypt) == 0) {
        value = 0;
        for (uint32_t i = 0; i < length; i++) value = value * 10 + num[i];
        value |= (uint64_t)0 - (uint64_t)bad;
    }
    vk_wipe(num, sizeof num);
    return value;
}
