#define _DEFAULT_SOURCE
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vaultkit.h"
#include "internal.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h> /* getauxval(AT_HWCAP): the kernel's view of the CPU (ID registers) */
#endif

uint32_t vk_abi_version(void) { return VK_ABI_VERSION; }

int vk_ct_eq(const uint8_t *a, const uint8_t *b, size_t n) {
    uint32_t d = 0;
    for (size_t i = 0; i < n; i++) d |= (uint32_t)(a[i] ^ b[i]);
    /* (d - 1) >> 31 is 1 only when d == 0, without a branch on d. */
    return (int)((d - 1u) >> 31);
}

void vk_wipe(void *p, size_t n) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
    explicit_bzero(p, n);
#else
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) *v++ = 0;
#endif
}

static uint32_t detect(void) {
    uint32_t f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("aes")) f |= VK_CPU_AESNI;
    if (__builtin_cpu_supports("pclmul")) f |= VK_CPU_PCLMUL;
    if (__builtin_cpu_supports("avx2")) f |= VK_CPU_AVX2;
    if (__builtin_cpu_supports("ssse3")) f |= VK_CPU_SSSE3;
    if (__builtin_cpu_supports("gfni")) f |= VK_CPU_GFNI;
    if (__builtin_cpu_supports("vaes")) f |= VK_CPU_VAES;
    if (__builtin_cpu_supports("avx512f")) f |= VK_CPU_AVX512;
#elif defined(__aarch64__) && defined(__linux__)
    /* Linux arch/arm64 HWCAP_* bits of AT_HWCAP (uapi asm/hwcap.h; spelled out so old headers
     * build too): ASIMD 1, AES 3, PMULL 4, SM3 18, SM4 19. */
    unsigned long hw = getauxval(AT_HWCAP);
    if (hw & (1ul << 1)) f |= VK_CPU_ARM_NEON;
    if (hw & (1ul << 3)) f |= VK_CPU_ARM_AES;
    if (hw & (1ul << 4)) f |= VK_CPU_ARM_PMULL;
    if (hw & (1ul << 18)) f |= VK_CPU_ARM_SM3;
    if (hw & (1ul << 19)) f |= VK_CPU_ARM_SM4;
#endif
    return f;
}

uint32_t vk_cpu_features(void) { return detect(); }

/* Computed once and cached in one atomic word (bit 31: computed), so that threads calling this
 * at the same time (key objects made on two threads) never see the flag without the features:
 * two plain statics could be read as "cached, no features" and pick slower or fallback paths. */
#define VK_CPU_CACHED 0x80000000u

uint32_t vk_cpu_usable(void) {
    static _Atomic uint32_t state = 0;
    uint32_t s = atomic_load_explicit(&state, memory_order_acquire);
    if (s & VK_CPU_CACHED) return s & ~VK_CPU_CACHED;
    uint32_t f = detect();
    const char *mask = getenv("VAULTKIT_CPU_MASK");
    if (mask && *mask) f &= (uint32_t)strtoul(mask, NULL, 10);
    f &= ~VK_CPU_CACHED;
    atomic_store_explicit(&state, f | VK_CPU_CACHED, memory_order_release); /* same value */
    return f;
}
