/* Card and resident ID token formats over FF1 in one call per batch (vk_token.h).
 *
 * The batch is cut into chunks of TK_CHUNK rows. Per chunk, the numerals to encrypt are gathered
 * into one work buffer and go through vk_ff1_crypt together, then are scattered back with the Luhn
 * digit or the GB 11643 check character recomputed. Cycle walking (cards with 6 middle digits)
 * uses the work space's slots as a pool refilled from the whole batch instead (card_walk). One
 * allocation per call (the work space: min(rows, TK_CHUNK) slots, wiped before it is
 * freed: it holds plaintext digits).
 *
 * Arithmetic on digits is branch-free (comparisons give 0/1, divisions are by constants, which
 * compilers turn into multiplications); positions, lengths and options are public.
 */
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TK_HAVE_AVX2 1
#endif

#define TK_CHUNK 2048      /* rows per chunk */
#define TK_CARD_MAX_N 28   /* Luhn sums of up to 28 digits fit the arithmetic below */
#define TK_ID_LEN 18       /* GB 11643 */
#define TK_DAYS 73049u     /* 1900-01-01 .. 2099-12-31 */
#define TK_ID_LIMIT (TK_DAYS * 1000u)

/* ---- Luhn (ISO/IEC 7812-1 Annex B) ----------------------------------------------------------- */

/* Contribution of digit d at position pos from the right (0 = check digit): d, or for odd
 * positions the digit sum of 2d. */
static inline uint32_t luhn_term(uint32_t d, uint32_t pos) {
    uint32_t doubled = 2 * d - 9 * (uint32_t)(d >= 5);
    return (pos & 1) ? doubled : d; /* pos is public */
}

/* Luhn sum of the n digits at row (ASCII) mod 10, the digit at position `skip` from the right
 * counting 0 (skip >= n: none skipped). One branch-free pass the compiler can vectorize. */
static inline uint32_t luhn_sum(const uint8_t *row, uint32_t n, uint32_t skip) {
    uint32_t s = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t d = (uint32_t)row[k] - '0', odd = (n - 1 - k) & 1;
        s += d + odd * (d - 9 * (uint32_t)(d >= 5));
    }
    if (skip < n) s += 20 - luhn_term((uint32_t)row[n - 1 - skip] - '0', skip); /* term <= 9 */
    return s % 10;
}

/* Set the digit at position pos from the right so that the row's Luhn sum is target mod 10. */
static inline void luhn_solve(uint8_t *row, uint32_t n, uint32_t pos, uint32_t target) {
    uint32_t c = (target + 10 - luhn_sum(row, n, pos)) % 10; /* the contribution needed */
    /* inverse of doubling mod 9: even c -> c / 2, odd c -> (c + 9) / 2 */
    uint32_t d = (pos & 1) ? (c + 9 * (c & 1)) / 2 : c;
    row[n - 1 - pos] = (uint8_t)('0' + d);
}

/* ---- Luhn on 8 digits at a time (SWAR: one byte per digit in a uint64_t) --------------------- */

#define ONES 0x0101010101010101ull

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v); /* byte j of the value = p[j], as on little-endian CPUs */
#endif
    return v;
}

/* Luhn terms of 8 numerals 0..9 (one per byte); odd: 0xFF in the bytes at odd positions, whose
 * term is the digit sum of the double: 2d - 9 when d >= 5 (d + 0x7B sets bit 7 exactly then). */
static inline uint64_t swar_terms(uint64_t d, uint64_t odd) {
    uint64_t ge5 = ((d + 0x7B * ONES) >> 7) & ONES;
    uint64_t dbl = (d << 1) - 9 * ge5;
    return (d & ~odd) | (dbl & odd);
}

/* Sum of the 8 bytes (each <= 9: no carry between bytes). */
static inline uint32_t swar_sum(uint64_t v) { return (uint32_t)((v * ONES) >> 56); }

/* 0x80 in each byte of x that is not an ASCII digit '0'..'9' (bytes >= 0x80 included; a carry
 * out of such a byte can only add flags to a row that is flagged already). */
static inline uint64_t swar_not_digits(uint64_t x) {
    return (~(x + 0x50 * ONES) | (x + 0x46 * ONES) | x) & (0x80 * ONES);
}

/* The words covering a row of n (8..28) ASCII digits: at 0, 8, ... and a last one ending at the
 * row's end (overlapping the one before; `valid` leaves out the bytes it already had), with the
 * byte masks of the odd positions and of the columns [lo, hi). Loads never leave the row. */
typedef struct {
    uint32_t off;
    uint64_t valid, odd, in;
} swar_word;

static uint32_t swar_plan(swar_word *w, uint32_t n, uint32_t lo, uint32_t hi) {
    uint32_t count = 0;
    for (uint32_t covered = 0; covered < n; count++) {
        uint32_t off = covered + 8 <= n ? covered : n - 8;
        uint64_t valid = 0, odd = 0, in = 0;
        for (uint32_t j = 0; j < 8; j++) {
            uint32_t k = off + j;
            if (k < covered) continue;
            uint64_t byte = 0xFFull << (8 * j);
            valid |= byte;
            if ((n - 1 - k) & 1) odd |= byte;
            if (k >= lo && k < hi) in |= byte;
        }
        w[count] = (swar_word){off, valid, odd, in};
        covered = off + 8;
    }
    return count;
}

/* Check a row against its plan: nonzero if a byte is not a digit; *in_sum and *out_sum get the
 * Luhn sums (not reduced) of the digits inside and outside the plan's columns. */
static inline uint64_t swar_row(const uint8_t *row, const swar_word *w, uint32_t nw,
                                uint32_t *in_sum, uint32_t *out_sum) {
    uint64_t bad = 0;
    uint32_t in = 0, out = 0;
    for (uint32_t i = 0; i < nw; i++) {
        uint64_t x = load64(row + w[i].off);
        bad |= swar_not_digits(x) & w[i].valid;
        uint64_t t = swar_terms(x - 0x30 * ONES, w[i].odd) & w[i].valid;
        in += swar_sum(t & w[i].in);
        out += swar_sum(t & ~w[i].in);
    }
    *in_sum = in;
    *out_sum = out;
    return bad;
}

/* Luhn sum (not reduced) of L numerals 0..9 at num whose last one is at position `last` from the
 * right; reads up to 7 bytes past num + L (the caller's buffer has them). */
static inline uint32_t swar_numerals(const uint8_t *num, uint32_t L, uint32_t last) {
    uint32_t s = 0;
    for (uint32_t off = 0; off < L; off += 8) {
        uint64_t valid = 0, odd = 0;
        for (uint32_t j = 0; j < 8 && off + j < L; j++) {
            uint64_t byte = 0xFFull << (8 * j);
            valid |= byte;
            if ((last + L - 1 - (off + j)) & 1) odd |= byte;
        }
        s += swar_sum(swar_terms(load64(num + off) & valid, odd));
    }
    return s;
}

/* Test builds only (tests/native/ctgrind/count_walk.c, -DVK_TEST_COUNTERS): what the card walk
 * asked of FF1, to check it against the walk lengths derived from single FF1 calls. */
#ifdef VK_TEST_COUNTERS
uint64_t vk_test_walk_values;      /* values passed to vk_ff1_crypt by card_walk */
uint64_t vk_test_walk_calls;       /* vk_ff1_crypt calls made by card_walk */
uint64_t vk_test_walk_short_calls; /* calls with a pool not full while rows were left */
#define WALK_COUNT(live, left)                                   \
    do {                                                         \
        vk_test_walk_values += (live);                           \
        vk_test_walk_calls++;                                    \
        vk_test_walk_short_calls += (left) && (live) < TK_CHUNK; \
    } while (0)
#else
#define WALK_COUNT(live, left) ((void)0)
#endif

/* ---- work space ------------------------------------------------------------------------------ */

/* `slots` = min(rows, TK_CHUNK) slots: a chunk or the walk's pool never holds more rows than the
 * batch has, so a single value (one call per card) allocates, fills and wipes one slot, not
 * TK_CHUNK of them. */
typedef struct {
    uint8_t *num;      /* slots * width numerals */
    uint32_t *lens;    /* slots copies of width */
    uint32_t *pending; /* slots row indexes (within the chunk) */
    uint8_t *want;     /* slots Luhn contributions, then 8 spare bytes (right after num: the 8
                          bytes swar_numerals may read past the last row of num) */
    size_t size;
    void *base;
} work;

static int work_new(work *w, uint32_t width, size_t rows) {
    size_t slots = rows < TK_CHUNK ? rows : TK_CHUNK;
    size_t size = slots * (width + 4 + 4 + 1) + 8;
    uint8_t *p = malloc(size);
    if (!p) return -1;
    w->base = p;
    w->size = size;
    w->lens = (uint32_t *)p;
    w->pending = (uint32_t *)(p + slots * 4);
    w->num = p + slots * 8;
    w->want = w->num + slots * width;
    memset(w->want + slots, 0, 8);
    for (size_t i = 0; i < slots; i++) w->lens[i] = width;
    return 0;
}

static void work_free(work *w) {
    vk_wipe(w->base, w->size);
    free(w->base);
}

/* ---- cards ----------------------------------------------------------------------------------- */

/* Cycle walking (m == 6) over all `rows` rows at buf, which the caller has validated: FF1 again on
 * the values whose middle's Luhn contribution differs from the input's, until none does. The
 * rounds of different rows are interleaved: the TK_CHUNK slots of the work space form a pool,
 * and a slot whose value is back in the Luhn-consistent set takes the next row at once, so every
 * vk_ff1_crypt call gets a full pool (its 64-value lane groups stay full) until the input runs
 * out; only the last pool drains. Per row the number of FF1 applications is that of the scheme
 * (on average exactly 10: docs/native.md), whatever the batch. */
static int card_walk(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len, uint8_t *buf,
                     size_t rows, size_t stride, uint32_t kp, uint32_t ks, uint32_t m,
                     int decrypt, work *w) {
    size_t next = 0, live = 0;
    for (;;) {
        for (; live < TK_CHUNK && next < rows; live++, next++) { /* refill the pool */
            const uint8_t *mid = buf + next * stride + kp;
            uint8_t *num = w->num + live * m;
            for (uint32_t j = 0; j < m; j++) num[j] = (uint8_t)(mid[j] - '0');
            w->want[live] = (uint8_t)(swar_numerals(num, m, ks) % 10);
            w->pending[live] = (uint32_t)next; /* rows < 2^32: checked by the caller */
        }
        if (!live) return 0;
        WALK_COUNT(live, next < rows);
        if (vk_ff1_crypt(f, tweak, tweak_len, w->num, w->num, w->lens, live, decrypt)) return -1;
        /* Branch-free per value: the row always gets the latest value (the last one written is
         * back in the Luhn-consistent set) and the slot is always copied down; `keep` only
         * advances for the values still outside. dst <= num: a forward byte copy is safe. */
        size_t keep = 0;
        for (size_t i = 0; i < live; i++) {
            const uint8_t *num = w->num + i * m;
            uint8_t want = w->want[i];
            uint32_t r = w->pending[i];
            uint32_t outside = (uint32_t)(swar_numerals(num, m, ks) % 10 != want);
            uint8_t *mid = buf + (size_t)r * stride + kp;
            uint8_t *dst = w->num + keep * m;
            for (uint32_t j = 0; j < m; j++) {
                mid[j] = (uint8_t)('0' + num[j]);
                dst[j] = num[j];
            }
            w->pending[keep] = r;
            w->want[keep] = want;
            keep += outside;
        }
        live = keep;
    }
}

int64_t vk_token_card(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len, uint8_t *buf,
                      size_t rows, size_t stride, uint32_t n, uint32_t keep_prefix,
                      uint32_t keep_suffix, int luhn_invalid, int decrypt) {
    /* keep_prefix + keep_suffix may wrap in 32 bits: compare each against what is left */
    if (n < 8 || n > TK_CARD_MAX_N || stride < n || keep_prefix > n - 6 ||
        keep_suffix > n - 6 - keep_prefix)
        return -1;
    uint32_t kp = keep_prefix, ks = keep_suffix, m = n - kp - ks;
    uint32_t expect = (decrypt && luhn_invalid) ? 5 : 0;
    uint32_t target = (!decrypt && luhn_invalid) ? 5 : 0; /* Luhn sum of the output */
    if (!rows) return 0;
    uint32_t free_digits = m > 6 ? m - 1 : m; /* m > 6: the last middle digit is recomputed */
    swar_word plan[4];
    uint32_t nw = swar_plan(plan, n, kp, kp + m);
    work w;
    if (work_new(&w, free_digits, rows)) return -1;
    int64_t rc = 0;
    if (m == 6) {
        /* cycle walking: validate every row first, then walk them all through one pool */
        if (rows > UINT32_MAX) rc = -1;
        for (size_t i = 0; i < rows && !rc; i++) {
            uint32_t middle, kept;
            uint64_t bad = swar_row(buf + i * stride, plan, nw, &middle, &kept);
            if (bad | ((kept + middle) % 10 != expect)) rc = (int64_t)i + 1;
        }
        if (!rc) {
            if (decrypt && luhn_invalid)
                for (size_t i = 0; i < rows; i++) luhn_solve(buf + i * stride, n, ks, 0);
            if (card_walk(f, tweak, tweak_len, buf, rows, stride, kp, ks, m, decrypt, &w))
                rc = -1;
            else if (!decrypt && luhn_invalid)
                for (size_t i = 0; i < rows; i++) luhn_solve(buf + i * stride, n, ks, 5);
        }
        work_free(&w);
        return rc;
    }
    for (size_t start = 0; start < rows && !rc; start += TK_CHUNK) {
        size_t count = rows - start < TK_CHUNK ? rows - start : TK_CHUNK;
        uint8_t *chunk = buf + start * stride;
        /* Validation (digits only, the expected Luhn sum) and in the same pass the Luhn sum of
         * the kept digits and the free digits gathered. */
        for (size_t i = 0; i < count && !rc; i++) {
            const uint8_t *row = chunk + i * stride;
            uint32_t middle, kept;
            if (swar_row(row, plan, nw, &middle, &kept) | ((kept + middle) % 10 != expect)) {
                rc = (int64_t)(start + i) + 1;
                break;
            }
            w.want[i] = (uint8_t)(kept % 10);
            uint8_t *num = w.num + i * free_digits;
            for (uint32_t j = 0; j < free_digits; j++) num[j] = (uint8_t)(row[kp + j] - '0');
        }
        if (rc) break;
        if (vk_ff1_crypt(f, tweak, tweak_len, w.num, w.num, w.lens, count, decrypt)) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < count; i++) {
            uint8_t *row = chunk + i * stride;
            const uint8_t *num = w.num + i * free_digits;
            for (uint32_t j = 0; j < free_digits; j++) row[kp + j] = (uint8_t)('0' + num[j]);
            /* the digit at position ks makes the whole sum `target`: kept digits + free
             * digits (last one at position ks + 1) + its own contribution c */
            uint32_t have = (w.want[i] + swar_numerals(num, free_digits, ks + 1)) % 10;
            uint32_t c = (target + 20 - have) % 10;
            uint32_t d = (ks & 1) ? (c + 9 * (c & 1)) / 2 : c;
            row[n - 1 - ks] = (uint8_t)('0' + d);
        }
    }
    work_free(&w);
    return rc;
}

/* ---- blind indexes -------------------------------------------------------------------------- */

#ifdef TK_HAVE_AVX2
/* The Luhn check of card rows (n = 8..28 ASCII digits, row i at buf + i * stride) with AVX2, one
 * row per 32-byte load: digits d = byte - '0' (a byte is a digit when min(d, 9) == d, unsigned),
 * the terms d, or at the doubled positions the digit sum of 2d from a 10-entry table in a
 * register (pshufb: no memory index), the bytes past the row masked off, and their sum by
 * psadbw. Returns how many rows from the first are valid, stopping at the first that is not or
 * whose load would pass `end` (the SWAR loop takes the rest and names the row). */
__attribute__((target("avx2"))) static size_t tk_luhn_rows_avx2(const uint8_t *buf, size_t rows,
                                                                size_t stride, uint32_t n,
                                                                const uint8_t *end) {
    _Alignas(32) uint8_t valid_b[32], odd_b[32];
    for (uint32_t k = 0; k < 32; k++) {
        valid_b[k] = (uint8_t)(k < n ? 0xFF : 0);
        odd_b[k] = (uint8_t)(k < n && ((n - 1 - k) & 1) ? 0xFF : 0);
    }
    const __m256i valid = _mm256_load_si256((const __m256i *)valid_b);
    const __m256i odd = _mm256_load_si256((const __m256i *)odd_b);
    const __m256i nine = _mm256_set1_epi8(9), ascii0 = _mm256_set1_epi8('0');
    const __m256i dbl = _mm256_setr_epi8(0, 2, 4, 6, 8, 1, 3, 5, 7, 9, 0, 0, 0, 0, 0, 0, /* 2d */
                                         0, 2, 4, 6, 8, 1, 3, 5, 7, 9, 0, 0, 0, 0, 0, 0);
    const uint32_t row_bits = (uint32_t)((1ull << n) - 1);
    size_t i = 0;
    for (; i < rows; i++) {
        const uint8_t *row = buf + i * stride;
        if ((size_t)(end - row) < 32) break;
        __m256i d = _mm256_sub_epi8(_mm256_loadu_si256((const __m256i *)row), ascii0);
        __m256i digit = _mm256_cmpeq_epi8(_mm256_min_epu8(d, nine), d);
        __m256i t = _mm256_blendv_epi8(d, _mm256_shuffle_epi8(dbl, d), odd);
        __m256i s = _mm256_sad_epu8(_mm256_and_si256(t, valid), _mm256_setzero_si256());
        __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        uint32_t sum = (uint32_t)(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1));
        uint32_t not_digits = ~(uint32_t)_mm256_movemask_epi8(digit) & row_bits;
        if (not_digits | (sum % 10 != 0)) break;
    }
    return i;
}
#endif

/* The Luhn check of every row first (the index of the first bad row, before any MAC work), then
 * one flat HMAC-SM3 call over the rows where they lie (vk_hmac_sm3_flat: 8 rows at a time straight
 * from the buffer on AVX2, truncated there). */
int64_t vk_token_hmac_sm3_rows(const vk_hmac_sm3 *h, const uint8_t *buf, size_t rows,
                               size_t stride, size_t width, int luhn, uint8_t *out,
                               size_t out_len, uint8_t last_mask) {
    if (out_len < 1 || out_len > 32 || stride < width) return -1;
    if (luhn && (width < 8 || width > TK_CARD_MAX_N)) return -1;
    if (!rows) return 0;
    if (rows - 1 > (SIZE_MAX - width) / (stride ? stride : 1)) return -1;
    if (luhn) {
        swar_word plan[4];
        uint32_t nw = swar_plan(plan, (uint32_t)width, 0, (uint32_t)width);
        size_t i = 0;
#ifdef TK_HAVE_AVX2
        if (vk_cpu_usable() & VK_CPU_AVX2) /* the rows' span ends at the last row's last byte */
            i = tk_luhn_rows_avx2(buf, rows, stride, (uint32_t)width,
                                  buf + (rows - 1) * stride + width);
#endif
        for (; i < rows; i++) {
            const uint8_t *row = buf + i * stride;
            uint64_t bad = 0, terms = 0; /* terms: byte sums stay <= 9 * 28 = 252, no carry */
            for (uint32_t k = 0; k < nw; k++) {
                uint64_t x = load64(row + plan[k].off);
                bad |= swar_not_digits(x) & plan[k].valid;
                terms += swar_terms(x - 0x30 * ONES, plan[k].odd) & plan[k].valid;
            }
            if (bad | (swar_sum(terms) % 10 != 0)) return (int64_t)i + 1;
        }
    }
    /* the caller's rows end at the last row's last byte */
    int64_t rc = vk_hmac_sm3_flat(h, rows, buf, (rows - 1) * stride + width, NULL, stride, width,
                                  out, out_len, last_mask);
    return rc < 0 ? -1 : 0;
}

/* ---- resident ID numbers --------------------------------------------------------------------- */

/* Days from 1900-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil with the era
 * fixed: 1600-03-01 .. 2099-12-31 lies in eras 4 and 5 counted from 0000-03-01). m in 1..12. */
static inline uint32_t days_from_civil(uint32_t y, uint32_t m, uint32_t d) {
    uint32_t early = (uint32_t)(m <= 2);
    y -= early;
    uint32_t mp = m + 9 - 12 * (uint32_t)(m > 2); /* March = 0 */
    uint32_t era = y / 400, yoe = y - era * 400;
    uint32_t doy = (153 * mp + 2) / 5 + d - 1;
    uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 693901; /* 693901: 0000-03-01 .. 1900-01-01 */
}

/* The inverse (H. Hinnant's civil_from_days), z = days from 1900-01-01 in [0, TK_DAYS). */
static inline void civil_from_days(uint32_t z, uint32_t *y, uint32_t *m, uint32_t *d) {
    z += 693901;
    uint32_t era = z / 146097, doe = z - era * 146097;
    uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint32_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + 3 - 12 * (uint32_t)(mp >= 10);
    *y = yoe + era * 400 + (uint32_t)(*m <= 2);
}

static inline uint32_t digits_value(const uint8_t *p, uint32_t n) {
    uint32_t v = 0;
    for (uint32_t k = 0; k < n; k++) v = 10 * v + (uint32_t)(p[k] - '0');
    return v;
}

static inline void put_digits(uint8_t *p, uint32_t n, uint32_t v) {
    for (uint32_t k = n; k-- > 0;) {
        p[k] = (uint8_t)('0' + v % 10);
        v /= 10;
    }
}

/* ISO 7064 MOD 11-2 weights 2^(17 - k) mod 11 of GB 11643's first 17 characters. */
static const uint32_t id_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

/* Days in month m (1..12; 0 for anything else) of year y: 28 + 2 bits per month, + 1 in a
 * Gregorian leap February. */
static inline uint32_t month_days(uint32_t y, uint32_t m) {
    const uint32_t extra = (3u << 2) | (0u << 4) | (3u << 6) | (2u << 8) | (3u << 10) |
                           (2u << 12) | (3u << 14) | (3u << 16) | (2u << 18) | (3u << 20) |
                           (2u << 22) | (3u << 24);
    uint32_t valid = (uint32_t)(m >= 1) & (uint32_t)(m <= 12);
    uint32_t leap = (uint32_t)(y % 4 == 0) & ((uint32_t)(y % 100 != 0) | (uint32_t)(y % 400 == 0));
    uint32_t days = 28 + ((extra >> (2 * m * valid)) & 3) + (leap & (uint32_t)(m == 2));
    return days * valid;
}

/* Day index of the row's birth date (YYYYMMDD at 6..13), or TK_DAYS when it is not a real day in
 * 1900-01-01..2099-12-31. */
static inline uint32_t id_day(const uint8_t *row) {
    uint32_t y = digits_value(row + 6, 4), m = digits_value(row + 10, 2);
    uint32_t d = digits_value(row + 12, 2);
    uint32_t ok = (uint32_t)(y >= 1900) & (uint32_t)(y <= 2099) & (uint32_t)(d >= 1) &
                  (uint32_t)(d <= month_days(y, m));
    uint32_t z = days_from_civil(y * ok + 1900 * !ok, m * ok + !ok, d * ok + !ok);
    return z * ok + TK_DAYS * (1 - ok);
}

int64_t vk_token_cn_id(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len, uint8_t *buf,
                       size_t rows, size_t stride, int keep_sex, int decrypt) {
    if (stride < TK_ID_LEN) return -1;
    if (!rows) return 0;
    work w;
    if (work_new(&w, 8, rows)) return -1;
    int64_t rc = 0;
    for (size_t start = 0; start < rows && !rc; start += TK_CHUNK) {
        size_t count = rows - start < TK_CHUNK ? rows - start : TK_CHUNK;
        uint8_t *chunk = buf + start * stride;
        /* Validation (17 digits, check character, date in the domain) and x, in one pass; want[i]
         * keeps the weighted sum of the address code (ISO 7064 MOD 11-2) for the new check. */
        for (size_t i = 0; i < count; i++) {
            const uint8_t *row = chunk + i * stride;
            uint32_t bad = 0, head = 0, body = 0;
            for (uint32_t k = 0; k < 17; k++) {
                uint32_t d = (uint32_t)row[k] - '0';
                bad |= (uint32_t)(d > 9);
                if (k < 6) /* public positions */
                    head += id_weights[k] * d;
                else
                    body += id_weights[k] * d;
            }
            uint32_t is_x = (uint32_t)(row[17] == 'X');
            uint32_t check = 10 * is_x + (1 - is_x) * (uint32_t)(uint8_t)(row[17] - '0');
            uint32_t day = id_day(row);
            bad |= (uint32_t)(check > 10) | (uint32_t)((head + body + check) % 11 != 1) |
                   (uint32_t)(day >= TK_DAYS);
            if (bad) {
                rc = (int64_t)(start + i) + 1;
                break;
            }
            w.want[i] = (uint8_t)(head % 11);
            uint32_t s = digits_value(row + 14, 3);
            uint32_t x = day * 1000 + (keep_sex ? s / 2 : s);
            uint8_t *num = w.num + i * 8;
            for (uint32_t k = 8; k-- > 0;) {
                num[k] = (uint8_t)(x % 10);
                x /= 10;
            }
            w.pending[i] = (uint32_t)i;
        }
        if (rc) break;
        /* Cycle walking: FF1 again on the values outside the domain until none is. */
        size_t live = count;
        while (live) {
            if (vk_ff1_crypt(f, tweak, tweak_len, w.num, w.num, w.lens, live, decrypt)) {
                rc = -1;
                break;
            }
            size_t keep = 0;
            for (size_t i = 0; i < live; i++) {
                const uint8_t *num = w.num + i * 8;
                uint32_t y = 0;
                for (uint32_t k = 0; k < 8; k++) y = 10 * y + num[k];
                uint32_t r = w.pending[i];
                uint32_t inside = (uint32_t)(y < TK_ID_LIMIT);
                if (keep_sex) inside &= (uint32_t)(y % 1000 < 500);
                if (inside) {
                    uint8_t *row = chunk + (size_t)r * stride;
                    uint32_t yy, mm, dd;
                    civil_from_days(y / 1000, &yy, &mm, &dd);
                    put_digits(row + 6, 4, yy);
                    put_digits(row + 10, 2, mm);
                    put_digits(row + 12, 2, dd);
                    uint32_t s = y % 1000;
                    if (keep_sex) s = 2 * s + ((uint32_t)(row[16] - '0') & 1); /* parity kept */
                    put_digits(row + 14, 3, s);
                    uint32_t sum = w.want[r];
                    for (uint32_t k = 6; k < 17; k++) sum += id_weights[k] * (uint32_t)(row[k] - '0');
                    uint32_t v = (12 - sum % 11) % 11; /* GB 11643 check value */
                    row[17] = (uint8_t)('0' + v + ('X' - '0' - 10) * (uint32_t)(v == 10));
                } else {
                    if (keep != i) memcpy(w.num + keep * 8, num, 8);
                    w.pending[keep++] = r;
                }
            }
            live = keep;
        }
    }
    work_free(&w);
    return rc;
}
