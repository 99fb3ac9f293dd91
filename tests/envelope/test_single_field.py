"""FieldCipher's single fields: one backend call each way (``records(header, ...).seal`` and
``.open``). The stored bytes are the format's (docs/envelope.md): rebuilt here from the key
with cryptography alone (HMAC subkey, AES-GCM or SM4-GCM over header || context); what one
backend seals the other opens; forged, cut and swapped ciphertexts fail opaquely; threads sealing
through one cipher never share a nonce, also across rekeys."""

from __future__ import annotations

import random
import threading

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultkit.envelope import FieldCipher, _field, encode_context
from vaultkit.envelope._format import BINDING_LEN, ENC_LABEL, FIXED_LEN, HEADER_LEN
from vaultkit.errors import DecryptionError
from vaultkit.hazmat import bindings
from vaultkit.keys import Algorithm, DataKey, KeyState

ALGORITHMS = [Algorithm.AES_256_GCM, Algorithm.SM4_GCM]
NONCE_END = HEADER_LEN + 12


def _key(algorithm: Algorithm) -> DataKey:
    return DataKey(
        name="t.c",
        key_id=7,
        version=3,
        algorithm=algorithm,
        state=KeyState.PRIMARY,
        material=bytes(range(algorithm.key_size)),
    )


def _cipher(algorithm: Algorithm, backend: str) -> FieldCipher:
    with bindings.use(backend):  # type: ignore[arg-type]
        cipher = FieldCipher(_key(algorithm))
        cipher.seal(b"", b"")  # derives the writer's subkey on this backend
        return cipher


def _oracle_open(algorithm: Algorithm, ct: bytes, context: bytes) -> bytes:
    """The plaintext of ``ct`` from the key with cryptography alone: the subkey is
    HMAC(DEK, ENC_LABEL || fixed header || salt) (SHA-256 for AES, SM3 for SM4), then GCM with
    the stored nonce and associated data header || context."""
    digest = hashes.SM3() if algorithm is Algorithm.SM4_GCM else hashes.SHA256()
    mac = hmac.HMAC(_key(algorithm).material, digest)
    mac.update(ENC_LABEL + ct[:BINDING_LEN])
    subkey = mac.finalize()[: algorithm.key_size]
    header, nonce, body = ct[:HEADER_LEN], ct[HEADER_LEN:NONCE_END], ct[NONCE_END:]
    if algorithm is Algorithm.AES_256_GCM:
        return AESGCM(subkey).decrypt(nonce, body, header + context)
    dec = Cipher(algorithms.SM4(subkey), modes.GCM(nonce, body[-16:])).decryptor()
    dec.authenticate_additional_data(header + context)
    return dec.update(body[:-16]) + dec.finalize()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_single_fields_keep_the_format_and_open_across_backends(algorithm: Algorithm) -> None:
    rng = random.Random(f"single-{algorithm.label}")
    ciphers = {name: _cipher(algorithm, name) for name in bindings.available()}
    for name, sealer in ciphers.items():
        previous = None
        for _ in range(300):
            plain = rng.randbytes(rng.randrange(0, 301))
            context = encode_context(
                {"table": rng.choice(["t", "kyc"]), "column": "c", "row": str(rng.randrange(9))}
            )
            ct = sealer.seal(plain, context)
            assert len(ct) == NONCE_END + len(plain) + 16
            assert ct[:FIXED_LEN] == sealer._fixed
            assert _oracle_open(algorithm, ct, context) == plain, name
            nonce = int.from_bytes(ct[HEADER_LEN:NONCE_END], "big")
            if previous is not None:  # counter nonces: offset + i (SP 800-38D 8.2.1)
                assert nonce == previous + 1
            previous = nonce
            for opener in ciphers.values():
                assert opener.open(ct, context) == plain


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_forged_cut_and_swapped_ciphertexts_fail_opaquely(algorithm: Algorithm) -> None:
    secret = b"4111111111111111 secret plaintext"
    ctx, other = encode_context({"table": "t", "column": "c"}), encode_context({"table": "u"})
    for name in bindings.available():
        cipher = _cipher(algorithm, name)
        ct, ct2 = cipher.seal(secret, ctx), cipher.seal(secret[::-1], ctx)
        assert cipher.open(ct, ctx) == secret  # its header is now the last one opened
        flips = [bytes([*ct[:i], ct[i] ^ 1, *ct[i + 1 :]]) for i in range(0, len(ct), 7)]
        bad = [
            *flips,
            ct[:-1],
            ct[: HEADER_LEN + 28 - 1],  # the last header opened, too short for nonce and tag
            ct[: HEADER_LEN + 12],
            ct[:HEADER_LEN],
            ct[: HEADER_LEN - 1],
            b"",
            ct[:NONCE_END] + ct2[NONCE_END:],  # another field's body under this nonce
            ct2[:NONCE_END] + ct[NONCE_END:],
            ct + b"\x00",
        ]
        for forged in bad:
            for context in (ctx, other):
                with pytest.raises(DecryptionError) as info:
                    cipher.open(forged, context)
                err = info.value
                assert err.__context__ is None and err.__cause__ is None, name
                assert b"secret" not in repr(err).encode() and "secret" not in str(err)
        with pytest.raises(DecryptionError):
            cipher.open(ct, other)  # the right bytes under another context


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_threads_sealing_through_one_cipher_never_share_a_nonce(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Single fields from four threads, with a tiny per-salt limit so that they also race
    through rekeys: every (salt, nonce) pair is distinct and every field opens."""
    if backend not in bindings.available():
        # the native records hold the nonce base in C: their race is a required check
        pytest.fail("native extension missing: bash scripts/build-native.sh")
    monkeypatch.setattr(_field, "_LIMIT", 97)
    cipher = _cipher(Algorithm.SM4_GCM, backend)
    ctx = encode_context({"table": "t", "column": "c"})
    out: list[tuple[int, list[bytes]]] = []
    start = threading.Barrier(4)

    def work(tag: int) -> None:
        start.wait()
        out.append((tag, [cipher.seal(bytes([tag]) * 8, ctx) for _ in range(1500)]))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cts = [c for _, chunk in out for c in chunk]
    assert len(cts) == 6000
    assert len({c[FIXED_LEN:NONCE_END] for c in cts}) == 6000  # salt, commitment and nonce
    assert len({c[FIXED_LEN:BINDING_LEN] for c in cts}) >= 6000 // 97  # it rekeyed
    for tag, chunk in out:
        assert all(cipher.open(c, ctx) == bytes([tag]) * 8 for c in chunk)
