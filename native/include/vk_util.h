#ifndef VK_UTIL_H
#define VK_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Version of the native ABI; bindings refuse a module whose version differs. */
VK_EXPORT uint32_t vk_abi_version(void);

/* Constant-time equality of a[0..n) and b[0..n): returns 1 if equal, 0 otherwise. Time depends
 * only on n. */
VK_EXPORT int vk_ct_eq(const uint8_t *a, const uint8_t *b, size_t n);

/* Luhn (ISO/IEC 7812-1 Annex B) over `count` strings of ASCII digits packed in `digits`, the i-th
 * of length lens[i]. out[i] = 1 if valid, 0 if the check digit fails, -1 if a byte is not a digit
 * or the length is 0. */
VK_EXPORT void vk_luhn_check_many(const uint8_t *digits, const uint32_t *lens, size_t count,
                                  int8_t *out);

/* Overwrite p[0..n) with zeros in a way the compiler cannot elide. */
VK_EXPORT void vk_wipe(void *p, size_t n);

/* CPU features the dispatcher sees, as a bit set of VK_CPU_* values (see vk_cpu_* names). */
VK_EXPORT uint32_t vk_cpu_features(void);

#endif
