/* Constant-time check of SM3 and HMAC-SM3 (native/src/sm3.c, hmac_sm3.c): single calls (portable
 * compression) and batches of 3 (portable) and 21 messages (SIMD lanes, refilled as messages of
 * mixed lengths finish; valgrind offers AVX2, not AVX-512). Keys and messages are secret; message
 * lengths are public. See ct.h; run under valgrind by tests/native/test_constant_time.py. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"
#include "ct.h"

/* GB/T 32905-2016 Annex A example 1. */
#define SM3_ABC "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
/* GM/T 0042-2015 Appendix D.3 (key 0x0b * 32, "Hi There"). */
#define HMAC_HI "c0ba18c68b90c88bc07de794bfc7d2c8d19ec31ed8773bc2b390c9604e0be11e"

enum { COUNT = 21 };
static const uint64_t LENS[COUNT] = {0,  1,   31, 32,  55, 56, 63, 64,  65,  119, 120,
                                     127, 128, 200, 3, 300, 64, 0, 512, 33, 57};

static void check_kats(void) {
    uint8_t msg[8], key[32], out[32];
    memcpy(msg, "abc", 3);
    ct_secret(msg, 3);
    vk_sm3_digest(msg, 3, out);
    ct_expect("sm3 abc", out, 32, SM3_ABC);
    memset(key, 0x0b, sizeof key);
    memcpy(msg, "Hi There", 8);
    ct_secret(key, sizeof key);
    ct_secret(msg, 8);
    vk_hmac_sm3 *h = vk_hmac_sm3_new(key, sizeof key);
    vk_hmac_sm3_digest(h, msg, 8, out);
    ct_expect("hmac-sm3 hi there", out, 32, HMAC_HI);
    vk_hmac_sm3_free(h);
    ct_ran("sm3 and hmac-sm3 single");
}

/* Batches agree with single calls, for a batch too small for lanes and one that uses them. */
static void check_batches(size_t key_len) {
    static uint8_t data[4096], key[100], many[COUNT * 32], one[32];
    size_t total = 0;
    for (int i = 0; i < COUNT; i++) total += LENS[i];
    ct_fill(data, total, 3);
    ct_fill(key, key_len, 4);
    ct_secret(data, total);
    ct_secret(key, key_len);
    vk_hmac_sm3 *h = vk_hmac_sm3_new(key, key_len);
    size_t counts[2] = {3, COUNT};
    for (int c = 0; c < 2; c++) {
        vk_sm3_digest_many(data, LENS, counts[c], many);
        size_t off = 0;
        for (size_t i = 0; i < counts[c]; i++) {
            vk_sm3_digest(data + off, LENS[i], one);
            ct_same("sm3 batch", many + 32 * i, one, 32);
            off += LENS[i];
        }
        vk_hmac_sm3_digest_many(h, data, LENS, counts[c], many);
        off = 0;
        for (size_t i = 0; i < counts[c]; i++) {
            vk_hmac_sm3_digest(h, data + off, LENS[i], one);
            ct_same("hmac-sm3 batch", many + 32 * i, one, 32);
            off += LENS[i];
        }
    }
    vk_hmac_sm3_free(h);
    printf("ran sm3 batches key %zu (%s)\n", key_len, vk_sm3_impl());
}

/* A batch of messages of one short length (blind-index rows: 8 at a time in lockstep on AVX2,
 * sm3_hmac_one_block_x8) and a remainder, against single calls. */
static void check_one_length(size_t len) {
    enum { ROWS = 19 };
    static uint8_t data[ROWS * 64], key[32], many[ROWS * 32], one[32];
    uint64_t lens[ROWS];
    for (int i = 0; i < ROWS; i++) lens[i] = len;
    ct_fill(data, ROWS * len, 5);
    ct_fill(key, sizeof key, 6);
    ct_secret(data, ROWS * len);
    ct_secret(key, sizeof key);
    vk_hmac_sm3 *h = vk_hmac_sm3_new(key, sizeof key);
    vk_hmac_sm3_digest_many(h, data, lens, ROWS, many);
    for (size_t i = 0; i < ROWS; i++) {
        vk_hmac_sm3_digest(h, data + i * len, len, one);
        ct_same("hmac-sm3 one-length batch", many + 32 * i, one, 32);
    }
    vk_hmac_sm3_free(h);
    printf("ran hmac-sm3 one-length batch %zu (%s)\n", len, vk_sm3_impl());
}

/* Flat batches (vk_hmac_sm3_flat): rows of one length `gap` bytes apart (AVX2: 8 at a time,
 * loaded straight from the buffer, the bytes past each row masked off; the last rows through a
 * copy since the buffer ends at the last row), truncated to 2 bytes with a mask, and offsets over
 * messages of mixed lengths; against single calls. Rows, gaps and key are secret. */
static void check_flat(size_t len, size_t gap) {
    enum { ROWS = 21 };
    static uint8_t buf[ROWS * 80], key[32], out[ROWS * 32], one[32];
    size_t stride = len + gap, buf_len = (ROWS - 1) * stride + len;
    ct_fill(buf, buf_len, 7);
    ct_fill(key, sizeof key, 8);
    ct_secret(buf, buf_len);
    ct_secret(key, sizeof key);
    vk_hmac_sm3 *h = vk_hmac_sm3_new(key, sizeof key);
    if (vk_hmac_sm3_flat(h, ROWS, buf, buf_len, NULL, stride, len, out, 2, 0xf0) != 0)
        ct_failures++, printf("MISMATCH hmac-sm3 flat rows rc\n");
    for (size_t i = 0; i < ROWS; i++) {
        vk_hmac_sm3_digest(h, buf + i * stride, len, one);
        one[1] &= 0xf0;
        ct_same("hmac-sm3 flat rows", out + 2 * i, one, 2);
    }
    uint64_t offs[ROWS + 1];
    offs[0] = 0;
    for (size_t i = 0; i < ROWS; i++) offs[i + 1] = offs[i] + LENS[i] % 70;
    ct_fill(buf, (size_t)offs[ROWS], 9);
    ct_secret(buf, (size_t)offs[ROWS]);
    if (vk_hmac_sm3_flat(h, ROWS, buf, (size_t)offs[ROWS], offs, 0, 0, out, 32, 0xff) != 0)
        ct_failures++, printf("MISMATCH hmac-sm3 flat offsets rc\n");
    for (size_t i = 0; i < ROWS; i++) {
        vk_hmac_sm3_digest(h, buf + offs[i], (size_t)(offs[i + 1] - offs[i]), one);
        ct_same("hmac-sm3 flat offsets", out + 32 * i, one, 32);
    }
    vk_hmac_sm3_free(h);
    printf("ran hmac-sm3 flat %zu+%zu (%s)\n", len, gap, vk_sm3_impl());
}

int main(int argc, char **argv) {
    ct_init(argc, argv);
    check_kats();
    check_one_length(0);
    check_one_length(19);
    check_one_length(55);
    check_flat(19, 1);
    check_flat(33, 0);
    check_flat(60, 3);
    check_batches(16);
    check_batches(100); /* longer than the block: hashed first */
    return ct_exit();
}
