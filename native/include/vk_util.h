#ifndef VK_UTIL_H
#define VK_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Version of the native ABI; bindings refuse a module whose version differs. */
VK_EXPORT uint32_t vk_abi_version(void);

/* Constant-time equality of a[0..n) and b[0..n): returns 1 if equal, 0 otherwise. Time depends
 * only on n. */
VK_EXPORT int vk_ct_eq(const uint8_t *a, const uint8_t *b, size_t n);

/* Overwrite p[0..n) with zeros in a way the compiler cannot elide. */
VK_EXPORT void vk_wipe(void *p, size_t n);

/* CPU features the dispatcher sees, as a bit set of VK_CPU_* values (see vk_cpu_* names). */
VK_EXPORT uint32_t vk_cpu_features(void);

#endif
