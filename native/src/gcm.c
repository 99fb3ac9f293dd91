/* GCM (NIST SP 800-38D) over the vk_cipher block routines and vk_ghash: single and batch.
 *
 * Only 96-bit IVs: J0 = IV || 0^31 || 1 (7.1 step 2). Counter blocks are built in a stack buffer
 * and enciphered GCM_CHUNK at a time through the multi-block cipher routine; in the batch calls
 * the counter blocks of many short messages share one cipher call. Tag comparison is constant
 * time (vk_ct_eq) and the opened output is ANDed with a mask derived from it, so a failed tag
 * leaves zeros and no branch depends on secret data.
 */
#define _POSIX_C_SOURCE 200112L
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#define GCM_CHUNK 256 /* counter blocks per cipher call: 4 KiB of keystream */
#define GCM_TAG 16

struct vk_gcm {
    vk_cipher *cipher;
    vk_ghash_key gk;
};

static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* n counter blocks IV || [ctr + i]_32 (inc32, 6.2) into buf. */
static void counters(uint8_t *buf, const uint8_t *nonce, uint32_t ctr, size_t n) {
    for (size_t i = 0; i < n; i++, buf += 16) {
        memcpy(buf, nonce, 12);
        store_be32(buf + 12, ctr + (uint32_t)i);
    }
}

/* out[i] = (in[i] ^ ks[i]) & mask for i < n. */
static void xor_mask(uint8_t *restrict out, const uint8_t *restrict in, const uint8_t *restrict ks,
                     size_t n, uint8_t mask) {
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)((in[i] ^ ks[i]) & mask);
}

/* y <- GHASH continued over p[0..len) zero-padded to whole blocks (7.1 step 5: A || 0^v, C || 0^u). */
static void ghash_padded(const vk_ghash_key *k, uint8_t y[16], const uint8_t *p, size_t len) {
    size_t full = len / 16, rem = len % 16;
    vk_ghash_blocks(k, y, p, full);
    if (rem) {
        uint8_t last[16] = {0};
        memcpy(last, p + 16 * full, rem);
        vk_ghash_blocks(k, y, last, 1);
    }
}

/* 7.1 steps 5-6 tail: y <- GHASH over [len(A)]64 || [len(C)]64, then tag = y ^ E(K, J0). */
static void finish_tag(const vk_ghash_key *k, uint8_t y[16], size_t ad_len, size_t ct_len,
                       const uint8_t ej0[16], uint8_t tag[16]) {
    vk_ghash_final(k, y, NULL, 0, (uint64_t)ad_len * 8, (uint64_t)ct_len * 8);
    for (int i = 0; i < 16; i++) tag[i] = y[i] ^ ej0[i];
}

/* GCTR (6.5) from counter 2 over len bytes, in to out; E(K, J0) into ej0. When y is not NULL,
 * GHASH continues over each produced ciphertext chunk while it is in cache (sealing). */
static void gctr(const vk_gcm *g, const uint8_t *nonce, const uint8_t *in, size_t len, uint8_t *out,
                 uint8_t ej0[16], uint8_t *y) {
    uint8_t buf[16 * GCM_CHUNK];
    uint32_t ctr = 1;
    size_t done = 0, used = 0;
    for (int first = 1; first || done < len; first = 0) {
        size_t room = GCM_CHUNK - (size_t)first, left = len - done;
        size_t nb = left / 16 + (left % 16 != 0);
        if (nb > room) nb = room;
        size_t total = nb + (size_t)first, bytes = 16 * nb < left ? 16 * nb : left;
        counters(buf, nonce, ctr, total);
        ctr += (uint32_t)total;
        used = total > used ? total : used;
        vk_cipher_encrypt_blocks(g->cipher, buf, buf, total);
        if (first) memcpy(ej0, buf, 16);
        xor_mask(out + done, in + done, buf + 16 * (size_t)first, bytes, 0xFF);
        if (y) ghash_padded(&g->gk, y, out + done, bytes);
        done += bytes;
    }
    vk_wipe(buf, 16 * used); /* the keystream */
}

/* tag = GHASH_H(A || 0^v || C || 0^u || [len(A)]64 || [len(C)]64) ^ E(K, J0) (7.1 steps 5-6).
 * When ad_absorbed, y0 already holds GHASH_H(A || 0^v) (an AD shared by a batch) and ad is not
 * read; otherwise y0 is ignored and the hash starts from zero. */
static void auth(const vk_ghash_key *k, const uint8_t y0[16], int ad_absorbed, const uint8_t *ad,
                 size_t ad_len, const uint8_t *ct, size_t ct_len, const uint8_t ej0[16],
                 uint8_t tag[16]) {
    uint8_t y[16] = {0};
    if (ad_absorbed)
        memcpy(y, y0, 16);
    else
        ghash_padded(k, y, ad, ad_len);
    vk_ghash_final(k, y, ct, ct_len, (uint64_t)ad_len * 8, (uint64_t)ct_len * 8);
    for (int i = 0; i < 16; i++) tag[i] = y[i] ^ ej0[i];
}

vk_gcm *vk_gcm_new(int algorithm, const uint8_t *key, size_t key_len) {
    vk_cipher *c = vk_cipher_new(algorithm, key, key_len);
    if (c == NULL) return NULL;
    void *mem = NULL;
    if (posix_memalign(&mem, 32, sizeof(vk_gcm)) != 0) {
        vk_cipher_free(c);
        return NULL;
    }
    vk_gcm *g = mem;
    uint8_t h[16] = {0};
    vk_cipher_encrypt_blocks(c, h, h, 1); /* H = CIPH_K(0^128), 7.1 step 1 */
    g->cipher = c;
    vk_ghash_init(&g->gk, h);
    vk_wipe(h, sizeof h);
    return g;
}

void vk_gcm_free(vk_gcm *g) {
    if (g == NULL) return;
    vk_cipher_free(g->cipher);
    vk_wipe(g, sizeof *g);
    free(g);
}

const char *vk_ghash_impl(void) { return vk_ghash_select_name(); }

/* SP 800-38D 7.1 (GCM-AE). */
void vk_gcm_seal(const vk_gcm *g, const uint8_t *nonce, const uint8_t *in, size_t len,
                 const uint8_t *ad, size_t ad_len, uint8_t *out) {
    uint8_t y[16] = {0}, ej0[16];
    ghash_padded(&g->gk, y, ad, ad_len);
    gctr(g, nonce, in, len, out, ej0, y);
    finish_tag(&g->gk, y, ad_len, len, ej0, out + len);
    vk_wipe(ej0, sizeof ej0);
}

/* SP 800-38D 7.2 (GCM-AD): the plaintext is computed, then ANDed with the verdict's mask. */
int vk_gcm_open(const vk_gcm *g, const uint8_t *nonce, const uint8_t *in, size_t len,
                const uint8_t *ad, size_t ad_len, uint8_t *out) {
    if (len < GCM_TAG) return -1;
    size_t clen = len - GCM_TAG;
    uint8_t ej0[16], tag[16];
    gctr(g, nonce, in, clen, out, ej0, NULL); /* not released unless the tag verifies */
    auth(&g->gk, NULL, 0, ad, ad_len, in, clen, ej0, tag);
    int ok = vk_ct_eq(tag, in + clen, GCM_TAG);
    uint8_t mask = (uint8_t)(0u - (unsigned)ok);
    for (size_t i = 0; i < clen; i++) out[i] &= mask;
    vk_wipe(ej0, sizeof ej0);
    return ok - 1;
}

/* Counter blocks a message of len bytes needs: J0 and ceil(len / 16). */
static inline size_t blocks_for(size_t len) { return 1 + len / 16 + (len % 16 != 0); }

/* The batch driver shared by seal_many and open_many: groups consecutive messages whose counter
 * blocks fit in one GCM_CHUNK buffer, enciphers them in one call, then finishes each message
 * (ciphertext, GHASH, tag). A message too long for a group goes through the single call. With
 * ad_lens == NULL every message's AD is ads[0..shared_ad_len), hashed once for the batch. */
static size_t gcm_many(const vk_gcm *g, int opening, size_t count, const uint8_t *nonces,
                       const uint8_t *data, const uint32_t *lens, const uint8_t *ads,
                       const uint32_t *ad_lens, size_t shared_ad_len, uint8_t *out, uint8_t *ok) {
    uint8_t buf[16 * GCM_CHUNK], y_ad[16] = {0};
    size_t failures = 0, i = 0, used = 0;
    const size_t over = opening ? GCM_TAG : 0;
    const int shared = ad_lens == NULL;
    if (shared) ghash_padded(&g->gk, y_ad, ads, shared_ad_len);
    while (i < count) {
        size_t j = i, nbk = 0;
        for (; j < count; j++) {
            size_t mlen = lens[j] >= over ? lens[j] - over : 0, need = blocks_for(mlen);
            if (nbk + need > GCM_CHUNK) break;
            nbk += need;
        }
        if (j == i) { /* one long message */
            const uint8_t *nonce = nonces + 12 * i;
            size_t ad_len = shared ? shared_ad_len : ad_lens[i];
            if (opening) {
                int r = vk_gcm_open(g, nonce, data, lens[i], ads, ad_len, out);
                ok[i] = (uint8_t)(r + 1);
                failures += (size_t)(-r);
                out += lens[i] - GCM_TAG;
            } else {
                vk_gcm_seal(g, nonce, data, lens[i], ads, ad_len, out);
                out += lens[i] + GCM_TAG;
            }
            data += lens[i];
            ads += shared ? 0 : ad_len;
            i++;
            continue;
        }
        uint8_t *p = buf;
        for (size_t f = i; f < j; f++) {
            size_t mlen = lens[f] >= over ? lens[f] - over : 0, need = blocks_for(mlen);
            counters(p, nonces + 12 * f, 1, need);
            p += 16 * need;
        }
        vk_cipher_encrypt_blocks(g->cipher, buf, buf, nbk);
        used = nbk > used ? nbk : used;
        p = buf;
        for (size_t f = i; f < j; f++) {
            uint8_t tag[16];
            size_t len = lens[f], ad_len = shared ? shared_ad_len : ad_lens[f];
            if (opening && len < GCM_TAG) { /* too short to hold a tag: rejected, no output */
                ok[f] = 0;
                failures++;
                p += 16;
            } else if (opening) {
                size_t clen = len - GCM_TAG;
                auth(&g->gk, y_ad, shared, ads, ad_len, data, clen, p, tag);
                int good = vk_ct_eq(tag, data + clen, GCM_TAG);
                xor_mask(out, data, p + 16, clen, (uint8_t)(0u - (unsigned)good));
                ok[f] = (uint8_t)good;
                failures += (size_t)(1 - good);
                out += clen;
                p += 16 * blocks_for(clen);
            } else {
                xor_mask(out, data, p + 16, len, 0xFF);
                auth(&g->gk, y_ad, shared, ads, ad_len, out, len, p, out + len);
                out += len + GCM_TAG;
                p += 16 * blocks_for(len);
            }
            data += len;
            ads += shared ? 0 : ad_len;
        }
        i = j;
    }
    vk_wipe(buf, 16 * used); /* the keystream */
    return failures;
}

void vk_gcm_seal_many(const vk_gcm *g, size_t count, const uint8_t *nonces, const uint8_t *data,
                      const uint32_t *lens, const uint8_t *ads, const uint32_t *ad_lens,
                      size_t shared_ad_len, uint8_t *out) {
    (void)gcm_many(g, 0, count, nonces, data, lens, ads, ad_lens, shared_ad_len, out, NULL);
}

size_t vk_gcm_open_many(const vk_gcm *g, size_t count, const uint8_t *nonces, const uint8_t *data,
                        const uint32_t *lens, const uint8_t *ads, const uint32_t *ad_lens,
                        size_t shared_ad_len, uint8_t *out, uint8_t *ok) {
    return gcm_many(g, 1, count, nonces, data, lens, ads, ad_lens, shared_ad_len, out, ok);
}
