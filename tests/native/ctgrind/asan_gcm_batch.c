/* Memory-safety fuzz of the GCM batch entry points under AddressSanitizer + UBSan (compiled by
 * tests/native/test_cipher_native.py with -fsanitize=address,undefined). Every buffer is a heap
 * allocation of exactly the documented size, so any read or write past it is reported. Checks
 * seal_many against single seals, open_many round trips, and that a corrupted message fails
 * alone with zeroed output; then the flat entry points on the same batch (records at offsets,
 * a random head, exact-size outputs): seal_flat equals head || nonce || seal_many's message,
 * open_flat gives the plaintexts back, and bad offsets are refused (-1) before any access.
 * Usage: asan_gcm_batch ROUNDS SEED. */
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

static uint8_t *fill(size_t n) {
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd(256);
    return p;
}

/* The flat calls on a batch whose seal_many output is `sealed`; returns the failures. */
static int check_flat(const vk_gcm *g, size_t count, const uint32_t *lens, const uint8_t *nonces,
                      const uint8_t *data, size_t total, const uint8_t *sealed, const uint8_t *ads,
                      const uint32_t *ad_lens, size_t ads_len) {
    int failures = 0;
    size_t head_len = rnd(70), lead = rnd(5); /* records start `lead` bytes into the buffer */
    uint8_t *head = fill(head_len);
    uint64_t *offs = malloc(8 * (count + 1)), *ad_offs = malloc(8 * (count + 1));
    uint64_t *out_offs = malloc(8 * (count + 1)), *rec_offs = malloc(8 * (count + 1));
    offs[0] = lead; ad_offs[0] = 0;
    for (size_t i = 0; i < count; i++) {
        offs[i + 1] = offs[i] + lens[i];
        ad_offs[i + 1] = ad_offs[i] + (ad_lens ? ad_lens[i] : 0);
    }
    uint8_t *in = malloc(lead + total + 1);
    memcpy(in + lead, data, total);
    size_t rec_total = total + count * (head_len + 28);
    uint8_t *recs = malloc(rec_total ? rec_total : 1);
    int64_t rc = vk_gcm_seal_flat(g, count, nonces, in, lead + total, offs, head, head_len, ads,
                                  ads_len, ad_lens ? ad_offs : NULL, recs, out_offs);
    if (rc != 0 || out_offs[count] != rec_total) { failures++; printf("seal_flat rc\n"); }
    size_t soff = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const uint8_t *r = recs + out_offs[i];
        if (memcmp(r, head, head_len) || memcmp(r + head_len, nonces + 12 * i, 12) ||
            memcmp(r + head_len + 12, sealed + soff, lens[i] + 16)) {
            failures++; printf("seal_flat record\n"); break;
        }
        soff += lens[i] + 16;
    }
    for (size_t i = 0; i <= count; i++) rec_offs[i] = out_offs[i];
    uint8_t *back = malloc(total ? total : 1), *ok = malloc(count);
    rc = vk_gcm_open_flat(g, count, recs, rec_total, rec_offs, head_len, ads, ads_len,
                          ad_lens ? ad_offs : NULL, back, out_offs, ok);
    if (rc != 0 || out_offs[count] != total || (total && memcmp(back, data, total))) {
        failures++; printf("open_flat\n");
    }
    /* refused before any access: decreasing, past the end, a record too short for skip + 28 */
    if (count > 1) {
        uint64_t keep = rec_offs[1];
        rec_offs[1] = rec_offs[2] + 1;
        if (vk_gcm_open_flat(g, count, recs, rec_total, rec_offs, head_len, ads, ads_len,
                             ad_lens ? ad_offs : NULL, back, out_offs, ok) != -1) {
            failures++; printf("decreasing offsets accepted\n");
        }
        rec_offs[1] = keep;
    }
    rec_offs[count] += 1;
    if (vk_gcm_open_flat(g, count, recs, rec_total, rec_offs, head_len, ads, ads_len,
                         ad_lens ? ad_offs : NULL, back, out_offs, ok) != -1) {
        failures++; printf("offsets past the end accepted\n");
    }
    rec_offs[count] -= 1;
    size_t longest = 0; /* skip past the longest message: every record is too short */
    for (size_t i = 0; i < count; i++) longest = lens[i] > longest ? lens[i] : longest;
    if (vk_gcm_open_flat(g, count, recs, rec_total, rec_offs, head_len + 1 + longest, ads,
                         ads_len, ad_lens ? ad_offs : NULL, back, out_offs, ok) != -1) {
        failures++; printf("short records accepted\n");
    }
    free(head); free(offs); free(ad_offs); free(out_offs); free(rec_offs); free(in); free(recs);
    free(back); free(ok);
    return failures;
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 200;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) | 1 : 88172645463325252ull;
    int failures = 0;
    for (long r = 0; r < rounds; r++) {
        int alg = rnd(2) ? VK_CIPHER_SM4 : VK_CIPHER_AES;
        size_t kl = alg == VK_CIPHER_SM4 ? 16 : 16 + 8 * rnd(3);
        uint8_t *key = fill(kl);
        vk_gcm *g = vk_gcm_new(alg, key, kl);
        free(key);
        if (g == NULL) continue; /* AES without AES-NI */
        size_t count = 1 + rnd(rnd(2) ? 8 : 400), total = 0, ad_total = 0;
        int shared = rnd(3) == 0;
        uint32_t *lens = malloc(4 * count), *ad_lens = malloc(4 * count), *sealed_lens = malloc(4 * count);
        for (size_t i = 0; i < count; i++) {
            lens[i] = rnd(4) == 0 ? rnd(6000) : rnd(80);
            ad_lens[i] = rnd(40);
            sealed_lens[i] = lens[i] + 16;
            total += lens[i];
            ad_total += ad_lens[i];
        }
        size_t shared_len = rnd(40);
        uint8_t *nonces = fill(12 * count), *data = fill(total);
        uint8_t *ads = fill(shared ? shared_len : ad_total);
        uint8_t *sealed = malloc(total + 16 * count), *back = malloc(total ? total : 1);
        uint8_t *ok = malloc(count);
        vk_gcm_seal_many(g, count, nonces, data, lens, ads, shared ? NULL : ad_lens, shared_len, sealed);
        /* each message equals its single seal */
        size_t off = 0, soff = 0, aoff = 0;
        for (size_t i = 0; i < count; i++) {
            size_t al = shared ? shared_len : ad_lens[i];
            uint8_t *one = malloc(lens[i] + 16);
            vk_gcm_seal(g, nonces + 12 * i, data + off, lens[i], ads + (shared ? 0 : aoff), al, one);
            if (memcmp(one, sealed + soff, lens[i] + 16) != 0) { failures++; printf("seal_many != seal\n"); }
            free(one);
            off += lens[i]; soff += lens[i] + 16; aoff += shared ? 0 : ad_lens[i];
        }
        size_t bad = vk_gcm_open_many(g, count, nonces, sealed, sealed_lens, ads, shared ? NULL : ad_lens,
                                      shared_len, back, ok);
        if (bad != 0 || (total && memcmp(back, data, total) != 0)) { failures++; printf("open_many\n"); }
        failures += check_flat(g, count, lens, nonces, data, total, sealed, ads,
                               shared ? NULL : ad_lens, shared ? shared_len : ad_total);
        size_t victim = rnd((uint32_t)count), voff = 0, poff = 0;
        for (size_t i = 0; i < victim; i++) { voff += lens[i] + 16; poff += lens[i]; }
        sealed[voff + rnd(lens[victim] + 16)] ^= (uint8_t)(1u << rnd(8));
        bad = vk_gcm_open_many(g, count, nonces, sealed, sealed_lens, ads, shared ? NULL : ad_lens,
                               shared_len, back, ok);
        if (bad != 1 || ok[victim] != 0) { failures++; printf("corruption not caught\n"); }
        for (size_t i = 0; i < lens[victim]; i++)
            if (back[poff + i] != 0) { failures++; printf("plaintext released\n"); break; }
        free(lens); free(ad_lens); free(sealed_lens); free(nonces); free(data); free(ads);
        free(sealed); free(back); free(ok);
        vk_gcm_free(g);
    }
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
