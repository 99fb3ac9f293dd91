/* Constant-time check of the cipher area (SM4 on every CPU path this machine and valgrind offer,
 * AES-NI, GHASH portable and PCLMULQDQ, GCM seal/open single and batch including the tag check).
 * Key, data and associated data are secret; see ct.h. Run under valgrind by
 * tests/native/test_constant_time.py, once per VAULTKIT_CPU_MASK it chooses. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"
#include "ct.h"

#define SM4_KEY "0123456789abcdeffedcba9876543210"
#define SM4_CT "681edf34d206965e86b3e94f536e4246" /* GB/T 32907-2016 Appendix A example 1 */

static const struct {
    const char *name;
    vk_blocks_fn *fn;
    uint32_t need;
} SM4_PATHS[] = {
    {"portable-ct", vk_sm4_blocks_portable, 0},
    {"aesni", vk_sm4_blocks_aesni, VK_CPU_AESNI | VK_CPU_SSSE3},
    {"aesni-avx2", vk_sm4_blocks_avx2, VK_CPU_AESNI | VK_CPU_SSSE3 | VK_CPU_AVX2},
    {"vaes-avx2", vk_sm4_blocks_vaes, VK_CPU_AESNI | VK_CPU_SSSE3 | VK_CPU_AVX2 | VK_CPU_VAES},
    {"gfni-avx2", vk_sm4_blocks_gfni, VK_CPU_AESNI | VK_CPU_SSSE3 | VK_CPU_AVX2 | VK_CPU_GFNI},
    {"gfni-avx512", vk_sm4_blocks_gfni_avx512,
     VK_CPU_AESNI | VK_CPU_SSSE3 | VK_CPU_AVX2 | VK_CPU_GFNI | VK_CPU_AVX512},
};

/* SM4 key schedule and every available block path, for block counts covering each tail. */
static void check_sm4(uint32_t features) {
    static const size_t COUNTS[] = {1, 3, 4, 8, 9, 16, 21, 40};
    uint8_t key[16], in[16 * 40], out[16 * 40];
    uint32_t rk[32], rev[32];
    ct_unhex(SM4_KEY, key, 16);
    ct_secret(key, sizeof key);
    vk_sm4_expand_key(key, rk);
    for (int i = 0; i < 32; i++) rev[i] = rk[31 - i];
    /* the key schedule through each vector tau equals the portable one */
    static const struct { const char *name; vk_sm4_tau_fn *tau; uint32_t need; } TAUS[] = {
        {"aesni", vk_sm4_tau_aesni, VK_CPU_AESNI | VK_CPU_SSSE3},
        {"gfni", vk_sm4_tau_gfni, VK_CPU_GFNI | VK_CPU_AVX2},
    };
    for (size_t t = 0; t < sizeof TAUS / sizeof TAUS[0]; t++) {
        if ((features & TAUS[t].need) != TAUS[t].need) continue;
        uint32_t other[32];
        vk_sm4_expand_key_with(key, other, TAUS[t].tau);
        ct_same("sm4 key schedule", (const uint8_t *)other, (const uint8_t *)rk, sizeof rk);
        ct_secret(rk, sizeof rk); /* ct_same made it public */
        for (int i = 0; i < 32; i++) rev[i] = rk[31 - i];
        printf("ran sm4 key schedule %s\n", TAUS[t].name);
    }
    for (size_t p = 0; p < sizeof SM4_PATHS / sizeof SM4_PATHS[0]; p++) {
        if ((features & SM4_PATHS[p].need) != SM4_PATHS[p].need) continue;
        for (size_t c = 0; c < sizeof COUNTS / sizeof COUNTS[0]; c++) {
            size_t n = COUNTS[c];
            for (size_t b = 0; b < n; b++) ct_unhex(SM4_KEY, in + 16 * b, 16);
            ct_secret(in, 16 * n);
            SM4_PATHS[p].fn(rk, in, out, n);
            for (size_t b = 0; b < n; b++) ct_expect(SM4_PATHS[p].name, out + 16 * b, 16, SM4_CT);
            ct_secret(out, 16 * n);
            SM4_PATHS[p].fn(rev, out, out, n); /* decryption, in place */
            for (size_t b = 0; b < n; b++) ct_expect(SM4_PATHS[p].name, out + 16 * b, 16, SM4_KEY);
        }
        printf("ran sm4 %s\n", SM4_PATHS[p].name);
    }
}

/* GHASH: the portable and PCLMULQDQ paths agree on secret H and data (odd block counts). */
static void check_ghash(uint32_t features) {
    uint8_t h[16], data[16 * 21];
    vk_ghash_key k;
    ct_fill(h, sizeof h, 7);
    ct_fill(data, sizeof data, 8);
    ct_secret(h, sizeof h);
    ct_secret(data, sizeof data);
    static const size_t COUNTS[] = {1, 7, 8, 21};
    for (size_t c = 0; c < 4; c++) {
        uint8_t y1[16] = {0}, y2[16] = {0};
        vk_ghash_init(&k, h);
        vk_ghash_blocks_portable(&k, y1, data, COUNTS[c]);
        if ((features & (VK_CPU_PCLMUL | VK_CPU_SSSE3)) == (VK_CPU_PCLMUL | VK_CPU_SSSE3)) {
            vk_ghash_init_clmul(&k, h);
            vk_ghash_blocks_clmul(&k, y2, data, COUNTS[c]);
            ct_same("ghash pclmul vs portable", y1, y2, 16);
        }
    }
    ct_ran("ghash portable-ct");
    if ((features & (VK_CPU_PCLMUL | VK_CPU_SSSE3)) == (VK_CPU_PCLMUL | VK_CPU_SSSE3))
        ct_ran("ghash pclmul");
}

/* GCM over the paths vk_gcm_new selects (VAULTKIT_CPU_MASK): RFC 8998 A.1 (SM4-GCM) or a
 * cryptography-computed AES-256-GCM answer; open, tag check, tag flip, batch calls. */
static void check_gcm(int algorithm, const char *keyhex, size_t key_len, const char *want) {
    static const char *IV = "00001234567800000000abcd", *AD = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    static const char *PT = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
                            "eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa";
    uint8_t key[32], iv[12], ad[20], pt[64], sealed[80], opened[64], zero[64] = {0};
    ct_unhex(keyhex, key, key_len);
    ct_unhex(IV, iv, 12);
    ct_unhex(AD, ad, 20);
    ct_unhex(PT, pt, 64);
    ct_secret(key, key_len);
    vk_gcm *g = vk_gcm_new(algorithm, key, key_len);
    if (g == NULL) {
        printf("gcm %s unavailable (no AES-NI)\n", algorithm == VK_CIPHER_SM4 ? "sm4" : "aes");
        return;
    }
    ct_secret(pt, sizeof pt);
    ct_secret(ad, sizeof ad);
    vk_gcm_seal(g, iv, pt, 64, ad, 20, sealed);
    ct_expect("gcm seal", sealed, 80, want);

    ct_secret(sealed, sizeof sealed); /* the tag check must not branch on the computed tag */
    int rc = vk_gcm_open(g, iv, sealed, 80, ad, 20, opened);
    ct_public(&rc, sizeof rc);
    if (rc != 0) { ct_failures++; printf("MISMATCH gcm open rc\n"); }
    ct_expect("gcm open", opened, 64, PT);

    ct_public(sealed, sizeof sealed);
    sealed[70] ^= 1; /* flip a tag bit */
    ct_secret(sealed, sizeof sealed);
    rc = vk_gcm_open(g, iv, sealed, 80, ad, 20, opened);
    ct_public(&rc, sizeof rc);
    if (rc != -1) { ct_failures++; printf("MISMATCH gcm open accepted a bad tag\n"); }
    ct_same("gcm open zeroes on failure", opened, zero, 64);

    /* batch: three messages (64, 0 and 17 bytes), per-message and shared AD */
    uint8_t nonces[36], data[81], out[81 + 48], back[81];
    uint32_t lens[3] = {64, 0, 17}, ad_lens[3] = {20, 0, 5}, sealed_lens[3] = {80, 16, 33};
    uint8_t ok[3];
    for (int i = 0; i < 3; i++) memcpy(nonces + 12 * i, iv, 12);
    ct_public(pt, sizeof pt);
    memcpy(data, pt, 64);
    ct_fill(data + 64, 17, 9);
    ct_secret(data, sizeof data);
    for (int shared = 0; shared < 2; shared++) {
        const uint32_t *al = shared ? NULL : ad_lens;
        vk_gcm_seal_many(g, 3, nonces, data, lens, ad, al, 20, out);
        ct_public(out, sizeof out);
        if (!shared) ct_expect("gcm seal_many", out, 80, want);
        ct_secret(out, sizeof out);
        size_t failures = vk_gcm_open_many(g, 3, nonces, out, sealed_lens, ad, al, 20, back, ok);
        ct_public(&failures, sizeof failures);
        ct_public(ok, sizeof ok);
        if (failures != 0 || !ok[0] || !ok[1] || !ok[2]) { ct_failures++; printf("MISMATCH open_many\n"); }
        ct_same("gcm open_many", back, data, sizeof back);
        ct_public(out, sizeof out);
        out[80 + 16 + 20] ^= 0x80; /* corrupt message 2's ciphertext */
        ct_secret(out, sizeof out);
        failures = vk_gcm_open_many(g, 3, nonces, out, sealed_lens, ad, al, 20, back, ok);
        ct_public(&failures, sizeof failures);
        ct_public(ok, sizeof ok);
        if (failures != 1 || !ok[0] || !ok[1] || ok[2]) { ct_failures++; printf("MISMATCH open_many bad\n"); }
        ct_same("gcm open_many zeroes", back + 64, zero, 17);
    }
    vk_gcm_free(g);
    printf("ran gcm %s ghash=%s\n", algorithm == VK_CIPHER_SM4 ? "sm4" : "aes", vk_ghash_impl());
}

/* AES-128/192/256 with AES-NI (FIPS 197 Appendix C) on 9 blocks (8-lane group and tail). */
static void check_aes(void) {
    static const char *KEYS[3] = {
        "000102030405060708090a0b0c0d0e0f", "000102030405060708090a0b0c0d0e0f1011121314151617",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"};
    static const char *CTS[3] = {"69c4e0d86a7b0430d8cdb78070b4c55a", "dda97ca4864cdfe06eaf70a0ec0d7191",
                                 "8ea2b7ca516745bfeafc49904b496089"};
    static const char *PT = "00112233445566778899aabbccddeeff";
    for (int i = 0; i < 3; i++) {
        uint8_t key[32], blocks[16 * 9];
        size_t kl = 16 + 8 * (size_t)i;
        ct_unhex(KEYS[i], key, kl);
        ct_secret(key, kl);
        vk_cipher *c = vk_cipher_new(VK_CIPHER_AES, key, kl);
        if (c == NULL) { printf("aes unavailable (no AES-NI)\n"); return; }
        for (int b = 0; b < 9; b++) ct_unhex(PT, blocks + 16 * b, 16);
        ct_secret(blocks, sizeof blocks);
        vk_cipher_encrypt_blocks(c, blocks, blocks, 9);
        for (int b = 0; b < 9; b++) ct_expect("aes encrypt", blocks + 16 * b, 16, CTS[i]);
        ct_secret(blocks, sizeof blocks);
        vk_cipher_decrypt_blocks(c, blocks, blocks, 9);
        for (int b = 0; b < 9; b++) ct_expect("aes decrypt", blocks + 16 * b, 16, PT);
        vk_cipher_free(c);
    }
    ct_ran("aes aesni");
}

int main(int argc, char **argv) {
    ct_init(argc, argv);
    uint32_t features = vk_cpu_features();
    printf("sm4 selected %s\n", vk_sm4_impl());
    check_sm4(features);
    check_ghash(features);
    check_gcm(VK_CIPHER_SM4, SM4_KEY, 16,
              "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
              "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
              "83de3541e4c2b58177e065a9bf7b62ec");
    check_gcm(VK_CIPHER_AES, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 32,
              "48f554a2c2239db57cd24360978ba19bb04d1a605a8409aae44b883054443d7a"
              "c7ca66be3a14e7c1e324aca183778533c46d1bd62bb7ad184f21b13087f6d04a"
              "8a2b1a459533532a84290509d93db7e9");
    check_aes();
    return ct_exit();
}
