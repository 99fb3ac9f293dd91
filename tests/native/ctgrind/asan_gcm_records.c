/* Memory-safety fuzz of the GCM record entry points (vk_gcm_records_*: the envelope's single
 * fields) under AddressSanitizer + UBSan (compiled by tests/native/test_gcm_records.py with
 * -fsanitize=address,undefined). Every buffer is a heap allocation of exactly the documented
 * size, so any read or write past it is reported. Checks that a sealed record is head || nonce ||
 * vk_gcm_seal(nonce, data, head || ad) with nonce = base + counter, that it opens back, that a
 * flipped bit past the head fails with zeroed output, and that a record shorter than head + 28
 * bytes is refused (-2) without a write. Usage: asan_gcm_records ROUNDS SEED. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"

static uint64_t rng_state;

static uint64_t rnd64(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}

static uint32_t rnd(uint32_t bound) { return bound ? (uint32_t)(rnd64() % bound) : 0; }

static uint8_t *fill(size_t n) {
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd(256);
    return p;
}

/* nonce = base + counter as 96-bit big-endian integers (the reference for vk_gcm_records_seal). */
static void add96(uint8_t nonce[12], const uint8_t base[12], uint64_t counter) {
    unsigned carry = 0;
    for (int i = 11; i >= 0; i--, counter >>= 8) {
        unsigned s = base[i] + (unsigned)(counter & 0xFF) + carry;
        nonce[i] = (uint8_t)s;
        carry = s >> 8;
    }
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 200;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) | 1 : 88172645463325252ull;
    int failures = 0;
    for (long r = 0; r < rounds; r++) {
        int alg = rnd(2) ? VK_CIPHER_SM4 : VK_CIPHER_AES;
        size_t kl = alg == VK_CIPHER_SM4 ? 16 : 32;
        uint8_t *key = fill(kl);
        vk_gcm *g = vk_gcm_new(alg, key, kl);
        free(key);
        if (g == NULL) continue; /* AES without AES-NI */
        size_t head_len = rnd(3) ? 58 : rnd(70), len = rnd(4) == 0 ? rnd(5000) : rnd(300);
        size_t ad_len = rnd(90), rec_len = head_len + 28 + len;
        uint8_t *head = fill(head_len), *base = fill(12), *data = fill(len), *ad = fill(ad_len);
        uint64_t counter = rnd(2) ? rnd64() : rnd(1000);
        base[0] = 0; /* base + counter < 2^96 */
        vk_gcm_records *recs = vk_gcm_records_new(g, head, head_len, base);
        if (recs == NULL) { failures++; printf("records_new\n"); break; }
        uint8_t *rec = malloc(rec_len), *back = malloc(len ? len : 1);
        vk_gcm_records_seal(recs, counter, data, len, ad, ad_len, rec);
        /* the reference: head || nonce || vk_gcm_seal(nonce, data, head || ad) */
        uint8_t nonce[12], *joined = malloc(head_len + ad_len + 1), *one = malloc(len + 16);
        add96(nonce, base, counter);
        memcpy(joined, head, head_len);
        memcpy(joined + head_len, ad, ad_len);
        vk_gcm_seal(g, nonce, data, len, joined, head_len + ad_len, one);
        if (memcmp(rec, head, head_len) || memcmp(rec + head_len, nonce, 12) ||
            memcmp(rec + head_len + 12, one, len + 16)) {
            failures++; printf("record != head || nonce || seal\n");
        }
        if (vk_gcm_records_open(recs, rec, rec_len, ad, ad_len, back) != 0 ||
            (len && memcmp(back, data, len))) {
            failures++; printf("open\n");
        }
        /* too short: refused before any write (back keeps its bytes) */
        size_t cut = rnd((uint32_t)(head_len + 28));
        uint8_t *short_rec = malloc(cut ? cut : 1);
        memcpy(short_rec, rec, cut);
        if (len) back[0] = 0xA5;
        if (vk_gcm_records_open(recs, short_rec, cut, ad, ad_len, back) != -2 ||
            (len && back[0] != 0xA5)) {
            failures++; printf("short record not refused\n");
        }
        rec[head_len + rnd((uint32_t)(rec_len - head_len))] ^= (uint8_t)(1u << rnd(8));
        if (vk_gcm_records_open(recs, rec, rec_len, ad, ad_len, back) != -1) {
            failures++; printf("corruption not caught\n");
        }
        for (size_t i = 0; i < len; i++)
            if (back[i] != 0) { failures++; printf("plaintext released\n"); break; }
        vk_gcm_records_free(recs);
        free(head); free(base); free(data); free(ad); free(rec); free(back); free(joined);
        free(one); free(short_rec);
        vk_gcm_free(g);
    }
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
