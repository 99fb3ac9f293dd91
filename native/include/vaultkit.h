/* vaultkit native core: umbrella header.
 *
 * Each area has one header native/include/vk_<area>.h that is at once the C declaration and the
 * cffi cdef source (the builder concatenates them and drops preprocessor lines), so only plain
 * declarations that cffi can parse go in them. Internal helpers shared between C files live in
 * native/src/internal.h, never here.
 */
#ifndef VAULTKIT_H
#define VAULTKIT_H
#include <stddef.h>
#include <stdint.h>
#define VK_EXPORT
#include "vk_util.h"
#include "vk_cipher.h"
#include "vk_gcm.h"
#include "vk_ff1.h"
#include "vk_hash.h"
#include "vk_token.h"
#endif
