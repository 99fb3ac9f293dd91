#ifndef VK_GCM_H
#define VK_GCM_H
#include <stddef.h>
#include <stdint.h>

/* GCM (NIST SP 800-38D) over SM4 or AES with 12-byte nonces (J0 = IV || 0^31 || 1, 7.1 step 2)
 * and 16-byte tags. GHASH uses PCLMULQDQ or aarch64 PMULL (8-block aggregated reduction) or a
 * portable constant-time multiply; the tag check is constant time and a failed check releases no
 * plaintext (the output is zeroed). Sealed output is ciphertext || tag. */
typedef struct vk_gcm vk_gcm;

/* New GCM key (cipher schedule + GHASH tables, wiped by vk_gcm_free); NULL as vk_cipher_new. */
VK_EXPORT vk_gcm *vk_gcm_new(int algorithm, const uint8_t *key, size_t key_len);
VK_EXPORT void vk_gcm_free(vk_gcm *g);

/* Seal one message: out[0..len) = ciphertext, out[len..len+16) = tag. out must not overlap in. */
VK_EXPORT void vk_gcm_seal(const vk_gcm *g, const uint8_t *nonce, const uint8_t *in, size_t len,
                           const uint8_t *ad, size_t ad_len, uint8_t *out);

/* Open one message: in = ciphertext || tag (len >= 16), out receives len - 16 bytes. Returns 0
 * when the tag verifies, -1 otherwise (out then all zero). out must not overlap in. */
VK_EXPORT int vk_gcm_open(const vk_gcm *g, const uint8_t *nonce, const uint8_t *in, size_t len,
                          const uint8_t *ad, size_t ad_len, uint8_t *out);

/* Seal `count` messages under one key in one call. nonces: 12 * count bytes; message i is
 * lens[i] bytes of the flat `data` (consecutive), its associated data ad_lens[i] bytes of the flat
 * `ads`; or, when ad_lens is NULL, every message's associated data is ads[0..shared_ad_len)
 * (hashed once). out receives, consecutively, ciphertext i || tag i (lens[i] + 16 bytes each). */
VK_EXPORT void vk_gcm_seal_many(const vk_gcm *g, size_t count, const uint8_t *nonces,
                                const uint8_t *data, const uint32_t *lens, const uint8_t *ads,
                                const uint32_t *ad_lens, size_t shared_ad_len, uint8_t *out);

/* Open `count` messages (layout and associated data as vk_gcm_seal_many): message i is lens[i]
 * bytes (ciphertext || tag) of `data`; out receives
 * plaintext i (lens[i] - 16 bytes, all zero when its tag fails) consecutively; ok[i] = 1 when tag
 * i verifies, else 0 (also for lens[i] < 16, which then takes no output space). Returns the number
 * of failures. */
VK_EXPORT size_t vk_gcm_open_many(const vk_gcm *g, size_t count, const uint8_t *nonces,
                                  const uint8_t *data, const uint32_t *lens, const uint8_t *ads,
                                  const uint32_t *ad_lens, size_t shared_ad_len, uint8_t *out,
                                  uint8_t *ok);

/* Flat batches (vaultkit.hazmat.aead encrypt_flat / decrypt_flat): the records of a batch in one
 * buffer, record i being data[offs[i] .. offs[i + 1]) (offs: count + 1 offsets). Associated data:
 * with ad_offs NULL, ads[0..ads_len) for every record (hashed once); otherwise AD i is
 * ads[ad_offs[i] .. ad_offs[i + 1]). Both return -1, having written nothing, when offs is not
 * non-decreasing or ends past data_len, when ad_offs (count + 1 entries) is not or ends past
 * ads_len, or (opening) when a record is shorter than skip + 28 bytes. Otherwise out_offs (count + 1
 * entries) receives where each output record starts in `out` (out_offs[count]: the bytes
 * written), and record i is written at out_offs[i].
 *
 * Seal: record i is plaintext i, sealed under nonce i (nonces[12 i .. 12 i + 12)); output record
 * i is head[0..head_len) || nonce i || ciphertext i || tag i, and `out` must hold
 * offs[count] - offs[0] + count * (head_len + 28) bytes. Returns 0.
 * Open: record i is skip bytes (not read: a header the caller binds through the AD) || nonce (12)
 * || ciphertext || tag (16); output record i is plaintext i (all zero when its tag fails), and
 * `out` must hold offs[count] - offs[0] - count * (skip + 28) bytes (at least 1). ok[i] = 1 when
 * tag i verifies, else 0. Returns the number of failures. */
VK_EXPORT int64_t vk_gcm_seal_flat(const vk_gcm *g, size_t count, const uint8_t *nonces,
                                   const uint8_t *data, size_t data_len, const uint64_t *offs,
                                   const uint8_t *head, size_t head_len, const uint8_t *ads,
                                   size_t ads_len, const uint64_t *ad_offs, uint8_t *out,
                                   uint64_t *out_offs);
VK_EXPORT int64_t vk_gcm_open_flat(const vk_gcm *g, size_t count, const uint8_t *data,
                                   size_t data_len, const uint64_t *offs, size_t skip,
                                   const uint8_t *ads, size_t ads_len, const uint64_t *ad_offs,
                                   uint8_t *out, uint64_t *out_offs, uint8_t *ok);

/* Records (vaultkit.envelope's single field): one message stored as head || nonce || ciphertext ||
 * tag, whose associated data is head || ad; the two parts of the AD are hashed where they are
 * (no joined copy), so a record costs one call.
 *
 * A vk_gcm_records holds what the records of one head share: the GCM key g (borrowed: the caller
 * keeps g alive as long as the object), a copy of head (head_len bytes) with GHASH over its whole
 * blocks precomputed, and base, a 12-byte big-endian integer (sealing). NULL when out of memory.
 * Free with vk_gcm_records_free, which wipes it.
 *
 * Seal: out (head_len + 28 + len bytes, not overlapping the inputs) receives head || nonce ||
 * ciphertext || tag, the nonce being base + counter: SP 800-38D 8.2.1's deterministic
 * construction (the caller keeps its counters distinct under one base and key, and
 * base + counter < 2^96).
 *
 * Open: record is len bytes, head (not read: the object's copy is what the AD hashes, so the
 * caller gives records that begin with it) || nonce (12) || ciphertext || tag (16); out (not
 * overlapping the record) receives the len - head_len - 28 bytes of plaintext. Returns 0 when the
 * tag verifies, -1 when it does not (out then all zero), -2 when len < head_len + 28 (nothing
 * written). */
typedef struct vk_gcm_records vk_gcm_records;
VK_EXPORT vk_gcm_records *vk_gcm_records_new(const vk_gcm *g, const uint8_t *head, size_t head_len,
                                             const uint8_t *base);
VK_EXPORT void vk_gcm_records_free(vk_gcm_records *r);
VK_EXPORT void vk_gcm_records_seal(const vk_gcm_records *r, uint64_t counter, const uint8_t *in,
                                   size_t len, const uint8_t *ad, size_t ad_len, uint8_t *out);
VK_EXPORT int vk_gcm_records_open(const vk_gcm_records *r, const uint8_t *record, size_t len,
                                  const uint8_t *ad, size_t ad_len, uint8_t *out);

/* Which GHASH implementation vk_gcm_new selects now: "pclmul" (aarch64: "pmull") or
 * "portable-ct". */
VK_EXPORT const char *vk_ghash_impl(void);

#endif
