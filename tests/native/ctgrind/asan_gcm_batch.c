/* Memory-safety fuzz of the GCM batch entry points under AddressSanitizer + UBSan (compiled by
 * tests/native/test_cipher_native.py with -fsanitize=address,undefined). Every buffer is a heap
 * allocation of exactly the documented size, so any read or write past it is reported. Checks
 * seal_many against single seals, open_many round trips, and that a corrupted message fails
 * alone with zeroed output. Usage: asan_gcm_batch ROUNDS SEED. */
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
