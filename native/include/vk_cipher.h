#ifndef VK_CIPHER_H
#define VK_CIPHER_H
#include <stddef.h>
#include <stdint.h>

/* Block ciphers with C-owned key schedules (GB/T 32907-2016 SM4; FIPS 197 AES-128/192/256).
 * No secret-dependent branch or memory index: SM4 uses the AES-NI affine-isomorphism S-box
 * (AVX2 lanes for many blocks) or a portable constant-time S-box; AES uses AES-NI (no AES-NI:
 * vk_cipher_new returns NULL for AES and Python uses the reference backend). On aarch64: SM4E,
 * or NEON with the same isomorphism through AESE; AES through the ARMv8 AES instructions. */
enum { VK_CIPHER_SM4 = 1, VK_CIPHER_AES = 2 };

typedef struct vk_cipher vk_cipher;

/* New key schedule; NULL on a bad algorithm or key length (SM4: 16; AES: 16, 24, 32) or when the
 * CPU lacks what the algorithm needs. Free with vk_cipher_free, which wipes it. */
VK_EXPORT vk_cipher *vk_cipher_new(int algorithm, const uint8_t *key, size_t key_len);
VK_EXPORT void vk_cipher_free(vk_cipher *c);

/* ECB over nblocks 16-byte blocks; in == out allowed. Thread-safe on a shared handle (the
 * schedule is read-only after vk_cipher_new). */
VK_EXPORT void vk_cipher_encrypt_blocks(const vk_cipher *c, const uint8_t *in, uint8_t *out,
                                        size_t nblocks);
VK_EXPORT void vk_cipher_decrypt_blocks(const vk_cipher *c, const uint8_t *in, uint8_t *out,
                                        size_t nblocks);

/* Which SM4 implementation vk_cipher_new selects now (from vk_cpu_usable()): a static string,
 * one of "gfni-avx512", "gfni-avx2", "vaes-avx2", "aesni-avx2", "aesni", "portable-ct"; on aarch64
 * "sm4e", "neon-aes", "portable-ct" (see docs/native.md). Never a table-lookup implementation. */
VK_EXPORT const char *vk_sm4_impl(void);

#endif
