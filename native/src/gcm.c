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

/* y <- GHASH continued over (a || b) zero-padded to whole blocks (7.1 step 5, A || 0^v with
 * A = a || b), a_len < 16, without joining a and b: the block that straddles them is assembled
 * on the stack. */
static void ghash_tail_two(const vk_ghash_key *k, uint8_t y[16], const uint8_t *a, size_t a_len,
                           const uint8_t *b, size_t b_len) {
    if (a_len) {
        uint8_t joint[16] = {0};
        size_t take = 16 - a_len < b_len ? 16 - a_len : b_len;
        memcpy(joint, a, a_len);
        memcpy(joint + a_len, b, take);
        vk_ghash_blocks(k, y, joint, 1);
        b += take;
        b_len -= take;
    }
    ghash_padded(k, y, b, b_len);
}

/* nonce = base + counter, 96-bit big-endian, modulo 2^96 (the caller keeps it below). */
static void nonce_from(uint8_t nonce[12], const uint8_t base[12], uint64_t counter) {
    unsigned carry = 0;
    for (int i = 11; i >= 0; i--) {
        unsigned sum = (unsigned)base[i] + (unsigned)(counter & 0xFF) + carry;
        nonce[i] = (uint8_t)sum;
        carry = sum >> 8;
        counter >>= 8;
    }
}

struct vk_gcm_records {
    const vk_gcm *g;
    uint8_t y_head[16]; /* GHASH_H over the whole blocks of head */
    uint8_t base[12];
    size_t head_len;
    uint8_t head[]; /* head_len bytes */
};

vk_gcm_records *vk_gcm_records_new(const vk_gcm *g, const uint8_t *head, size_t head_len,
                                   const uint8_t *base) {
    if (head_len > SIZE_MAX - sizeof(vk_gcm_records)) return NULL;
    vk_gcm_records *r = malloc(sizeof(vk_gcm_records) + head_len);
    if (r == NULL) return NULL;
    r->g = g;
    r->head_len = head_len;
    memcpy(r->head, head, head_len);
    memcpy(r->base, base, 12);
    memset(r->y_head, 0, 16);
    vk_ghash_blocks(&g->gk, r->y_head, head, head_len / 16);
    return r;
}

void vk_gcm_records_free(vk_gcm_records *r) {
    if (r == NULL) return;
    vk_wipe(r, sizeof *r + r->head_len);
    free(r);
}

/* y <- GHASH_H(head || ad || 0^v): the precomputed whole blocks of head, then the rest. */
static void records_ad(const vk_gcm_records *r, uint8_t y[16], const uint8_t *ad, size_t ad_len) {
    const size_t whole = r->head_len / 16 * 16;
    memcpy(y, r->y_head, 16);
    ghash_tail_two(&r->g->gk, y, r->head + whole, r->head_len - whole, ad, ad_len);
}

/* SP 800-38D 7.1 over a record: head || nonce || GCM-AE(nonce, in, head || ad). */
void vk_gcm_records_seal(const vk_gcm_records *r, uint64_t counter, const uint8_t *in, size_t len,
                         const uint8_t *ad, size_t ad_len, uint8_t *out) {
    const vk_gcm *g = r->g;
    uint8_t y[16], ej0[16];
    uint8_t *nonce = out + r->head_len, *ct = nonce + 12;
    memcpy(out, r->head, r->head_len);
    nonce_from(nonce, r->base, counter);
    records_ad(r, y, ad, ad_len);
    gctr(g, nonce, in, len, ct, ej0, y);
    finish_tag(&g->gk, y, r->head_len + ad_len, len, ej0, ct + len);
    vk_wipe(ej0, sizeof ej0);
    vk_wipe(y, sizeof y);
}

/* SP 800-38D 7.2 over a record: the plaintext is computed, then ANDed with the verdict's mask. */
int vk_gcm_records_open(const vk_gcm_records *r, const uint8_t *record, size_t len,
                        const uint8_t *ad, size_t ad_len, uint8_t *out) {
    const vk_gcm *g = r->g;
    const size_t head_len = r->head_len;
    if (len < head_len || len - head_len < 12 + GCM_TAG) return -2;
    const uint8_t *nonce = record + head_len, *ct = nonce + 12;
    size_t clen = len - head_len - 12 - GCM_TAG;
    uint8_t y[16], ej0[16], tag[16];
    gctr(g, nonce, ct, clen, out, ej0, NULL); /* not released unless the tag verifies */
    records_ad(r, y, ad, ad_len);
    vk_ghash_final(&g->gk, y, ct, clen, (uint64_t)(head_len + ad_len) * 8, (uint64_t)clen * 8);
    for (int i = 0; i < 16; i++) tag[i] = y[i] ^ ej0[i];
    int ok = vk_ct_eq(tag, ct + clen, GCM_TAG);
    uint8_t mask = (uint8_t)(0u - (unsigned)ok);
    for (size_t i = 0; i < clen; i++) out[i] &= mask;
    vk_wipe(ej0, sizeof ej0);
    vk_wipe(tag, sizeof tag); /* the valid tag of a forged record */
    vk_wipe(y, sizeof y);
    return ok - 1;
}

/* Counter blocks a message of len bytes needs: J0 and ceil(len / 16). */
static inline size_t blocks_for(size_t len) { return 1 + len / 16 + (len % 16 != 0); }

/* One message of a batch: where its nonce, input, associated data and output are. */
typedef struct {
    const uint8_t *nonce, *in, *ad;
    uint8_t *out;
    size_t len, ad_len; /* len: plaintext (sealing) or ciphertext || tag (opening) bytes */
} gcm_msg;

#define GCM_RUN 128 /* messages described per driver call (on the stack) */

/* The batch driver of every batch entry point: groups consecutive messages whose counter blocks
 * fit in one GCM_CHUNK buffer, enciphers them in one call, then finishes each message
 * (ciphertext, GHASH, tag). A message too long for a group goes through the single call. With
 * shared set, every message's AD is the same and y_ad holds GHASH_H(A || 0^v) (hashed once for
 * the batch). ok[i] (opening) as vk_gcm_open_many. Returns the failures. *used tracks the
 * keystream blocks of buf to wipe. */
static size_t gcm_run(const vk_gcm *g, int opening, const gcm_msg *m, size_t count,
                      const uint8_t y_ad[16], int shared, uint8_t *ok, uint8_t *buf, size_t *used) {
    size_t failures = 0, i = 0;
    const size_t over = opening ? GCM_TAG : 0;
    while (i < count) {
        size_t j = i, nbk = 0;
        for (; j < count; j++) {
            size_t mlen = m[j].len >= over ? m[j].len - over : 0, need = blocks_for(mlen);
            if (nbk + need > GCM_CHUNK) break;
            nbk += need;
        }
        if (j == i) { /* one long message */
            if (opening) {
                int r = vk_gcm_open(g, m[i].nonce, m[i].in, m[i].len, m[i].ad, m[i].ad_len, m[i].out);
                ok[i] = (uint8_t)(r + 1);
                failures += (size_t)(-r);
            } else {
                vk_gcm_seal(g, m[i].nonce, m[i].in, m[i].len, m[i].ad, m[i].ad_len, m[i].out);
            }
            i++;
            continue;
        }
        uint8_t *p = buf;
        for (size_t f = i; f < j; f++) {
            size_t mlen = m[f].len >= over ? m[f].len - over : 0, need = blocks_for(mlen);
            counters(p, m[f].nonce, 1, need);
            p += 16 * need;
        }
        vk_cipher_encrypt_blocks(g->cipher, buf, buf, nbk);
        *used = nbk > *used ? nbk : *used;
        p = buf;
        for (size_t f = i; f < j; f++) {
            size_t len = m[f].len;
            if (opening && len < GCM_TAG) { /* too short to hold a tag: rejected, no output */
                ok[f] = 0;
                failures++;
                p += 16;
            } else if (opening) {
                uint8_t tag[16];
                size_t clen = len - GCM_TAG;
                auth(&g->gk, y_ad, shared, m[f].ad, m[f].ad_len, m[f].in, clen, p, tag);
                int good = vk_ct_eq(tag, m[f].in + clen, GCM_TAG);
                xor_mask(m[f].out, m[f].in, p + 16, clen, (uint8_t)(0u - (unsigned)good));
                ok[f] = (uint8_t)good;
                failures += (size_t)(1 - good);
                p += 16 * blocks_for(clen);
            } else {
                xor_mask(m[f].out, m[f].in, p + 16, len, 0xFF);
                auth(&g->gk, y_ad, shared, m[f].ad, m[f].ad_len, m[f].out, len, p, m[f].out + len);
                p += 16 * blocks_for(len);
            }
        }
        i = j;
    }
    return failures;
}

/* vk_gcm_seal_many / vk_gcm_open_many: consecutive messages, described GCM_RUN at a time. */
static size_t gcm_many(const vk_gcm *g, int opening, size_t count, const uint8_t *nonces,
                       const uint8_t *data, const uint32_t *lens, const uint8_t *ads,
                       const uint32_t *ad_lens, size_t shared_ad_len, uint8_t *out, uint8_t *ok) {
    uint8_t buf[16 * GCM_CHUNK], y_ad[16] = {0};
    gcm_msg run[GCM_RUN];
    size_t failures = 0, used = 0;
    const int shared = ad_lens == NULL;
    if (shared) ghash_padded(&g->gk, y_ad, ads, shared_ad_len);
    for (size_t base = 0; base < count; base += GCM_RUN) {
        size_t n = count - base < GCM_RUN ? count - base : GCM_RUN;
        for (size_t k = 0; k < n; k++) {
            size_t i = base + k, len = lens[i], ad_len = shared ? shared_ad_len : ad_lens[i];
            size_t olen = opening ? (len >= GCM_TAG ? len - GCM_TAG : 0) : len + GCM_TAG;
            run[k] = (gcm_msg){nonces + 12 * i, data, ads, out, len, ad_len};
            data += len;
            ads += shared ? 0 : ad_len;
            out += olen;
        }
        failures += gcm_run(g, opening, run, n, y_ad, shared, opening ? ok + base : NULL, buf, &used);
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

/* Whether offs[0..count] is non-decreasing and ends inside a buffer of size bytes. */
static int offsets_ok(const uint64_t *offs, size_t count, size_t size) {
    for (size_t i = 0; i < count; i++)
        if (offs[i + 1] < offs[i]) return 0;
    return offs[count] <= size;
}

/* The flat entry points: offsets and sizes checked first, then one driver call per GCM_RUN
 * records. Sealing: in_skip = 0, the nonce from nonces, the output record head || nonce ||
 * ciphertext || tag. Opening: the nonce at in_skip of the record, the output the plaintext. */
static int64_t gcm_flat(const vk_gcm *g, int opening, size_t count, const uint8_t *nonces,
                        const uint8_t *data, size_t data_len, const uint64_t *offs, size_t skip,
                        const uint8_t *head, size_t head_len, const uint8_t *ads, size_t ads_len,
                        const uint64_t *ad_offs, uint8_t *out, uint64_t *out_offs, uint8_t *ok) {
    const size_t extra = opening ? skip + 12 + GCM_TAG : head_len + 12 + GCM_TAG;
    const int shared = ad_offs == NULL;
    if (!offsets_ok(offs, count, data_len)) return -1;
    if (!shared && !offsets_ok(ad_offs, count, ads_len)) return -1;
    if (opening)
        for (size_t i = 0; i < count; i++)
            if (offs[i + 1] - offs[i] < extra) return -1;
    uint8_t buf[16 * GCM_CHUNK], y_ad[16] = {0};
    gcm_msg run[GCM_RUN];
    size_t failures = 0, used = 0;
    uint64_t pos = 0;
    if (shared) ghash_padded(&g->gk, y_ad, ads, ads_len);
    for (size_t base = 0; base < count; base += GCM_RUN) {
        size_t n = count - base < GCM_RUN ? count - base : GCM_RUN;
        for (size_t k = 0; k < n; k++) {
            size_t i = base + k, rec = (size_t)(offs[i + 1] - offs[i]);
            const uint8_t *r = data + offs[i];
            const uint8_t *ad = shared ? ads : ads + ad_offs[i];
            size_t ad_len = shared ? ads_len : (size_t)(ad_offs[i + 1] - ad_offs[i]);
            out_offs[i] = pos;
            if (opening) {
                run[k] = (gcm_msg){r + skip, r + skip + 12, ad, out + pos, rec - skip - 12, ad_len};
                pos += rec - extra;
            } else {
                uint8_t *o = out + pos;
                memcpy(o, head, head_len);
                memcpy(o + head_len, nonces + 12 * i, 12);
                run[k] = (gcm_msg){o + head_len, r, ad, o + head_len + 12, rec, ad_len};
                pos += rec + extra;
            }
        }
        failures += gcm_run(g, opening, run, n, y_ad, shared, opening ? ok + base : NULL, buf, &used);
    }
    out_offs[count] = pos;
    vk_wipe(buf, 16 * used); /* the keystream */
    return (int64_t)failures;
}

int64_t vk_gcm_seal_flat(const vk_gcm *g, size_t count, const uint8_t *nonces,
                         const uint8_t *data, size_t data_len, const uint64_t *offs,
                         const uint8_t *head, size_t head_len, const uint8_t *ads, size_t ads_len,
                         const uint64_t *ad_offs, uint8_t *out, uint64_t *out_offs) {
    return gcm_flat(g, 0, count, nonces, data, data_len, offs, 0, head, head_len, ads, ads_len,
                    ad_offs, out, out_offs, NULL);
}

int64_t vk_gcm_open_flat(const vk_gcm *g, size_t count, const uint8_t *data, size_t data_len,
                         const uint64_t *offs, size_t skip, const uint8_t *ads, size_t ads_len,
                         const uint64_t *ad_offs, uint8_t *out, uint64_t *out_offs, uint8_t *ok) {
    return gcm_flat(g, 1, count, NULL, data, data_len, offs, skip, NULL, 0, ads, ads_len, ad_offs,
                    out, out_offs, ok);
}
