/* Line-driven harness over the native core's C API, for running it on another architecture
 * (tests/native/test_aarch64.py cross-compiles it with the native/src C files and runs it under qemu).
 * Reads one command per line on stdin, writes one result line per command on stdout. Byte
 * strings are lower-case hex, "-" for empty; lists of lengths are comma-separated decimals.
 *
 *   impl                                     -> "sm4=<name> ghash=<name> sm3=<name> aes=<ce|none>"
 *   ecb ALG KEY enc|dec DATA                 -> DATA enciphered / deciphered (ECB), or "none"
 *   ecb_iter ALG KEY N BLOCK                 -> BLOCK enciphered N times in a row, or "none"
 *   seal ALG KEY NONCE AD PT                 -> ciphertext || tag, or "none"
 *   open ALG KEY NONCE AD CT                 -> plaintext, or "fail" / "none"
 *   seal_many ALG KEY NONCES LENS ADLENS DATA ADS     (ADLENS "shared" = one AD for all)
 *   open_many ALG KEY NONCES LENS ADLENS DATA ADS     -> "OUT OKS" (OKS like "1101")
 *   sm3 DATA | sm3_many LENS DATA | hmac KEY DATA | hmac_many KEY LENS DATA -> digest(s)
 *   hmac_flat KEY LENS SIZE MASK DATA        -> vk_hmac_sm3_flat, offsets from LENS: SIZE bytes
 *   hmac_rows KEY COUNT STRIDE WIDTH SIZE MASK DATA      per message (rows form: offs NULL)
 *   ff1 ALG KEY RADIX TWEAK enc|dec LENS NUMERALS     -> numerals (1 or 2 bytes LE each), or "err"
 * ALG is SM4 or AES. Exits 2 on a malformed line. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"

static void die(const char *why) {
    fprintf(stderr, "harness: %s\n", why);
    exit(2);
}

static uint8_t *unhex(const char *s, size_t *n) {
    if (!s) die("missing field");
    if (strcmp(s, "-") == 0) {
        *n = 0;
        return calloc(1, 1);
    }
    size_t len = strlen(s);
    if (len % 2) die("odd hex");
    uint8_t *out = malloc(len / 2 + 1);
    if (!out) die("oom");
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) die("bad hex");
        out[i] = (uint8_t)v;
    }
    *n = len / 2;
    return out;
}

static void puthex(const uint8_t *p, size_t n) {
    if (n == 0) fputs("-", stdout);
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static size_t parse_lens(const char *s, uint64_t *out, size_t max) {
    if (!s) die("missing lengths");
    if (strcmp(s, "-") == 0) return 0;
    size_t n = 0;
    char *end;
    for (const char *p = s; *p; p = end) {
        if (n == max) die("too many lengths");
        out[n++] = strtoull(p, &end, 10);
        if (*end == ',') end++;
        else if (*end) die("bad lengths");
    }
    return n;
}

static int alg(const char *s) {
    if (s && strcmp(s, "SM4") == 0) return VK_CIPHER_SM4;
    if (s && strcmp(s, "AES") == 0) return VK_CIPHER_AES;
    die("bad algorithm");
    return 0;
}

#define MAXN 4096
static uint64_t L64[MAXN], A64[MAXN];
static uint32_t L32[MAXN], A32[MAXN];

static void gcm_many(int opening, char **tok) {
    size_t klen, nn, dlen, alen;
    uint8_t *key = unhex(tok[2], &klen), *nonces = unhex(tok[3], &nn);
    size_t count = parse_lens(tok[4], L64, MAXN);
    int shared = tok[5] && strcmp(tok[5], "shared") == 0;
    if (!shared && parse_lens(tok[5], A64, MAXN) != count) die("ad count");
    uint8_t *data = unhex(tok[6], &dlen), *ads = unhex(tok[7], &alen);
    for (size_t i = 0; i < count; i++) {
        L32[i] = (uint32_t)L64[i];
        A32[i] = (uint32_t)A64[i];
    }
    vk_gcm *g = vk_gcm_new(alg(tok[1]), key, klen);
    if (!g) {
        puts("none");
    } else if (!opening) {
        uint8_t *out = malloc(dlen + 16 * count + 1);
        vk_gcm_seal_many(g, count, nonces, data, L32, ads, shared ? NULL : A32, alen, out);
        puthex(out, dlen + 16 * count);
        putchar('\n');
        free(out);
    } else {
        uint8_t *out = malloc(dlen + 1), ok[MAXN];
        size_t olen = 0;
        for (size_t i = 0; i < count; i++) olen += L32[i] >= 16 ? L32[i] - 16 : 0;
        vk_gcm_open_many(g, count, nonces, data, L32, ads, shared ? NULL : A32, alen, out, ok);
        puthex(out, olen);
        putchar(' ');
        for (size_t i = 0; i < count; i++) putchar(ok[i] ? '1' : '0');
        if (!count) putchar('-');
        putchar('\n');
        free(out);
    }
    vk_gcm_free(g);
    free(key); free(nonces); free(data); free(ads);
}

static void run(char **tok) {
    const char *cmd = tok[0];
    size_t a, b, c, d;
    if (strcmp(cmd, "impl") == 0) {
        uint8_t k[16] = {0};
        vk_cipher *aes = vk_cipher_new(VK_CIPHER_AES, k, 16);
        printf("sm4=%s ghash=%s sm3=%s aes=%s\n", vk_sm4_impl(), vk_ghash_impl(), vk_sm3_impl(),
               aes ? "ce" : "none");
        vk_cipher_free(aes);
    } else if (strcmp(cmd, "ecb") == 0) {
        uint8_t *key = unhex(tok[2], &a), *data = unhex(tok[4], &b);
        vk_cipher *ci = vk_cipher_new(alg(tok[1]), key, a);
        if (!ci) {
            puts("none");
        } else {
            if (tok[3] && strcmp(tok[3], "dec") == 0)
                vk_cipher_decrypt_blocks(ci, data, data, b / 16);
            else
                vk_cipher_encrypt_blocks(ci, data, data, b / 16);
            puthex(data, b);
            putchar('\n');
        }
        vk_cipher_free(ci);
        free(key); free(data);
    } else if (strcmp(cmd, "ecb_iter") == 0) {
        uint8_t *key = unhex(tok[2], &a), *data = unhex(tok[4], &b);
        unsigned long n = strtoul(tok[3] ? tok[3] : "0", NULL, 10);
        vk_cipher *ci = b == 16 ? vk_cipher_new(alg(tok[1]), key, a) : NULL;
        if (!ci) {
            puts("none");
        } else {
            for (unsigned long i = 0; i < n; i++) vk_cipher_encrypt_blocks(ci, data, data, 1);
            puthex(data, 16);
            putchar('\n');
        }
        vk_cipher_free(ci);
        free(key); free(data);
    } else if (strcmp(cmd, "seal") == 0 || strcmp(cmd, "open") == 0) {
        uint8_t *key = unhex(tok[2], &a), *nonce = unhex(tok[3], &b), *ad = unhex(tok[4], &c),
                *msg = unhex(tok[5], &d);
        vk_gcm *g = b == 12 ? vk_gcm_new(alg(tok[1]), key, a) : NULL;
        uint8_t *out = malloc(d + 17);
        if (!g) {
            puts("none");
        } else if (cmd[0] == 's') {
            vk_gcm_seal(g, nonce, msg, d, ad, c, out);
            puthex(out, d + 16);
            putchar('\n');
        } else if (d < 16 || vk_gcm_open(g, nonce, msg, d, ad, c, out) != 0) {
            puts("fail");
        } else {
            puthex(out, d - 16);
            putchar('\n');
        }
        vk_gcm_free(g);
        free(key); free(nonce); free(ad); free(msg); free(out);
    } else if (strcmp(cmd, "seal_many") == 0 || strcmp(cmd, "open_many") == 0) {
        gcm_many(cmd[0] == 'o', tok);
    } else if (strcmp(cmd, "sm3") == 0 || strcmp(cmd, "hmac") == 0) {
        int hm = cmd[0] == 'h';
        uint8_t *key = hm ? unhex(tok[1], &a) : NULL, *data = unhex(tok[hm ? 2 : 1], &b), out[32];
        if (hm) {
            vk_hmac_sm3 *h = vk_hmac_sm3_new(key, a);
            vk_hmac_sm3_digest(h, data, b, out);
            vk_hmac_sm3_free(h);
        } else {
            vk_sm3_digest(data, b, out);
        }
        puthex(out, 32);
        putchar('\n');
        free(key); free(data);
    } else if (strcmp(cmd, "sm3_many") == 0 || strcmp(cmd, "hmac_many") == 0) {
        int hm = cmd[0] == 'h';
        uint8_t *key = hm ? unhex(tok[1], &a) : NULL;
        size_t count = parse_lens(tok[hm ? 2 : 1], L64, MAXN);
        uint8_t *data = unhex(tok[hm ? 3 : 2], &b), *out = malloc(32 * count + 1);
        if (hm) {
            vk_hmac_sm3 *h = vk_hmac_sm3_new(key, a);
            vk_hmac_sm3_digest_many(h, data, L64, count, out);
            vk_hmac_sm3_free(h);
        } else {
            vk_sm3_digest_many(data, L64, count, out);
        }
        puthex(out, 32 * count);
        putchar('\n');
        free(key); free(data); free(out);
    } else if (strcmp(cmd, "hmac_flat") == 0 || strcmp(cmd, "hmac_rows") == 0) {
        int rows = cmd[5] == 'r';
        uint8_t *key = unhex(tok[1], &a);
        size_t count, stride = 0, width = 0;
        int t = 2;
        if (rows) {
            count = (size_t)strtoull(tok[2] ? tok[2] : "0", NULL, 10);
            stride = (size_t)strtoull(tok[3] ? tok[3] : "0", NULL, 10);
            width = (size_t)strtoull(tok[4] ? tok[4] : "0", NULL, 10);
            t = 5;
        } else {
            count = parse_lens(tok[2], L64, MAXN);
            A64[0] = 0;
            for (size_t i = 0; i < count; i++) A64[i + 1] = A64[i] + L64[i];
            t = 3;
        }
        size_t size = (size_t)strtoull(tok[t] ? tok[t] : "0", NULL, 10);
        uint8_t mask = (uint8_t)strtoul(tok[t + 1] ? tok[t + 1] : "0", NULL, 10);
        uint8_t *data = unhex(tok[t + 2], &b), *out = malloc(count * size + 1);
        vk_hmac_sm3 *h = vk_hmac_sm3_new(key, a);
        int64_t rc = vk_hmac_sm3_flat(h, count, data, b, rows ? NULL : A64, stride, width, out,
                                      size, mask);
        vk_hmac_sm3_free(h);
        if (rc) {
            puts("err");
        } else {
            puthex(out, count * size);
            putchar('\n');
        }
        free(key); free(data); free(out);
    } else if (strcmp(cmd, "ff1") == 0) {
        uint8_t *key = unhex(tok[2], &a), *tweak = unhex(tok[4], &b);
        uint32_t radix = (uint32_t)strtoul(tok[3] ? tok[3] : "0", NULL, 10);
        int dec = tok[5] && strcmp(tok[5], "dec") == 0;
        size_t count = parse_lens(tok[6], L64, MAXN);
        uint8_t *nums = unhex(tok[7], &c);
        for (size_t i = 0; i < count; i++) L32[i] = (uint32_t)L64[i];
        vk_ff1 *f = vk_ff1_new(alg(tok[1]), key, a, radix);
        if (!f) {
            puts("none");
        } else if (vk_ff1_crypt(f, tweak, b, nums, nums, L32, count, dec) != 0) {
            puts("err");
        } else {
            puthex(nums, c);
            putchar('\n');
        }
        vk_ff1_free(f);
        free(key); free(tweak); free(nums);
    } else {
        die("unknown command");
    }
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) > 0) {
        if (line[got - 1] == '\n') line[got - 1] = 0;
        char *tok[10] = {0};
        int n = 0;
        for (char *save, *t = strtok_r(line, " ", &save); t && n < 9; t = strtok_r(NULL, " ", &save))
            tok[n++] = t;
        if (n == 0) continue;
        run(tok);
        fflush(stdout);
    }
    free(line);
    return 0;
}
