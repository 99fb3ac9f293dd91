#ifndef VK_TOKEN_H
#define VK_TOKEN_H
#include <stddef.h>
#include <stdint.h>

/* Batches of structured identifiers for the recipes: the card and resident ID token formats over
 * FF1 (vk_ff1, radix 10), the whole batch in one call, in place on ASCII rows (vaultkit.tokens
 * CardFormat, CnIdFormat; the Python recipes are the reference of the scheme and the fallback),
 * and blind indexes over HMAC-SM3 (vk_hash) of rows already in normal form.
 *
 * `buf` holds `rows` rows of ASCII characters, row i at buf + i * stride (stride >= the row's
 * length; the bytes between rows are left alone). Returns 0; -1 on arguments outside the
 * contracts below (the caller checks them first), when out of memory or when FF1 refuses; or
 * 1 + the index of the first row that is not valid input (buf is unspecified after an error:
 * rows before the invalid one may have been changed).
 *
 * The FF1 key must have radix 10 (the caller checks). No branch or memory index depends on a
 * digit, except cycle walking's number of rounds per value (inherent to the scheme) and the
 * validation verdict. */

/* CardFormat (ISO/IEC 7812-1): rows of n digits (8..28); the first keep_prefix and the last
 * keep_suffix digits are kept, m = n - keep_prefix - keep_suffix >= 6 (caller checks).
 * m > 6: the first m - 1 middle digits are FF1-encrypted (decrypted) and the last middle digit
 * recomputed for a Luhn sum of 0; m == 6: the 6 middle digits are cycle-walked through FF1 until
 * their Luhn contribution is back to the input's. luhn_invalid: tokens have a Luhn sum of 5 (the
 * last middle digit re-solved). Input rows must have a Luhn sum of 0 (tokens of a luhn_invalid
 * format when decrypting: 5). */
VK_EXPORT int64_t vk_token_card(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len,
                                uint8_t *buf, size_t rows, size_t stride, uint32_t n,
                                uint32_t keep_prefix, uint32_t keep_suffix, int luhn_invalid,
                                int decrypt);

/* CnIdFormat (GB 11643-1999): rows of 18 characters, 17 digits and a check character (digit or
 * upper-case X) that must be valid (ISO 7064 MOD 11-2), birth date a real day in
 * 1900-01-01..2099-12-31 (day index D from 0). x = D * 1000 + S (keep_sex: + S / 2) is cycle-walked
 * through FF1 over 8 digits until D' < 73049 (keep_sex: and S' / 2 < 500); the row gets the date
 * and sequence of the result (keep_sex: the input's parity) and a recomputed check character. */
VK_EXPORT int64_t vk_token_cn_id(const vk_ff1 *f, const uint8_t *tweak, size_t tweak_len,
                                 uint8_t *buf, size_t rows, size_t stride, int keep_sex,
                                 int decrypt);

/* Blind indexes (vaultkit.blindindex) of a batch already in normal form. */

/* Per row (`width` bytes at buf + i * stride), the first out_len (1..32) bytes of HMAC-SM3 under
 * h, the last of them ANDed with last_mask, written to out + i * out_len. With luhn != 0 every row
 * must be `width` (8..28) ASCII digits passing Luhn (card numbers in normal form). Returns 0; -1
 * on bad arguments or out of memory; 1 + the index of the first row failing the luhn check (out
 * is then unspecified). */
VK_EXPORT int64_t vk_token_hmac_sm3_rows(const vk_hmac_sm3 *h, const uint8_t *buf, size_t rows,
                                         size_t stride, size_t width, int luhn, uint8_t *out,
                                         size_t out_len, uint8_t last_mask);

#endif
