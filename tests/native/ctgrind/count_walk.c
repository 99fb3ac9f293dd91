/* Counts the FF1 work of card cycle walking (tests/native/test_token_native.py): built with
 * -DVK_TEST_COUNTERS against native/src. Usage: count_walk KEY_HEX TWEAK_HEX < rows, one
 * 16-digit card per line (Luhn valid). Runs vk_token_card over all rows at once (BIN 6 and last 4
 * kept: 6 middle digits, cycle-walked) with FF1-SM4 and prints the counters, then the tokens. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"

extern uint64_t vk_test_walk_values, vk_test_walk_calls, vk_test_walk_short_calls;

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
    size_t n = strlen(s) / 2;
    if (n > cap) return (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return (size_t)-1;
        out[i] = (uint8_t)v;
    }
    return n;
}

int main(int argc, char **argv) {
    uint8_t key[16], tweak[256];
    if (argc != 3 || unhex(argv[1], key, 16) != 16) return 2;
    size_t tweak_len = unhex(argv[2], tweak, sizeof tweak);
    if (tweak_len == (size_t)-1) return 2;
    size_t cap = 1024, rows = 0;
    uint8_t *buf = malloc(cap * 16);
    char line[64];
    while (buf && fgets(line, sizeof line, stdin)) {
        if (strlen(line) < 16) continue;
        if (rows == cap) buf = realloc(buf, (cap *= 2) * 16);
        if (buf) memcpy(buf + 16 * rows++, line, 16);
    }
    vk_ff1 *f = vk_ff1_new(VK_CIPHER_SM4, key, 16, 10);
    if (!buf || !f) return 3;
    int64_t rc = vk_token_card(f, tweak, tweak_len, buf, rows, 16, 16, 6, 4, 0, 0);
    if (rc) return 4;
    printf("values %llu calls %llu short %llu\n", (unsigned long long)vk_test_walk_values,
           (unsigned long long)vk_test_walk_calls, (unsigned long long)vk_test_walk_short_calls);
    for (size_t i = 0; i < rows; i++) printf("%.16s\n", (const char *)(buf + 16 * i));
    vk_ff1_free(f);
    free(buf);
    return 0;
}
