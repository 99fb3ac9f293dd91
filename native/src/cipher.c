/* vk_cipher: block-cipher handles (vk_cipher.h) over the SM4 and AES routines chosen for this CPU.
 * The handle owns its key schedules and wipes them on free. */
#define _POSIX_C_SOURCE 200112L
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

/* AES in hardware: AES-NI on x86, the ARMv8 Cryptography Extensions on aarch64. */
#if defined(__aarch64__)
#define AES_HW VK_CPU_ARM_AES
#define AES_EXPAND vk_aes_expand_key_ce
#define AES_ENC vk_aes_encrypt_blocks_ce
#define AES_DEC vk_aes_decrypt_blocks_ce
#else
#define AES_HW VK_CPU_AESNI
#define AES_EXPAND vk_aes_expand_key
#define AES_ENC vk_aes_encrypt_blocks_ni
#define AES_DEC vk_aes_decrypt_blocks_ni
#endif

vk_cipher *vk_cipher_new(int algorithm, const uint8_t *key, size_t key_len) {
    if (algorithm == VK_CIPHER_AES && (vk_cpu_usable() & AES_HW) == 0) return NULL;
    if (algorithm == VK_CIPHER_SM4 ? key_len != 16
        : algorithm == VK_CIPHER_AES ? (key_len != 16 && key_len != 24 && key_len != 32)
        : 1)
        return NULL;
    void *mem = NULL;
    if (posix_memalign(&mem, 32, sizeof(vk_cipher)) != 0) return NULL;
    vk_cipher *c = mem;
    memset(c, 0, sizeof *c);
    c->algorithm = algorithm;
    if (algorithm == VK_CIPHER_SM4) {
        const char *name;
        vk_sm4_tau_fn *tau;
        uint32_t rk[32], rev[32];
        c->enc = c->dec = vk_sm4_select(&name, &tau);
#if defined(__aarch64__)
        if (c->enc == vk_sm4_blocks_sm4e)
            vk_sm4_expand_key_sm4e(key, rk); /* SM4EKEY: four round keys per instruction */
        else
#endif
            vk_sm4_expand_key_with(key, rk, tau);
        for (int i = 0; i < 32; i++) rev[i] = rk[31 - i]; /* decryption: reversed keys (7.2) */
        memcpy(c->enc_ks, rk, sizeof rk);
        memcpy(c->dec_ks, rev, sizeof rev);
        vk_wipe(rk, sizeof rk);
        vk_wipe(rev, sizeof rev);
    } else {
        AES_EXPAND(key, key_len, c->enc_ks, c->dec_ks);
        c->enc = AES_ENC;
        c->dec = AES_DEC;
    }
    return c;
}

void vk_cipher_free(vk_cipher *c) {
    if (c == NULL) return;
    vk_wipe(c, sizeof *c);
    free(c);
}

void vk_cipher_encrypt_blocks(const vk_cipher *c, const uint8_t *in, uint8_t *out, size_t nblocks) {
    if (nblocks) c->enc(c->enc_ks, in, out, nblocks);
}

void vk_cipher_decrypt_blocks(const vk_cipher *c, const uint8_t *in, uint8_t *out, size_t nblocks) {
    if (nblocks) c->dec(c->dec_ks, in, out, nblocks);
}
