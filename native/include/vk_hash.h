#ifndef VK_HASH_H
#define VK_HASH_H
#include <stddef.h>
#include <stdint.h>

/* SM3 (GB/T 32905-2016) and HMAC-SM3 (GM/T 0042-2015 = RFC 2104 with SM3, 64-byte block).
 * Straight-line code: no branch or memory index depends on message or key bytes (lengths are
 * public). Batch entry points take every message concatenated in `data`, message i being the
 * next lens[i] bytes, and write count * 32 bytes of digests to `out` (out must not overlap data).
 * With AVX-512F (AVX2) they hash 16 (8) messages at a time in SIMD lanes. */
enum { VK_SM3_DIGEST_SIZE = 32, VK_SM3_BLOCK_SIZE = 64 };

typedef struct vk_hmac_sm3 vk_hmac_sm3;

/* out[0..32) = SM3(data[0..len)). */
VK_EXPORT void vk_sm3_digest(const uint8_t *data, size_t len, uint8_t *out);
VK_EXPORT void vk_sm3_digest_many(const uint8_t *data, const uint64_t *lens, size_t count,
                                  uint8_t *out);

/* HMAC-SM3 key with its inner and outer chaining values precomputed (RFC 2104 section 2; a key
 * longer than 64 bytes is first hashed). NULL when out of memory. Free with vk_hmac_sm3_free,
 * which wipes it. */
VK_EXPORT vk_hmac_sm3 *vk_hmac_sm3_new(const uint8_t *key, size_t key_len);
VK_EXPORT void vk_hmac_sm3_free(vk_hmac_sm3 *h);
VK_EXPORT void vk_hmac_sm3_digest(const vk_hmac_sm3 *h, const uint8_t *data, size_t len,
                                  uint8_t *out);
VK_EXPORT void vk_hmac_sm3_digest_many(const vk_hmac_sm3 *h, const uint8_t *data,
                                       const uint64_t *lens, size_t count, uint8_t *out);

/* Flat batches: HMAC-SM3 of `count` messages in one buffer, the first out_len (1..32) bytes of
 * each digest written to out (message i at out + i * out_len), the last of them ANDed with
 * last_mask (blind indexes: 0xff << (8 - L % 8) keeps the first L bits; 0xff keeps all).
 * With offs, message i is data[offs[i] .. offs[i + 1]) (count + 1 non-decreasing offsets, the
 * last <= data_len); without (NULL), message i is the `width` bytes at data + i * stride
 * (stride >= width; rows may be apart, e.g. separated by NUL bytes). Returns 0; -1 when the
 * offsets or rows do not lie inside data_len bytes or out_len is out of range (nothing written);
 * -2 when out of memory. Messages of one length <= 55 bytes go 8 at a time in lockstep on AVX2,
 * loaded straight from the buffer (one inner and one outer block each); other batches share the
 * SIMD lanes between the inner and outer hashes of different messages. */
VK_EXPORT int64_t vk_hmac_sm3_flat(const vk_hmac_sm3 *h, size_t count, const uint8_t *data,
                                   size_t data_len, const uint64_t *offs, size_t stride,
                                   size_t width, uint8_t *out, size_t out_len,
                                   uint8_t last_mask);

/* Which SM3 implementation batch calls use now: "avx512-16way", "avx2-8way" or "portable"; on
 * aarch64 "sm3ce" (the SM3 instructions, for every call), "neon-4way" or "portable". */
VK_EXPORT const char *vk_sm3_impl(void);

#endif
