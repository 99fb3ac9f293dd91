/* AES-128/192/256 (FIPS 197) with the ARMv8 Cryptography Extensions: key expansion, encryption
 * and decryption, 8 blocks interleaved. Compiles to nothing on other architectures.
 *
 * AESE k = SubBytes(ShiftRows(x ^ k)) and AESMC = MixColumns, so a round of FIPS 197 5.1 is
 * AESMC(AESE(x, rk[r])) with the key added one instruction early and the last key XORed at the
 * end; decryption uses AESD/AESIMC with the equivalent inverse cipher's schedule (5.3.5), the same
 * layout as aes_ni.c (uint32 rounds at offset 0, rounds + 1 round keys from offset 16). The
 * instructions use no tables and are on Arm's data-independent-timing (FEAT_DIT) list. Target
 * "+crypto": the module runs on every ARM64 CPU, and vk_cipher_new calls these only when
 * HWCAP_AES is reported.
 */
#include <stdint.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define T_AES __attribute__((target("+crypto")))

/* FIPS 197 5.2 SubWord through AESE with a zero key: the word in all four columns makes
 * ShiftRows a no-op on column 0. */
T_AES static uint32_t sub_word(uint32_t w) {
    uint8x16_t x = vaeseq_u8(vreinterpretq_u8_u32(vdupq_n_u32(w)), vdupq_n_u8(0));
    return vgetq_lane_u32(vreinterpretq_u32_u8(x), 0);
}

/* FIPS 197 5.2 KeyExpansion (words little-endian, RotWord a right rotation by 8) and the
 * equivalent inverse cipher's schedule (5.3.5: InvMixColumns on the middle round keys). */
T_AES int vk_aes_expand_key_ce(const uint8_t *key, size_t key_len, uint8_t *enc_ks,
                               uint8_t *dec_ks) {
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
    uint8_t *ek = enc_ks + 16, *dk = dec_ks + 16;
    memcpy(dk, ek + 16 * nr, 16);
    for (unsigned i = 1; i < nr; i++) vst1q_u8(dk + 16 * i, vaesimcq_u8(vld1q_u8(ek + 16 * (nr - i))));
    memcpy(dk + 16 * nr, ek, 16);
    vk_wipe(w, sizeof w);
    return 0;
}

#define AES_LANES 8

/* ECB encryption of nblocks blocks under an enc schedule; in == out allowed. */
T_AES void vk_aes_encrypt_blocks_ce(const void *ks, const uint8_t *in, uint8_t *out,
                                    size_t nblocks) {
    const uint8_t *p = (const uint8_t *)ks;
    uint32_t nr;
    memcpy(&nr, p, 4);
    uint8x16_t rk[15];
    for (uint32_t r = 0; r <= nr; r++) rk[r] = vld1q_u8(p + 16 + 16 * r);
    for (; nblocks >= AES_LANES; nblocks -= AES_LANES, in += 16 * AES_LANES, out += 16 * AES_LANES) {
        uint8x16_t b[AES_LANES];
        for (int j = 0; j < AES_LANES; j++) b[j] = vld1q_u8(in + 16 * j);
        for (uint32_t r = 0; r + 1 < nr; r++)
            for (int j = 0; j < AES_LANES; j++) b[j] = vaesmcq_u8(vaeseq_u8(b[j], rk[r]));
        for (int j = 0; j < AES_LANES; j++)
            vst1q_u8(out + 16 * j, veorq_u8(vaeseq_u8(b[j], rk[nr - 1]), rk[nr]));
    }
    for (; nblocks; nblocks--, in += 16, out += 16) {
        uint8x16_t b = vld1q_u8(in);
        for (uint32_t r = 0; r + 1 < nr; r++) b = vaesmcq_u8(vaeseq_u8(b, rk[r]));
        vst1q_u8(out, veorq_u8(vaeseq_u8(b, rk[nr - 1]), rk[nr]));
    }
}

/* ECB decryption of nblocks blocks under a dec schedule (equivalent inverse cipher). */
T_AES void vk_aes_decrypt_blocks_ce(const void *ks, const uint8_t *in, uint8_t *out,
                                    size_t nblocks) {
    const uint8_t *p = (const uint8_t *)ks;
    uint32_t nr;
    memcpy(&nr, p, 4);
    uint8x16_t rk[15];
    for (uint32_t r = 0; r <= nr; r++) rk[r] = vld1q_u8(p + 16 + 16 * r);
    for (; nblocks >= AES_LANES; nblocks -= AES_LANES, in += 16 * AES_LANES, out += 16 * AES_LANES) {
        uint8x16_t b[AES_LANES];
        for (int j = 0; j < AES_LANES; j++) b[j] = vld1q_u8(in + 16 * j);
        for (uint32_t r = 0; r + 1 < nr; r++)
            for (int j = 0; j < AES_LANES; j++) b[j] = vaesimcq_u8(vaesdq_u8(b[j], rk[r]));
        for (int j = 0; j < AES_LANES; j++)
            vst1q_u8(out + 16 * j, veorq_u8(vaesdq_u8(b[j], rk[nr - 1]), rk[nr]));
    }
    for (; nblocks; nblocks--, in += 16, out += 16) {
        uint8x16_t b = vld1q_u8(in);
        for (uint32_t r = 0; r + 1 < nr; r++) b = vaesimcq_u8(vaesdq_u8(b, rk[r]));
        vst1q_u8(out, veorq_u8(vaesdq_u8(b, rk[nr - 1]), rk[nr]));
    }
}

#endif
