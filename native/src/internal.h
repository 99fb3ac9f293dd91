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

/* Features usable now: detected by CPUID and allowed by the VAULTKIT_CPU_MASK environment variable
 * (a decimal mask; tests use it to force the portable paths). */
uint32_t vk_cpu_usable(void);

#endif
