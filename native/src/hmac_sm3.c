/* HMAC-SM3 (GM/T 0042-2015; RFC 2104 with SM3, B = 64, L = 32).
 *
 * The chaining values after the first block K0 ^ ipad and K0 ^ opad are computed once per key and
 * kept in C-owned memory, wiped on free; each message then costs its own blocks plus one block for
 * the outer hash. */
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

/* Internal interface of sm3.c (not exported). */
extern const uint32_t vk_sm3_iv[8];
void vk_sm3_compress(uint32_t v[8], const uint8_t *block);
void vk_sm3_hmac_many(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *data,
                      const uint64_t *lens, size_t count, uint8_t *out);
int vk_sm3_hmac_rows(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *data,
                     const uint8_t *end, size_t stride, size_t len, size_t count, uint8_t *out,
                     size_t out_len, uint8_t last_mask);

struct vk_hmac_sm3 {
    uint32_t inner[8]; /* CF(IV, K0 ^ ipad) */
    uint32_t outer[8]; /* CF(IV, K0 ^ opad) */
};

vk_hmac_sm3 *vk_hmac_sm3_new(const uint8_t *key, size_t key_len) {
    vk_hmac_sm3 *h = malloc(sizeof *h);
    if (!h) return NULL;
    uint8_t k0[64], pad[64];
    /* RFC 2104 section 2 / GM/T 0042-2015 5.3: K0 = key padded with zeros, or SM3(key) padded
     * when the key is longer than the block. */
    memset(k0, 0, sizeof k0);
    if (key_len > sizeof k0)
        vk_sm3_digest(key, key_len, k0);
    else if (key_len)
        memcpy(k0, key, key_len);
    for (int i = 0; i < 64; i++) pad[i] = k0[i] ^ 0x36;
    memcpy(h->inner, vk_sm3_iv, sizeof h->inner);
    vk_sm3_compress(h->inner, pad);
    for (int i = 0; i < 64; i++) pad[i] = k0[i] ^ 0x5c;
    memcpy(h->outer, vk_sm3_iv, sizeof h->outer);
    vk_sm3_compress(h->outer, pad);
    vk_wipe(k0, sizeof k0);
    vk_wipe(pad, sizeof pad);
    return h;
}

void vk_hmac_sm3_free(vk_hmac_sm3 *h) {
    if (!h) return;
    vk_wipe(h, sizeof *h);
    free(h);
}

/* HMAC = H((K0 ^ opad) || H((K0 ^ ipad) || m)). With SIMD lanes each lane runs a message's inner
 * hash and then its outer hash (32 bytes after the 64-byte opad block), so inner and outer
 * compressions of different messages share the lanes; else two passes (vk_sm3_hmac_many). */
void vk_hmac_sm3_digest_many(const vk_hmac_sm3 *h, const uint8_t *data, const uint64_t *lens,
                             size_t count, uint8_t *out) {
    vk_sm3_hmac_many(h->inner, h->outer, data, lens, count, out);
}

void vk_hmac_sm3_digest(const vk_hmac_sm3 *h, const uint8_t *data, size_t len, uint8_t *out) {
    uint64_t len64 = len;
    vk_hmac_sm3_digest_many(h, data, &len64, 1, out);
}

/* Flat batches (vk_hash.h): the bounds are checked here, before anything is read or written. */
#define FLAT_CHUNK 256

int64_t vk_hmac_sm3_flat(const vk_hmac_sm3 *h, size_t count, const uint8_t *data,
                         size_t data_len, const uint64_t *offs, size_t stride, size_t width,
                         uint8_t *out, size_t out_len, uint8_t last_mask) {
    if (out_len < 1 || out_len > VK_SM3_DIGEST_SIZE) return -1;
    if (!offs) { /* rows: message i at i * stride, width bytes */
        if (stride < width) return -1;
        if (!count) return 0;
        if (width > data_len || (stride && count - 1 > (data_len - width) / stride)) return -1;
        return vk_sm3_hmac_rows(h->inner, h->outer, data, data + data_len, stride, width, count,
                                out, out_len, last_mask) ? -2 : 0;
    }
    /* offsets: message i = data[offs[i] .. offs[i + 1]), non-decreasing, inside data */
    if (offs[count] > data_len) return -1;
    for (size_t i = 0; i < count; i++)
        if (offs[i] > offs[i + 1]) return -1;
    if (!count) return 0;
    uint64_t lens[FLAT_CHUNK];
    uint8_t digests[FLAT_CHUNK * VK_SM3_DIGEST_SIZE];
    for (size_t start = 0; start < count; start += FLAT_CHUNK) {
        size_t n = count - start < FLAT_CHUNK ? count - start : FLAT_CHUNK;
        uint64_t first = offs[start];
        int same = 1; /* one length in the chunk: rows (8 at a time on AVX2 when short) */
        for (size_t i = 0; i < n; i++) {
            lens[i] = offs[start + i + 1] - offs[start + i];
            same &= lens[i] == lens[0];
        }
        uint8_t *dst = out + start * out_len;
        if (same) {
            if (vk_sm3_hmac_rows(h->inner, h->outer, data + first, data + data_len,
                                 (size_t)lens[0], (size_t)lens[0], n, dst, out_len, last_mask)) {
                vk_wipe(digests, sizeof digests);
                return -2;
            }
            continue;
        }
        vk_sm3_hmac_many(h->inner, h->outer, data + first, lens, n, digests);
        for (size_t i = 0; i < n; i++) {
            memcpy(dst + i * out_len, digests + VK_SM3_DIGEST_SIZE * i, out_len);
            dst[i * out_len + out_len - 1] &= last_mask;
        }
    }
    vk_wipe(digests, sizeof digests);
    return 0;
}
