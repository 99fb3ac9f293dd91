# Type stub of the cffi extension built from native/ (src/vaultkit/hazmat/bindings/_build.py):
# ``ffi`` (the parts of cffi's FFI the bindings use) and ``lib``, one method per function of the
# area headers native/include/vk_*.h with the C types mapped to Python's. tests/native/
# test_stub.py checks that it declares exactly the compiled module's functions and constants.
from collections.abc import Callable
from typing import Literal, overload

from typing_extensions import Buffer as _PyBuffer

class CData:
    """A cffi pointer or array (opaque here)."""

    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    def __getitem__(self, index: int) -> int: ...
    def __setitem__(self, index: int, value: int) -> None: ...
    def __len__(self) -> int: ...

class Buffer:
    """``ffi.buffer(...)``: a view of C memory, sliced into ``bytes``."""

    def __getitem__(self, index: int | slice[int | None, int | None, int | None]) -> bytes: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview[int]: ...

_In = bytes | CData  # const uint8_t * (cffi passes a bytes object's buffer)
# uint8_t * written by C: a cffi buffer, or a fresh bytes(n), n >= 1, that C fills in place
# (_native_cipher's record calls, where cffi passes the object's own data)
_Out = bytes | CData
_Allocator = Callable[[str, int], CData]

class FFI:
    NULL: CData
    def new(self, cdecl: str, init: int | bytes | None = ...) -> CData: ...
    def new_allocator(
        self,
        alloc: Callable[[int], CData] | None = ...,
        free: Callable[[CData], None] | None = ...,
        should_clear_after_alloc: bool = ...,
    ) -> _Allocator: ...
    def buffer(self, cdata: CData, size: int = ...) -> Buffer: ...
    @overload
    def from_buffer(self, python_buffer: _PyBuffer, /) -> CData: ...
    @overload
    def from_buffer(
        self, cdecl: str, python_buffer: _PyBuffer, /, require_writable: bool = ...
    ) -> CData: ...
    def gc(self, cdata: CData, destructor: Callable[[CData], None], size: int = ...) -> CData: ...
    def string(self, cdata: CData, maxlen: int = ...) -> bytes: ...
    def memmove(self, dest: CData | _PyBuffer, src: CData | _PyBuffer, n: int) -> None: ...

class Lib:
    # vk_util.h
    def vk_abi_version(self) -> int: ...
    def vk_ct_eq(self, a: _In, b: _In, n: int) -> int: ...
    def vk_wipe(self, p: CData, n: int) -> None: ...
    def vk_cpu_features(self) -> int: ...
    # vk_cipher.h
    VK_CIPHER_SM4: Literal[1]
    VK_CIPHER_AES: Literal[2]
    def vk_cipher_new(self, algorithm: int, key: _In, key_len: int) -> CData: ...
    def vk_cipher_free(self, c: CData) -> None: ...
    def vk_cipher_encrypt_blocks(self, c: CData, data: _In, out: CData, nblocks: int) -> None: ...
    def vk_cipher_decrypt_blocks(self, c: CData, data: _In, out: CData, nblocks: int) -> None: ...
    def vk_sm4_impl(self) -> CData: ...
    # vk_gcm.h
    def vk_gcm_new(self, algorithm: int, key: _In, key_len: int) -> CData: ...
    def vk_gcm_free(self, g: CData) -> None: ...
    def vk_gcm_seal(
        self, g: CData, nonce: _In, data: _In, len: int, ad: _In, ad_len: int, out: CData
    ) -> None: ...
    def vk_gcm_open(
        self, g: CData, nonce: _In, data: _In, len: int, ad: _In, ad_len: int, out: CData
    ) -> int: ...
    def vk_gcm_seal_many(
        self,
        g: CData,
        count: int,
        nonces: _In,
        data: _In,
        lens: CData,
        ads: _In,
        ad_lens: CData,
        shared_ad_len: int,
        out: CData,
    ) -> None: ...
    def vk_gcm_open_many(
        self,
        g: CData,
        count: int,
        nonces: _In,
        data: _In,
        lens: CData,
        ads: _In,
        ad_lens: CData,
        shared_ad_len: int,
        out: CData,
        ok: CData,
    ) -> int: ...
    def vk_gcm_seal_flat(
        self,
        g: CData,
        count: int,
        nonces: _In,
        data: _In,
        data_len: int,
        offs: CData,
        head: _In,
        head_len: int,
        ads: _In,
        ads_len: int,
        ad_offs: CData,
        out: CData,
        out_offs: CData,
    ) -> int: ...
    def vk_gcm_open_flat(
        self,
        g: CData,
        count: int,
        data: _In,
        data_len: int,
        offs: CData,
        skip: int,
        ads: _In,
        ads_len: int,
        ad_offs: CData,
        out: CData,
        out_offs: CData,
        ok: CData,
    ) -> int: ...
    def vk_gcm_records_new(self, g: CData, head: _In, head_len: int, base: _In) -> CData: ...
    def vk_gcm_records_free(self, r: CData) -> None: ...
    def vk_gcm_records_seal(
        self, r: CData, counter: int, data: _In, len: int, ad: _In, ad_len: int, out: _Out
    ) -> None: ...
    def vk_gcm_records_open(
        self, r: CData, record: _In, len: int, ad: _In, ad_len: int, out: _Out
    ) -> int: ...
    def vk_ghash_impl(self) -> CData: ...
    # vk_ff1.h
    VK_FF1_DIGITS_MAX: Literal[19]
    def vk_ff1_new(self, algorithm: int, key: _In, key_len: int, radix: int) -> CData: ...
    def vk_ff1_free(self, f: CData) -> None: ...
    def vk_ff1_crypt(
        self,
        f: CData,
        tweak: _In,
        tweak_len: int,
        data: _In,
        out: CData,
        lengths: CData,
        count: int,
        decrypt: bool | int,
    ) -> int: ...
    def vk_ff1_crypt_one(
        self,
        f: CData,
        tweak: _In,
        tweak_len: int,
        data: _In,
        out: CData,
        length: int,
        decrypt: bool | int,
    ) -> int: ...
    def vk_ff1_crypt_digits(
        self,
        f: CData,
        tweak: _In,
        tweak_len: int,
        digits: _In,
        length: int,
        decrypt: bool | int,
    ) -> int: ...
    # vk_hash.h
    VK_SM3_DIGEST_SIZE: Literal[32]
    VK_SM3_BLOCK_SIZE: Literal[64]
    def vk_sm3_digest(self, data: _In, len: int, out: _Out) -> None: ...
    def vk_sm3_digest_many(self, data: _In, lens: CData, count: int, out: CData) -> None: ...
    def vk_hmac_sm3_new(self, key: _In, key_len: int) -> CData: ...
    def vk_hmac_sm3_free(self, h: CData) -> None: ...
    def vk_hmac_sm3_digest(self, h: CData, data: _In, len: int, out: CData) -> None: ...
    def vk_hmac_sm3_digest_many(
        self, h: CData, data: _In, lens: CData, count: int, out: CData
    ) -> None: ...
    def vk_hmac_sm3_flat(
        self,
        h: CData,
        count: int,
        data: _In,
        data_len: int,
        offs: CData,
        stride: int,
        width: int,
        out: CData,
        out_len: int,
        last_mask: int,
    ) -> int: ...
    def vk_sm3_impl(self) -> CData: ...
    # vk_token.h
    def vk_token_card(
        self,
        f: CData,
        tweak: _In,
        tweak_len: int,
        buf: CData,
        rows: int,
        stride: int,
        n: int,
        keep_prefix: int,
        keep_suffix: int,
        luhn_invalid: bool | int,
        decrypt: bool | int,
    ) -> int: ...
    def vk_token_cn_id(
        self,
        f: CData,
        tweak: _In,
        tweak_len: int,
        buf: CData,
        rows: int,
        stride: int,
        keep_sex: bool | int,
        decrypt: bool | int,
    ) -> int: ...
    def vk_token_hmac_sm3_rows(
        self,
        h: CData,
        buf: _In,
        rows: int,
        stride: int,
        width: int,
        luhn: bool | int,
        out: CData,
        out_len: int,
        last_mask: int,
    ) -> int: ...

ffi: FFI
lib: Lib
