/* AES-128/192/256 (FIPS 197) with AES-NI: key expansion, encryption and decryption, 8 blocks
 * interleaved. AES-NI runs in constant time (no tables). Without AES-NI vk_cipher_new refuses
 * AES and Python uses the reference backend (OpenSSL), so there is no portable AES here.
 *
 * Schedule layout (enc_ks / dec_ks of struct vk_cipher): uint32 number of rounds at offset 0,
 * then rounds + 1 round keys of 16 bytes from offset 16.
 */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AESNI __attribute__((target("aes")))

/* FIPS 197 5.2 SubWord on a word held little-endian, through AESKEYGENASSIST (constant time). */
AESNI static uint32_t sub_word(uint32_t w) {
    __m128i v = _mm_set_epi32(0, 0, (int)w, 0); /* dword 1 = w; result dword 0 = SubWord(w) */
    return (uint32_t)_mm_cvtsi128_si32(_mm_aeskeygenassist_si128(v, 0));
}

/* FIPS 197 5.2 KeyExpansion (words little-endian, so RotWord is a right rotation by 8) and the
 * equivalent inverse cipher's schedule (5.3.5: InvMixColumns on the middle round keys). */
AESNI int vk_aes_expand_key(const uint8_t *key, size_t key_len, uint8_t *enc_ks, uint8_t *dec_ks) {
    static const uint8_t RCON[10] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36};
    if (key_len != 16 && key_len != 24 && key_len != 32) return -1;
    const unsigned nk = (unsigned)key_len / 4, nr = nk + 6, total = 4 * (nr + 1);
    uint32_t w[60];
    memcpy(w, key, key_len);
    for (unsigned i = nk; i < total; i++) {
        uint32_t t = w[i - 1];
        if (i % nk == 0)
            t = sub_word((t >> 8) | (t << 24)) ^ RCON[i / nk - 1];
        else if (nk > 6 && i % nk == 4)
            t = sub_word(t);
        w[i] = w[i - nk] ^ t;
    }
    uint32_t rounds = nr;
    memcpy(enc_ks, &rounds, 4);
    memcpy(dec_ks, &rounds, 4);
    memcpy(enc_ks + 16, w, 16 * (nr + 1));
    __m128i *ek = (__m128i *)(enc_ks + 16), *dk = (__m128i *)(dec_ks + 16);
    dk[0] = ek[nr];
    for (unsigned i = 1; i < nr; i++) dk[i] = _mm_aesimc_si128(ek[nr - i]);
    dk[nr] = ek[0];
    vk_wipe(w, sizeof w);
    return 0;
}

#define AES_LANES 8

/* ECB encryption of nblocks blocks under an enc schedule; in == out allowed. */
AESNI void vk_aes_encrypt_blocks_ni(const void *ks, const uint8_t *in, uint8_t *out,
                                    size_t nblocks) {
    const uint8_t *p = (const uint8_t *)ks;
    uint32_t nr;
    memcpy(&nr, p, 4);
    const __m128i *rk = (const __m128i *)(p + 16);
    for (; nblocks >= AES_LANES; nblocks -= AES_LANES, in += 16 * AES_LANES, out += 16 * AES_LANES) {
        __m128i b[AES_LANES];
        for (int j = 0; j < AES_LANES; j++)
            b[j] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * j)), rk[0]);
        for (uint32_t r = 1; r < nr; r++)
            for (int j = 0; j < AES_LANES; j++) b[j] = _mm_aesenc_si128(b[j], rk[r]);
        for (int j = 0; j < AES_LANES; j++)
            _mm_storeu_si128((__m128i *)(out + 16 * j), _mm_aesenclast_si128(b[j], rk[nr]));
    }
    for (; nblocks; nblocks--, in += 16, out += 16) {
        __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in), rk[0]);
        for (uint32_t r = 1; r < nr; r++) b = _mm_aesenc_si128(b, rk[r]);
        _mm_storeu_si128((__m128i *)out, _mm_aesenclast_si128(b, rk[nr]));
    }
}

/* ECB decryption of nblocks blocks under a dec schedule (equivalent inverse cipher). */
AESNI void vk_aes_decrypt_blocks_ni(const void *ks, const uint8_t *in, uint8_t *out,
                                    size_t nblocks) {
    const uint8_t *p = (const uint8_t *)ks;
    uint32_t nr;
    memcpy(&nr, p, 4);
    const __m128i *rk = (const __m128i *)(p + 16);
    for (; nblocks >= AES_LANES; nblocks -= AES_LANES, in += 16 * AES_LANES, out += 16 * AES_LANES) {
        __m128i b[AES_LANES];
        for (int j = 0; j < AES_LANES; j++)
            b[j] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * j)), rk[0]);
        for (uint32_t r = 1; r < nr; r++)
            for (int j = 0; j < AES_LANES; j++) b[j] = _mm_aesdec_si128(b[j], rk[r]);
        for (int j = 0; j < AES_LANES; j++)
            _mm_storeu_si128((__m128i *)(out + 16 * j), _mm_aesdeclast_si128(b[j], rk[nr]));
    }
    for (; nblocks; nblocks--, in += 16, out += 16) {
        __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in), rk[0]);
        for (uint32_t r = 1; r < nr; r++) b = _mm_aesdec_si128(b, rk[r]);
        _mm_storeu_si128((__m128i *)out, _mm_aesdeclast_si128(b, rk[nr]));
    }
}

#else /* not x86: vk_cipher_new refuses AES before reaching these */
int vk_aes_expand_key(const uint8_t *key, size_t key_len, uint8_t *enc_ks, uint8_t *dec_ks) {
    (void)key; (void)key_len; (void)enc_ks; (void)dec_ks;
    return -1;
}
void vk_aes_encrypt_blocks_ni(const void *ks, const uint8_t *in, uint8_t *out, size_t n) {
    (void)ks; (void)in; (void)out; (void)n;
}
void vk_aes_decrypt_blocks_ni(const void *ks, const uint8_t *in, uint8_t *out, size_t n) {
    (void)ks; (void)in; (void)out; (void)n;
}
#endif
