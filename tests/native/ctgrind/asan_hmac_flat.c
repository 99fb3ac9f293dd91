/* Memory-safety fuzz of vk_hmac_sm3_flat (vk_hash.h) under AddressSanitizer + UBSan (compiled
 * by tests/native/test_hmac_flat.py with -fsanitize=address,undefined). Every buffer is a heap
 * allocation of exactly the size the contract allows: the data ends at the last offset (or the
 * last row's last byte), the offsets are count + 1 entries, the output count * out_len bytes, so
 * the 32-byte row loads of the AVX2 lockstep path, the chunking and the truncation are checked
 * for reads or writes past them. Each output is compared with a single vk_hmac_sm3_digest; bad
 * offsets or rows return -1 and leave the output alone. Usage: asan_hmac_flat ROUNDS SEED. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t bound) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return bound ? (uint32_t)(rng_state % bound) : 0;
}

static const uint32_t LENS[] = {0, 1, 12, 19, 31, 32, 33, 55, 56, 63, 64, 65, 128, 200};

static uint32_t pick_len(int mixed) {
    return mixed ? rnd(300) : LENS[rnd(sizeof LENS / sizeof LENS[0])];
}

static void fail(const char *what, long round) {
    printf("FAIL %s round %ld\n", what, round);
    exit(1);
}

/* out_len bytes of HMAC(data[0..len)) with the last ANDed with mask, by a single call. */
static void expect(const vk_hmac_sm3 *h, const uint8_t *data, size_t len, const uint8_t *got,
                   size_t out_len, uint8_t mask, const char *what, long round) {
    uint8_t one[32];
    vk_hmac_sm3_digest(h, data, len, one);
    one[out_len - 1] &= mask;
    if (memcmp(got, one, out_len) != 0) fail(what, round);
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 50;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) | 1 : 88172645463325252ull;
    static const size_t counts[] = {0, 1, 2, 7, 8, 9, 16, 17, 255, 256, 257, 600};
    uint8_t key[32];
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)rnd(256);
    vk_hmac_sm3 *h = vk_hmac_sm3_new(key, sizeof key);
    for (long r = 0; r < rounds; r++) {
        size_t count = counts[rnd(sizeof counts / sizeof counts[0])];
        size_t out_len = 1 + rnd(32);
        uint8_t mask = rnd(2) ? 0xff : (uint8_t)(0xff << rnd(8));
        uint8_t *out = malloc(count * out_len + 1); /* + 1: malloc(0) may return NULL */
        /* offsets form: one length or mixed, exact data and offsets arrays */
        int mixed = (int)rnd(2);
        uint32_t one_len = pick_len(0);
        uint64_t *offs = malloc((count + 1) * sizeof *offs);
        offs[0] = rnd(3);
        for (size_t i = 0; i < count; i++) offs[i + 1] = offs[i] + (mixed ? pick_len(1) : one_len);
        size_t data_len = (size_t)offs[count];
        uint8_t *data = malloc(data_len + 1);
        for (size_t i = 0; i < data_len; i++) data[i] = (uint8_t)rnd(256);
        if (vk_hmac_sm3_flat(h, count, data, data_len, offs, 0, 0, out, out_len, mask) != 0)
            fail("offsets rc", r);
        for (size_t i = 0; i < count; i++)
            expect(h, data + offs[i], (size_t)(offs[i + 1] - offs[i]), out + i * out_len,
                   out_len, mask, "offsets", r);
        /* a bad offset: -1 and nothing written */
        if (count) {
            memset(out, 0xa5, count * out_len);
            offs[count] = data_len + 1;
            if (vk_hmac_sm3_flat(h, count, data, data_len, offs, 0, 0, out, out_len, mask) != -1)
                fail("bad offsets rc", r);
            for (size_t i = 0; i < count * out_len; i++)
                if (out[i] != 0xa5) fail("bad offsets wrote", r);
        }
        free(data);
        free(offs);
        /* rows form: width bytes every stride, the buffer ending at the last row */
        size_t width = pick_len(0), stride = width + rnd(4);
        size_t rows_len = count ? (count - 1) * stride + width : 0;
        uint8_t *rows = malloc(rows_len + 1);
        for (size_t i = 0; i < rows_len; i++) rows[i] = (uint8_t)rnd(256);
        if (vk_hmac_sm3_flat(h, count, rows, rows_len, NULL, stride, width, out, out_len, mask))
            fail("rows rc", r);
        for (size_t i = 0; i < count; i++)
            expect(h, rows + i * stride, width, out + i * out_len, out_len, mask, "rows", r);
        if (count && width &&
            vk_hmac_sm3_flat(h, count, rows, rows_len - 1, NULL, stride, width, out, out_len,
                             mask) != -1)
            fail("short rows rc", r);
        free(rows);
        free(out);
    }
    vk_hmac_sm3_free(h);
    printf("ran %ld rounds (%s) OK\n", rounds, vk_sm3_impl());
    return 0;
}
