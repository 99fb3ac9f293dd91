/* Helpers for the constant-time harness programs tests/native/ctgrind/ct_*.c (the ctgrind
 * technique, Adam Langley 2010): secret bytes are marked undefined with memcheck client requests,
 * so valgrind reports every branch ("Conditional jump or move depends on uninitialised value")
 * and every memory index ("Use of uninitialised value") computed from them. Outputs are marked
 * defined again before they are compared or printed.
 *
 * Each program: ct_init(argc, argv); mark inputs with ct_secret; run; ct_public the outputs;
 * ct_expect known answers; return ct_exit(). With the argument --defined nothing is marked
 * secret: the same program then serves the plain memory-error run.
 * Build: cc -O1 -g -I native/include -I native/src (every native/src C file) ct_X.c
 */
#ifndef VK_CT_H
#define VK_CT_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#define CT_UNUSED __attribute__((unused))

static int ct_defined_mode;
static int ct_failures;

/* Reads the command line: --defined disables the secret marking. */
static CT_UNUSED void ct_init(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--defined") == 0) ct_defined_mode = 1;
}

/* Marks p[0..n) secret (undefined for memcheck). */
static CT_UNUSED void ct_secret(const void *p, size_t n) {
    if (!ct_defined_mode) (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}

/* Declares p[0..n) public (defined): outputs, before comparing or printing them. */
static CT_UNUSED void ct_public(const void *p, size_t n) { (void)VALGRIND_MAKE_MEM_DEFINED(p, n); }

/* Deterministic filler (xorshift32), so runs are reproducible. */
static CT_UNUSED void ct_fill(uint8_t *p, size_t n, uint32_t seed) {
    uint32_t x = seed | 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Parses hex into out (n bytes). */
static CT_UNUSED void ct_unhex(const char *hex, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* Compares got (made public first) with the hex string; counts and prints a mismatch. */
static CT_UNUSED void ct_expect(const char *what, const uint8_t *got, size_t n, const char *hex) {
    uint8_t want[4096];
    ct_public(got, n);
    ct_unhex(hex, want, n);
    if (memcmp(got, want, n) != 0) {
        ct_failures++;
        printf("MISMATCH %s\n", what);
    }
}

/* Compares two buffers (both made public). */
static CT_UNUSED void ct_same(const char *what, const uint8_t *a, const uint8_t *b, size_t n) {
    ct_public(a, n);
    ct_public(b, n);
    if (memcmp(a, b, n) != 0) {
        ct_failures++;
        printf("MISMATCH %s\n", what);
    }
}

/* Announces a checked path; the Python runner checks the expected paths were all run. */
static CT_UNUSED void ct_ran(const char *what) { printf("ran %s\n", what); }

static CT_UNUSED int ct_exit(void) {
    printf("%s\n", ct_failures ? "FAILED" : "OK");
    return ct_failures ? 1 : 0;
}

#endif
