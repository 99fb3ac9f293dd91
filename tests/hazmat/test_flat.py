"""Flat-buffer GCM batches (``encrypt_flat``/``decrypt_flat``, ``FlatBuffer``): equal to the list
API and to the pure-Python reference on random inputs (empty bodies and empty batches included),
and bad offsets give typed errors, never a crash or a read outside the buffer."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.hazmat import _fast, aead, bindings
from vaultkit.hazmat.flat import FlatBuffer

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLASSES = [(aead.SM4GCM, 16), (aead.AES256GCM, 32), (aead.AESGCM, 16)]


@st.composite
def batches(
    draw: st.DrawFn,
) -> tuple[type[aead.SM4GCM], bytes, list[bytes], bytes, list[bytes], bytes]:
    cls, size = draw(st.sampled_from(CLASSES))
    key = draw(st.binary(min_size=size, max_size=size))
    count = draw(st.integers(0, 12))
    bodies = draw(
        st.lists(
            st.one_of(st.just(b""), st.binary(max_size=80), st.binary(min_size=256, max_size=600)),
            min_size=count,
            max_size=count,
        )
    )
    nonces = draw(st.binary(min_size=12 * count, max_size=12 * count))
    ads = draw(st.lists(st.binary(max_size=40), min_size=count, max_size=count))
    head = draw(st.binary(max_size=70))
    return cls, key, bodies, nonces, ads, head  # type: ignore[return-value]


def _expected(
    cls: type[aead.SM4GCM],
    key: bytes,
    bodies: list[bytes],
    nonces: bytes,
    ads: list[bytes],
    head: bytes,
) -> list[bytes]:
    """The records through the list API under the reference backend (the oracle)."""
    ns = [nonces[12 * i : 12 * i + 12] for i in range(len(bodies))]
    with bindings.use("reference"):
        sealed = cls(key).encrypt_many(ns, bodies, ads)
    return [head + n + s for n, s in zip(ns, sealed, strict=True)]


@SETTINGS
@given(batch=batches(), shared=st.booleans())
def test_flat_equals_list_api_and_reference(
    batch: tuple[type[aead.SM4GCM], bytes, list[bytes], bytes, list[bytes], bytes], shared: bool
) -> None:
    cls, key, bodies, nonces, ads, head = batch
    if shared:
        ads = [ads[0]] * len(bodies) if ads else []
    expected = _expected(cls, key, bodies, nonces, ads, head)
    ad: bytes | FlatBuffer = ads[0] if shared and ads else FlatBuffer.join(ads)
    if shared and not ads:
        ad = b""
    for name in bindings.available():
        with bindings.use(name):
            a = cls(key)
            sealed = a.encrypt_flat(nonces, FlatBuffer.join(bodies), ad, head=head)
            assert sealed.items() == expected, name
            assert len(sealed) == len(bodies)
            assert sealed == FlatBuffer.join(expected)
            opened = a.decrypt_flat(sealed, ad, skip=len(head))
            assert opened.items() == bodies, name
            # the list API on the same backend agrees
            ns = [nonces[12 * i : 12 * i + 12] for i in range(len(bodies))]
            assert a.decrypt_many(ns, [r[len(head) + 12 :] for r in expected], ads) == bodies


@SETTINGS
@given(batch=batches(), data=st.data())
def test_a_failing_record_is_named_and_releases_nothing(
    batch: tuple[type[aead.SM4GCM], bytes, list[bytes], bytes, list[bytes], bytes],
    data: st.DataObject,
) -> None:
    cls, key, bodies, nonces, ads, head = batch
    if not bodies:
        return
    records = _expected(cls, key, bodies, nonces, ads, head)
    bad = data.draw(st.integers(0, len(records) - 1))
    flip = data.draw(st.integers(len(head), len(records[bad]) - 1))
    tampered = bytearray(records[bad])
    tampered[flip] ^= 1
    records[bad] = bytes(tampered)
    for name in bindings.available():
        with bindings.use(name), pytest.raises(DecryptionError) as info:
            cls(key).decrypt_flat(FlatBuffer.join(records), FlatBuffer.join(ads), skip=len(head))
        assert info.value.where == f"item {bad}", name


def test_offsets_that_do_not_start_at_zero() -> None:
    key, nonces = bytes(16), bytes(range(24))
    pad = b"\xaa" * 5
    plain = FlatBuffer(pad + b"abc" + b"defgh", [5, 8, 13])
    assert plain.items() == [b"abc", b"defgh"] and plain.width is None
    for name in bindings.available():
        with bindings.use(name):
            g = aead.SM4GCM(key)
            sealed = g.encrypt_flat(nonces, plain, b"ad")
            assert sealed.items() == [
                nonces[:12] + g.encrypt(nonces[:12], b"abc", b"ad"),
                nonces[12:] + g.encrypt(nonces[12:], b"defgh", b"ad"),
            ]
            shifted = FlatBuffer(pad + sealed.data, [o + 5 for o in sealed.offsets])
            assert g.decrypt_flat(shifted, b"ad").items() == [b"abc", b"defgh"]


def test_empty_batch_and_empty_bodies() -> None:
    for name in bindings.available():
        with bindings.use(name):
            g = aead.AES256GCM(bytes(32))
            empty = g.encrypt_flat(b"", FlatBuffer.join([]), b"x", head=b"h")
            assert len(empty) == 0 and empty.items() == [] and empty.data == b""
            assert g.decrypt_flat(empty, b"x", skip=1).items() == []
            sealed = g.encrypt_flat(bytes(36), FlatBuffer.join([b""] * 3))
            assert sealed.width == 28
            assert g.decrypt_flat(sealed).items() == [b"", b"", b""]


# -- bad input: typed errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "offsets",
    [[], [0, 4, 2], [0, 99], [-1, 3], [3, 2], [0, 2**64]],
)
def test_flatbuffer_refuses_bad_offsets(offsets: list[int]) -> None:
    with pytest.raises(InputFormatError):
        FlatBuffer(b"abcdefgh", offsets)


def test_flatbuffer_refuses_wrong_types() -> None:
    with pytest.raises(VaultkitTypeError):
        FlatBuffer("text", [0])  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        FlatBuffer(b"ab", ["0", "2"])  # type: ignore[list-item]
    with pytest.raises(VaultkitTypeError):
        FlatBuffer.join(b"abc")
    with pytest.raises(VaultkitTypeError):
        FlatBuffer.join([b"a", "b"])  # type: ignore[list-item]
    with pytest.raises(IndexError):
        FlatBuffer.join([b"a"])[1]
    assert "abc" not in repr(FlatBuffer.join([b"abc"]))  # no contents in the repr


def test_public_flat_calls_refuse_bad_arguments() -> None:
    g = aead.SM4GCM(bytes(16))
    two = FlatBuffer.join([b"a", b"b"])
    with pytest.raises(UnsupportedAlgorithmError):
        g.encrypt_flat(bytes(12), two)  # one nonce for two items
    with pytest.raises(VaultkitTypeError):
        g.encrypt_flat(bytes(24), [b"a", b"b"])  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        g.encrypt_flat(bytes(24), two, FlatBuffer.join([b"x"]))  # one AD for two items
    with pytest.raises(VaultkitTypeError):
        g.decrypt_flat(two, skip=-1)
    with pytest.raises(InputFormatError):  # records shorter than nonce + tag
        g.decrypt_flat(two)
    sealed = g.encrypt_flat(bytes(24), two, head=b"hh")
    with pytest.raises(InputFormatError):  # skip beyond the records' room
        g.decrypt_flat(sealed, skip=40)


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize(
    "offsets",
    [
        array("Q", [0, 10, 5]),  # decreasing
        array("Q", [0, 4, 1000]),  # past the end
        array("Q", [2**63, 2**63 + 1]),  # far outside
        array("Q", [5, 0]),  # decreasing from a non-zero start
    ],
)
def test_backends_refuse_bad_offsets_before_touching_memory(
    backend: str, offsets: array[int]
) -> None:
    """The backends' own checks (what C relies on), under the public layer: typed errors."""
    if backend not in bindings.available():
        # the C bounds checks are the memory-safety guarantee of the flat calls: never skipped
        pytest.fail("native extension missing: bash scripts/build-native.sh")
    data = bytes(64)
    count = len(offsets) - 1
    with bindings.use(backend):  # type: ignore[arg-type]
        for cipher, size in (("SM4", 16), ("AES", 32)):
            g = _fast.gcm(cipher, bytes(size))  # type: ignore[arg-type]
            with pytest.raises(InputFormatError):
                g.seal_flat(bytes(12 * count), data, offsets, b"", b"", None)
            with pytest.raises(InputFormatError):
                g.open_flat(data, offsets, 0, b"", None)
            good = array("Q", [0, 32, 64])
            with pytest.raises(InputFormatError):  # bad AD offsets
                g.seal_flat(bytes(24), data, good, b"", b"ad", array("Q", [0, 3, 1]))
            with pytest.raises(InputFormatError):  # AD offsets of the wrong count
                g.open_flat(data, good, 0, b"ad", array("Q", [0, 2]))
            with pytest.raises(InputFormatError):  # records too short for skip + 28
                g.open_flat(data, good, 10, b"", None)


def test_equal_width_offsets_are_fresh_arrays() -> None:
    """Joins of one shape reuse cached offsets by copy: changing one buffer's offsets changes
    no other, and the offsets are the widths' running sums."""
    items = [bytes([i]) * 7 for i in range(5)]
    first, second = FlatBuffer.join(items), FlatBuffer.join(items)
    assert first.offsets == array("Q", range(0, 36, 7)) and first.width == 7
    first.offsets[1] = 3
    assert second.offsets == array("Q", range(0, 36, 7))
    assert FlatBuffer.join(items).offsets == array("Q", range(0, 36, 7))
    assert FlatBuffer(b"".join(items), range(0, 36, 7)).width == 7
    assert FlatBuffer(b"".join(items), [0, 7, 14, 22, 28, 35]).width is None
    mixed = [b"a", b"bcd", b"", b"ef"]
    joined = FlatBuffer.join(mixed)
    assert joined.width is None and joined.offsets == array("Q", [0, 1, 4, 4, 6])
    assert joined.items() == mixed and FlatBuffer.join(items).items() == items
