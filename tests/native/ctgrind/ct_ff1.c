/* Constant-time check of FF1 (native/src/ff1.c) over SM4 and AES: the uint64 fast path (radix 10,
 * radix 1000 with two-byte numerals) and the multi-precision path (radix 10 with 50 numerals,
 * radix 36, radix 65536 with two-byte numerals), encryption and decryption, one value at a time
 * and in a mixed batch (full and partial lane groups of both paths). Key and numerals are
 * secret; the tweak, radix and lengths are public. See ct.h; run under valgrind by
 * tests/native/test_constant_time.py. Known answers come from the pure-Python reference
 * (vaultkit.hazmat.bindings._reference_ff1). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"
#include "ct.h"

#define KEY128 "2b7e151628aed2a6abf7158809cf4f3c"
#define KEY256 "2b7e151628aed2a6abf7158809cf4f3cef4359d8d580aa4f7f036d6f04fc6a94"
#define TWEAK "3737373770717273373737"

/* Numerals x % radix of a xorshift32 stream (seed | 1), one or two bytes (little-endian) each. */
static void numerals(uint8_t *out, size_t n, uint32_t radix, uint32_t seed) {
    uint32_t x = seed | 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        uint32_t d = x % radix;
        if (radix > 256) {
            out[2 * i] = (uint8_t)d;
            out[2 * i + 1] = (uint8_t)(d >> 8);
        } else {
            out[i] = (uint8_t)d;
        }
    }
}

static vk_ff1 *new_ff1(int alg, const char *key_hex, uint32_t radix) {
    uint8_t key[32];
    size_t len = strlen(key_hex) / 2;
    ct_unhex(key_hex, key, len);
    ct_secret(key, len);
    vk_ff1 *f = vk_ff1_new(alg, key, len, radix);
    vk_wipe(key, sizeof key);
    return f;
}

/* One value under the first tweak_len bytes of TWEAK (0: the empty tweak, whose CIPH_K(P)
 * vk_ff1_new caches): encrypt matches the known answer, decrypt gives the input back. */
static void check_tweak(const char *what, int alg, const char *key_hex, uint32_t radix,
                        uint32_t n, size_t tweak_len, const char *want_hex) {
    uint8_t tweak[11], in[2 * 64], out[2 * 64], back[2 * 64];
    size_t bytes = n * (radix > 256 ? 2 : 1);
    vk_ff1 *f = new_ff1(alg, key_hex, radix);
    if (!f) {
        printf("MISMATCH %s: vk_ff1_new failed\n", what);
        ct_failures++;
        return;
    }
    ct_unhex(TWEAK, tweak, sizeof tweak);
    numerals(in, n, radix, 5);
    ct_secret(in, bytes);
    if (vk_ff1_crypt(f, tweak, tweak_len, in, out, &n, 1, 0) != 0) ct_failures++;
    ct_secret(out, bytes);
    if (vk_ff1_crypt(f, tweak, tweak_len, out, back, &n, 1, 1) != 0) ct_failures++;
    ct_expect(what, out, bytes, want_hex);
    ct_same(what, in, back, bytes);
    vk_ff1_free(f);
    ct_ran(what);
}

static void check_one(const char *what, int alg, const char *key_hex, uint32_t radix, uint32_t n,
                      const char *want_hex) {
    check_tweak(what, alg, key_hex, radix, n, strlen(TWEAK) / 2, want_hex);
}

/* A batch of 100 values of lengths 16, 19, 6 (fast path: a group of 64 and one of 11, three
 * per-length contexts) and 50 (multi-precision path: a group of 16 and one of 9), in place;
 * each value must equal the same value encrypted alone. */
static void check_batch(const char *what, int alg, const char *key_hex) {
    enum { COUNT = 100 };
    static const uint32_t LENS[4] = {16, 19, 6, 50};
    uint32_t lens[COUNT];
    uint8_t buf[COUNT * 50], single[50], tweak[11];
    size_t total = 0;
    vk_ff1 *f = new_ff1(alg, key_hex, 10);
    if (!f) {
        printf("MISMATCH %s: vk_ff1_new failed\n", what);
        ct_failures++;
        return;
    }
    ct_unhex(TWEAK, tweak, sizeof tweak);
    for (int i = 0; i < COUNT; i++) {
        lens[i] = LENS[i % 4];
        total += lens[i];
    }
    numerals(buf, total, 10, 9);
    ct_secret(buf, total);
    uint8_t orig[COUNT * 50];
    memcpy(orig, buf, total);
    if (vk_ff1_crypt(f, tweak, sizeof tweak, buf, buf, lens, COUNT, 0) != 0) ct_failures++;
    size_t off = 0;
    for (int i = 0; i < COUNT; i++) {
        if (vk_ff1_crypt(f, tweak, sizeof tweak, orig + off, single, &lens[i], 1, 0) != 0)
            ct_failures++;
        ct_same(what, buf + off, single, lens[i]);
        off += lens[i];
    }
    ct_secret(buf, total);
    if (vk_ff1_crypt(f, tweak, sizeof tweak, buf, buf, lens, COUNT, 1) != 0) ct_failures++;
    ct_same(what, buf, orig, total);
    vk_ff1_free(f);
    ct_ran(what);
}

/* vk_ff1_crypt_digits (single calls on ASCII decimal digits): the radix-10 known answer above as
 * a number, decrypt back, and a non-digit refused without a branch on the digits. */
static void check_digits(const char *what, int alg, const char *key_hex, uint64_t want) {
    uint8_t tweak[11], num[16], digits[16];
    uint32_t n = 16;
    vk_ff1 *f = new_ff1(alg, key_hex, 10);
    if (!f) {
        printf("MISMATCH %s: vk_ff1_new failed\n", what);
        ct_failures++;
        return;
    }
    ct_unhex(TWEAK, tweak, sizeof tweak);
    numerals(num, n, 10, 5);
    uint64_t plain = 0;
    for (uint32_t i = 0; i < n; i++) {
        digits[i] = (uint8_t)('0' + num[i]);
        plain = plain * 10 + num[i];
    }
    ct_secret(digits, n);
    uint64_t got = vk_ff1_crypt_digits(f, tweak, sizeof tweak, digits, n, 0);
    ct_public(&got, sizeof got);
    if (got != want) {
        printf("MISMATCH %s: encrypt\n", what);
        ct_failures++;
    }
    for (uint32_t i = n; i-- > 0; got /= 10) digits[i] = (uint8_t)('0' + got % 10);
    ct_secret(digits, n);
    uint64_t back = vk_ff1_crypt_digits(f, tweak, sizeof tweak, digits, n, 1);
    ct_public(&back, sizeof back);
    if (back != plain) {
        printf("MISMATCH %s: decrypt\n", what);
        ct_failures++;
    }
    digits[7] = 'x';
    ct_secret(digits, n);
    uint64_t refused = vk_ff1_crypt_digits(f, tweak, sizeof tweak, digits, n, 0);
    ct_public(&refused, sizeof refused);
    if (refused != VK_FF1_NOT_DIGITS) {
        printf("MISMATCH %s: a non-digit was taken\n", what);
        ct_failures++;
    }
    vk_ff1_free(f);
    ct_ran(what);
}

int main(int argc, char **argv) {
    ct_init(argc, argv);
    check_digits("ff1 sm4 digits", VK_CIPHER_SM4, KEY128, 5784005766776387u);
    check_one("ff1 sm4 fast radix 10", VK_CIPHER_SM4, KEY128, 10, 16,
              "05070804000005070606070706030807");
    check_tweak("ff1 sm4 fast radix 10, empty tweak", VK_CIPHER_SM4, KEY128, 10, 16, 0,
                "01090100030601010402070103080606");
    check_one("ff1 sm4 fast radix 1000", VK_CIPHER_SM4, KEY128, 1000, 8,
              "db01d702e6035c020d0317004e028500");
    check_one("ff1 sm4 general radix 10", VK_CIPHER_SM4, KEY128, 10, 50,
              "0204030105020303020701000900020809070603090601090708090703090108070506030006010403"
              "080906080605030305");
    check_one("ff1 sm4 general radix 36", VK_CIPHER_SM4, KEY128, 36, 40,
              "2301001a1b1311171a060e171c000119141021071515030b1419090b061f04021c171a0a060c0b1e");
    check_one("ff1 sm4 general radix 65536", VK_CIPHER_SM4, KEY128, 65536, 9,
              "d075f1c6c1aaf4d5e44851f9d8ac1e8832a1");
    check_batch("ff1 sm4 batch", VK_CIPHER_SM4, KEY128);
    if (vk_cpu_usable() & VK_CPU_AESNI) { /* AES needs AES-NI (mask 0: SM4 only) */
        check_one("ff1 aes fast radix 10", VK_CIPHER_AES, KEY256, 10, 16,
                  "00010909000806050403000006070001");
        check_tweak("ff1 aes fast radix 10, empty tweak", VK_CIPHER_AES, KEY256, 10, 16, 0,
                    "02040408030406070003010806000804");
        check_one("ff1 aes general radix 10", VK_CIPHER_AES, KEY256, 10, 50,
                  "090004070708020603000207010402030708090301050009020407020404060706010002070709"
                  "0707000303070408040806");
        check_one("ff1 aes general radix 65536", VK_CIPHER_AES, KEY256, 65536, 9,
                  "0625c25b2247506e2f601d9b0569cc20b422");
        check_batch("ff1 aes batch", VK_CIPHER_AES, KEY256);
        check_digits("ff1 aes digits", VK_CIPHER_AES, KEY256, 199086543006701u);
    }
    return ct_exit();
}
