/* Shared internal declarations for the C files in native/src (not part of the cdef). */
#ifndef VK_INTERNAL_H
#define VK_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#define VK_ABI_VERSION 1u

/* CPU feature bits returned by vk_cpu_features(). */
#define VK_CPU_AESNI 0x1u
#define VK_CPU_PCLMUL 0x2u
#define VK_CPU_AVX2 0x4u
#define VK_CPU_SSSE3 0x8u
#define VK_CPU_GFNI 0x10u
#define VK_CPU_VAES 0x20u
#define VK_CPU_AVX512 0x40u /* AVX-512F (SM3 16-lane hashing) */

/* aarch64: the same bit positions mean other features there (getauxval(AT_HWCAP); the table per
 * architecture is in docs/native.md). */
#define VK_CPU_ARM_AES 0x1u   /* HWCAP_AES: AESE/AESD/AESMC/AESIMC */
#define VK_CPU_ARM_PMULL 0x2u /* HWCAP_PMULL: 64x64 -> 128-bit PMULL/PMULL2 */
#define VK_CPU_ARM_NEON 0x4u  /* HWCAP_ASIMD: Advanced SIMD (TBL, vector shifts) */
#define VK_CPU_ARM_SM3 0x8u   /* HWCAP_SM3: SM3SS1, SM3TT1A/B, SM3TT2A/B, SM3PARTW1/2 */
#define VK_CPU_ARM_SM4 0x10u  /* HWCAP_SM4: SM4E, SM4EKEY */

/* Features usable now: detected by CPUID and allowed by the VAULTKIT_CPU_MASK environment variable
 * (a decimal mask; tests use it to force the portable paths). */
uint32_t vk_cpu_usable(void);

/* ---- block ciphers (cipher.c, sm4*.c, aes*.c) ------------------------------------------------ */

/* A multi-block ECB routine over a key schedule `ks` (layout private to each cipher). */
typedef void vk_blocks_fn(const void *ks, const uint8_t *in, uint8_t *out, size_t nblocks);

/* The key schedule behind a vk_cipher handle (defined here so GCM can reach the block routine). */
struct vk_cipher {
    int algorithm;       /* VK_CIPHER_SM4 or VK_CIPHER_AES */
    vk_blocks_fn *enc;   /* chosen once at vk_cipher_new from vk_cpu_usable() */
    vk_blocks_fn *dec;
    /* SM4: enc_ks = 32 round keys (uint32), dec_ks = the same reversed. AES: rounds + 1 round
     * keys of 16 bytes, dec_ks in the equivalent inverse cipher form (FIPS 197 5.3.5). */
    _Alignas(32) uint8_t enc_ks[15 * 16 + 16];
    _Alignas(32) uint8_t dec_ks[15 * 16 + 16];
};

/* SM4 (GB/T 32907-2016). tau (6.2 (a)): the S-box on each byte of a word, in constant time. */
typedef uint32_t vk_sm4_tau_fn(uint32_t word);
uint32_t vk_sm4_tau_portable(uint32_t word);
uint32_t vk_sm4_tau_aesni(uint32_t word);
uint32_t vk_sm4_tau_gfni(uint32_t word);
/* The 32 round keys (7.3) with the given tau; vk_sm4_expand_key uses the portable one. */
void vk_sm4_expand_key_with(const uint8_t key[16], uint32_t rk[32], vk_sm4_tau_fn *tau);
void vk_sm4_expand_key(const uint8_t key[16], uint32_t rk[32]);
/* The SM4 block routine for this CPU (rk = 32 round keys; decryption = reversed keys), its
 * name for vk_sm4_impl() and the tau the key schedule should use. */
vk_blocks_fn *vk_sm4_select(const char **name, vk_sm4_tau_fn **tau);
void vk_sm4_blocks_portable(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_sm4_blocks_aesni(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_sm4_blocks_avx2(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_sm4_blocks_vaes(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_sm4_blocks_gfni(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_sm4_blocks_gfni_avx512(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
#if defined(__aarch64__)
/* aarch64 (sm4_arm.c): SM4E with the key schedule through SM4EKEY, and NEON with the S-box
 * through AESE (the isomorphism of sm4_aesni.c, same matrices) and its tau. */
void vk_sm4_blocks_sm4e(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_sm4_expand_key_sm4e(const uint8_t key[16], uint32_t rk[32]);
void vk_sm4_blocks_neon_aes(const void *rk, const uint8_t *in, uint8_t *out, size_t nblocks);
uint32_t vk_sm4_tau_neon_aes(uint32_t word);
#endif

/* AES via AES-NI (FIPS 197). vk_aes_expand_key fills enc/dec schedules (layout: uint32 rounds
 * then 16-byte aligned round keys at offset 16) and returns 0, or -1 for a bad length. Call only
 * when VK_CPU_AESNI is usable. */
int vk_aes_expand_key(const uint8_t *key, size_t key_len, uint8_t *enc_ks, uint8_t *dec_ks);
void vk_aes_encrypt_blocks_ni(const void *ks, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_aes_decrypt_blocks_ni(const void *ks, const uint8_t *in, uint8_t *out, size_t nblocks);
#if defined(__aarch64__)
/* The same with the ARMv8 Cryptography Extensions (aes_arm.c), same schedule layout; call only
 * when VK_CPU_ARM_AES is usable. */
int vk_aes_expand_key_ce(const uint8_t *key, size_t key_len, uint8_t *enc_ks, uint8_t *dec_ks);
void vk_aes_encrypt_blocks_ce(const void *ks, const uint8_t *in, uint8_t *out, size_t nblocks);
void vk_aes_decrypt_blocks_ce(const void *ks, const uint8_t *in, uint8_t *out, size_t nblocks);
#endif

/* ---- GHASH (ghash*.c, NIST SP 800-38D 6.4) --------------------------------------------------- */

/* H-dependent tables. `pow` holds H^1..H^8 in the byte-reversed form the PCLMULQDQ path (and on
 * aarch64 the PMULL path, ghash_pmull.c, which defines the *_clmul functions there) uses
 * (pow[i] = H^(i+1)); h1/h0 hold H as two big-endian halves for the portable path. */
typedef struct vk_ghash_key {
    _Alignas(16) uint8_t pow[8][16];
    uint64_t h1, h0;
    int clmul; /* 1: PCLMULQDQ (aarch64: PMULL) path selected at init */
} vk_ghash_key;

/* Prepares k for hash subkey h (= E(K, 0^128)), choosing the path from vk_cpu_usable(). */
void vk_ghash_init(vk_ghash_key *k, const uint8_t h[16]);
/* y <- GHASH_H continued over nblocks full 16-byte blocks (6.4: Y_i = (Y_{i-1} ^ X_i) * H). */
void vk_ghash_blocks(const vk_ghash_key *k, uint8_t y[16], const uint8_t *blocks, size_t nblocks);
/* y <- GHASH continued over c[0..len) zero-padded to whole blocks, then over the block
 * [a_bits]64 || [c_bits]64: the end of 7.1 step 5. */
void vk_ghash_final(const vk_ghash_key *k, uint8_t y[16], const uint8_t *c, size_t len,
                    uint64_t a_bits, uint64_t c_bits);
/* Name of the GHASH path vk_ghash_init selects now ("pclmul", "pmull" or "portable-ct"). */
const char *vk_ghash_select_name(void);
void vk_ghash_blocks_portable(const vk_ghash_key *k, uint8_t y[16], const uint8_t *b, size_t n);
void vk_ghash_init_clmul(vk_ghash_key *k, const uint8_t h[16]);
void vk_ghash_blocks_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *b, size_t n);
void vk_ghash_final_clmul(const vk_ghash_key *k, uint8_t y[16], const uint8_t *c, size_t len,
                          uint64_t a_bits, uint64_t c_bits);

/* ---- SM3 on aarch64 (sm3_arm.c) --------------------------------------------------------------- */
#if defined(__aarch64__)
/* v = CF(v, block) over nblocks consecutive 64-byte blocks with the SM3 instructions (GB/T
 * 32905-2016 5.3); call only when VK_CPU_ARM_SM3 is usable. */
void vk_sm3_blocks_ce(uint32_t v[8], const uint8_t *blocks, size_t nblocks);
#endif

#endif
