/* Memory-safety fuzz of the token entry points (vk_token.h) under AddressSanitizer + UBSan
 * (compiled by tests/native/test_token_native.py with -fsanitize=address,undefined). The row
 * buffer is a heap allocation of exactly (rows - 1) * stride + width bytes, the smallest the
 * contract allows, so the SWAR loads, the work space and the chunking (2048 rows per token chunk,
 * 1024 or fewer per blind-index chunk) are checked for reads or writes past it. Valid rows round
 * trip; the bytes between rows are left alone. Usage: asan_token ROUNDS SEED. */
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

/* Luhn sum mod 10 of n ASCII digits. */
static uint32_t luhn(const uint8_t *s, uint32_t n) {
    uint32_t sum = 0;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t d = (uint32_t)s[n - 1 - j] - '0';
        if (j & 1) d = 2 * d > 9 ? 2 * d - 9 : 2 * d;
        sum += d;
    }
    return sum % 10;
}

static void card_row(uint8_t *row, uint32_t n, uint32_t target) {
    for (uint32_t j = 0; j < n; j++) row[j] = (uint8_t)('0' + rnd(10));
    for (uint32_t c = 0; c < 10; c++) {
        row[n - 1] = (uint8_t)('0' + c);
        if (luhn(row, n) == target) return;
    }
}

static const uint32_t W[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

static void id_row(uint8_t *row) {
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint32_t y = 1900 + rnd(200), m = 1 + rnd(12), d = 1 + rnd(dim[m - 1]);
    char tmp[19];
    snprintf(tmp, sizeof tmp, "%06u%04u%02u%02u%03u", rnd(1000000), y, m, d, rnd(1000));
    memcpy(row, tmp, 17);
    uint32_t s = 0;
    for (int k = 0; k < 17; k++) s += W[k] * (uint32_t)(row[k] - '0');
    uint32_t v = (12 - s % 11) % 11;
    row[17] = v == 10 ? 'X' : (uint8_t)('0' + v);
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 50;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) | 1 : 88172645463325252ull;
    static const size_t row_counts[] = {1, 2, 7, 1023, 1024, 1025, 2047, 2048, 2049, 4097};
    uint8_t key[16];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)rnd(256);
    vk_ff1 *f = vk_ff1_new(VK_CIPHER_SM4, key, 16, 10);
    vk_hmac_sm3 *h = vk_hmac_sm3_new(key, 16);
    if (!f || !h) return 2;
    int failures = 0;
    for (long r = 0; r < rounds; r++) {
        size_t rows = row_counts[rnd(sizeof row_counts / sizeof *row_counts)];
        int kind = (int)rnd(3), decrypt = (int)rnd(2);
        uint32_t n = kind == 1 ? 18 : 8 + rnd(21);
        size_t stride = n + rnd(3);
        if (kind == 2 && rnd(2)) n = stride = 1 + rnd(3000); /* long rows, no Luhn */
        size_t size = (rows - 1) * stride + n;
        uint8_t *buf = malloc(size), *orig = malloc(size);
        memset(buf, '#', size);
        uint32_t kp = 0, ks = 0, inv = rnd(2);
        if (kind == 0) {
            kp = rnd(n - 5);
            ks = rnd(n - 5 - kp);
        }
        for (size_t i = 0; i < rows; i++) {
            uint8_t *row = buf + i * stride;
            if (kind == 1)
                id_row(row);
            else if (kind == 0 || n <= 28)
                card_row(row, n, kind == 0 && decrypt && inv ? 5 : 0);
            else
                for (uint32_t j = 0; j < n; j++) row[j] = (uint8_t)rnd(256);
        }
        memcpy(orig, buf, size);
        int64_t rc;
        if (kind == 0) {
            rc = vk_token_card(f, key, 3, buf, rows, stride, n, kp, ks, (int)inv, decrypt);
            if (rc == 0)
                rc = vk_token_card(f, key, 3, buf, rows, stride, n, kp, ks, (int)inv, !decrypt);
        } else if (kind == 1) {
            rc = vk_token_cn_id(f, key, 3, buf, rows, stride, (int)inv, decrypt);
            if (rc == 0) rc = vk_token_cn_id(f, key, 3, buf, rows, stride, (int)inv, !decrypt);
        } else {
            size_t out_len = 1 + rnd(32);
            uint8_t *out = malloc(rows * out_len);
            int luhn_rows = n >= 8 && n <= 28;
            rc = vk_token_hmac_sm3_rows(h, buf, rows, stride, n, luhn_rows, out, out_len, 0xFF);
            uint8_t one[32];
            size_t i = rnd((uint32_t)rows);
            if (rc == 0) {
                vk_hmac_sm3_digest(h, buf + i * stride, n, one);
                rc = memcmp(one, out + i * out_len, out_len) ? 1 : 0;
            }
            free(out);
        }
        if (rc != 0 || memcmp(buf, orig, size) != 0) {
            printf("round %ld kind %d rows %zu n %u stride %zu: rc %lld\n", r, kind, rows, n,
                   stride, (long long)rc);
            failures++;
        }
        free(buf);
        free(orig);
    }
    vk_ff1_free(f);
    vk_hmac_sm3_free(h);
    printf(failures ? "FAIL\n" : "OK\n");
    return failures != 0;
}
