#ifndef VK_FF1_H
#define VK_FF1_H
#include <stddef.h>
#include <stdint.h>

/* FF1 format-preserving encryption (NIST SP 800-38G 6.2, Algorithms 7 and 8) over SM4 or AES
 * (vk_cipher), radix 2..65536.
 *
 * Values whose halves fit 64 bits (radix^ceil(n/2) < 2^64: up to 38 decimal digits) take a fast
 * path that runs many values side by side so the block cipher gets independent blocks per call;
 * longer values take a multi-precision path (32-bit limbs, also several values side by side; no
 * length limit but memory). No branch or memory index depends on the key or the numerals, and
 * no division instruction sees a secret: divisions by the public radix powers are multiplications
 * by precomputed reciprocals. */
typedef struct vk_ff1 vk_ff1;

/* FF1 key: algorithm VK_CIPHER_SM4 or VK_CIPHER_AES with its key, and the radix. NULL on a bad
 * algorithm, key length or radix, when the CPU lacks what the cipher needs, or out of memory.
 * Free with vk_ff1_free, which wipes it. */
VK_EXPORT vk_ff1 *vk_ff1_new(int algorithm, const uint8_t *key, size_t key_len, uint32_t radix);
VK_EXPORT void vk_ff1_free(vk_ff1 *f);

/* Encrypt (decrypt = 0) or decrypt (decrypt = 1) `count` values under one tweak T. The values'
 * numerals are concatenated in `in`, value i being the next lengths[i] numerals, each numeral one
 * byte when radix <= 256, else two bytes little-endian; `out` gets the same layout (out == in
 * allowed; no other overlap). Every numeral must be < radix and every length >= 2 (the caller
 * checks the SP 800-38G domain rules). Returns 0, or -1 on a length < 2 or out of memory (out is
 * then unspecified). No allocation on the fast path; one per call when a value needs the
 * multi-precision path. */
VK_EXPORT int vk_ff1_crypt(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len,
                           const uint8_t *in, uint8_t *out, const uint32_t *lengths, size_t count,
                           int decrypt);

/* vk_ff1_crypt of one value of `length` numerals (no lengths array to build for a single call). */
VK_EXPORT int vk_ff1_crypt_one(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len,
                               const uint8_t *in, uint8_t *out, uint32_t length, int decrypt);

/* vk_ff1_crypt_one of `length` (2..19) ASCII decimal digits at `digits` (radix 10, the alphabet
 * "0123456789"), the result returned as the number the output digits spell (below 10^19), so a
 * single call needs no output buffer: the caller prints it back with `length` digits. Returns
 * VK_FF1_NOT_DIGITS (2^64 - 1) when a byte is not a digit, the radix is not 10 or the length is
 * out of range (the caller then takes the general path, which names the error). */
enum { VK_FF1_DIGITS_MAX = 19 };
#define VK_FF1_NOT_DIGITS UINT64_MAX
VK_EXPORT uint64_t vk_ff1_crypt_digits(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len,
                                       const uint8_t *digits, uint32_t length, int decrypt);

#endif
