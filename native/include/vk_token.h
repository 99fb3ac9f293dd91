#ifndef VK_TOKEN_H
#define VK_TOKEN_H
#include <stddef.h>
#include <stdint.h>

/* Structured token formats over FF1 (vk_ff1, radix 10): the whole batch of a card or resident ID
 * token format in one call, in place on ASCII rows (vaultkit.tokens CardFormat, CnIdFormat; the
 * Python recipes are the reference of the scheme and the fallback).
 *
 * `buf` holds `rows` rows of ASCII characters, row i at buf + i * stride (stride >= the row's
 * length; the bytes between rows are left alone). Every row is validated before any is changed.
 * Returns 0; -1 when out of memory or when FF1 refuses (buf is then unspecified); or 1 + the
 * index of the first row that is not valid input (buf unchanged).
 *
 * The FF1 key must have radix 10 (the caller checks). No branch or memory index depends on a
 * digit, except cycle walking's number of rounds per value (inherent to the scheme) and the
 * validation verdict. */

/* CardFormat (ISO/IEC 7812-1): rows of n digits (12..28); the first keep_prefix and the last
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

#endif
