/* Negative control for the constant-time harness: a deliberately LEAKY SM4 S-box (a 256-entry table
 * indexed by secret bytes, as OpenSSL's generic SM4 does). It is compiled only into this test
 * program, never into the module; tests/native/test_constant_time.py requires valgrind to flag it
 * ("Use of uninitialised value"), proving the harness detects secret-dependent memory indexes. */
#include <stdint.h>
#include <stdio.h>

#include "ct.h"

static uint8_t table_sbox(uint8_t x) {
    static uint8_t table[256];
    static int ready;
    if (!ready) { /* any table will do: the leak is the secret index, not the values */
        for (int i = 0; i < 256; i++) table[i] = (uint8_t)(i * 7 + 0xd6);
        ready = 1;
    }
    return table[x]; /* secret-dependent memory index */
}

int main(int argc, char **argv) {
    ct_init(argc, argv);
    uint8_t key[16], out[16];
    ct_fill(key, sizeof key, 3);
    ct_secret(key, sizeof key);
    for (int i = 0; i < 16; i++) out[i] = table_sbox(key[i]);
    ct_public(out, sizeof out);
    printf("%02x\n", out[0]);
    return 0;
}
