"""No plaintext, key material, passphrase, PIN or token value reaches an exception, a repr, a
log record or CLI output (docs/architecture.md "Errors"; values only through ``errors.masked``).

Every case feeds distinctive secret values into a main error path and checks that neither the
value nor any 8-character piece of it appears in ``str(exc)``, ``repr(exc)``, the exception's
cause or context chain, the captured logs, or the console script's stdout and stderr.
``masked`` shows at most two characters at each end, so no 8-character piece survives it.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from vaultkit import Vault
from vaultkit.blindindex import BlindIndexer, Compound
from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    KeyStoreError,
    VaultkitError,
    masked,
)
from vaultkit.hazmat.aead import SM4GCM
from vaultkit.hazmat.ff1 import FF1
from vaultkit.identifiers import (
    normalize_card,
    normalize_cn_id,
    normalize_mobile,
    normalize_uscc,
    parse_cn_id,
)
from vaultkit.keys import Algorithm, KeyRing, LocalKMS
from vaultkit.masking import mask, mask_card
from vaultkit.policy import Verifier
from vaultkit.tokens import Tokenizer

# random-looking, so that no 8-character piece occurs in ordinary messages or paths
PASSPHRASE = "Qx7Wv3Kd9-Rr5Tz2Lm8"
WRONG_PASSPHRASE = "Zt4Hm8Rb2-Gy6Pw1Xc5"
PLAINTEXT = "Jk5Lp0Nq-Vd3Sa7Ue4"
PIN = "739184"  # short: masked() shows none of it
PEPPER = b"Bn6Yc1Fs-Ow9Ei2Ta8"
KEY = bytes(range(100, 116))  # 16 raw key bytes
# invalid identifiers that are long enough to be distinctive (each breaks exactly one rule)
BAD_CARD = "6222021234567890129"  # Luhn digit wrong
BAD_CN_ID = "11010519491331002X"  # month 13
BAD_MOBILE = "2381234567890"  # 13 digits
BAD_USCC = "91350100M000100Y4X"  # check character wrong
SECRETS = [PASSPHRASE, WRONG_PASSPHRASE, PLAINTEXT, PEPPER.decode(), BAD_CARD, BAD_CN_ID]
SECRETS += [BAD_MOBILE, BAD_USCC, KEY.hex(), str(KEY)]
CTX = {"table": "customers", "column": "secret_col"}
WINDOW = 8


def _pieces(secret: str) -> Iterator[str]:
    if len(secret) <= WINDOW:
        yield secret
        return
    for i in range(len(secret) - WINDOW + 1):
        yield secret[i : i + WINDOW]


def assert_clean(text: str, secrets: Iterable[str] = SECRETS, *, where: str = "") -> None:
    for secret in secrets:
        for piece in _pieces(secret):
            assert piece not in text, f"{where}: {piece!r} of a secret leaked into {text!r}"


def assert_exception_clean(exc: BaseException, secrets: Iterable[str] = SECRETS) -> None:
    """``str``, ``repr`` and every argument of ``exc`` and of its cause / shown context."""
    secrets = list(secrets)
    seen: BaseException | None = exc
    while seen is not None:
        assert_clean(str(seen), secrets, where=type(seen).__name__)
        assert_clean(repr(seen), secrets, where=type(seen).__name__)
        for arg in seen.args:
            assert_clean(repr(arg), secrets, where=f"{type(seen).__name__}.args")
        if seen.__cause__ is not None:
            seen = seen.__cause__
        elif not seen.__suppress_context__:
            seen = seen.__context__
        else:
            seen = None


def raises_clean(
    fn: Callable[[], object],
    caplog: pytest.LogCaptureFixture,
    error: type[BaseException] = VaultkitError,
    secrets: Iterable[str] = SECRETS,
) -> BaseException:
    secrets = list(secrets)
    with pytest.raises(error) as info:
        fn()
    assert_exception_clean(info.value, secrets)
    assert_clean(caplog.text, secrets, where="logs")
    for record in caplog.records:
        assert_clean(record.getMessage(), secrets, where="log record")
    return info.value


@pytest.fixture(autouse=True)
def _all_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    return tmp_path / "ring.json"


@pytest.fixture
def ring(ring_path: Path) -> Iterator[KeyRing]:
    r = KeyRing.create(ring_path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10))
    r.create_key("customers.secret_col")
    r.create_key("customers.card", Algorithm.FF1_SM4)
    r.create_key("customers.card_idx", Algorithm.HMAC_SM3)
    yield r
    r.close()


@pytest.fixture
def vault(ring: KeyRing) -> Iterator[Vault]:
    with Vault(ring) as v:
        yield v


def test_masked_reveals_no_piece_of_a_secret() -> None:
    for secret in SECRETS:
        assert_clean(masked(secret), [secret])
    assert masked(PIN) == "*" * len(PIN)
    assert masked(PLAINTEXT.encode()) == f"<{len(PLAINTEXT)} bytes>"


# -- identifiers, tokens, blind indexes, masking: bad input -------------------------------------
@pytest.mark.parametrize(
    ("fn", "value"),
    [
        (normalize_card, BAD_CARD),
        (normalize_cn_id, BAD_CN_ID),
        (parse_cn_id, BAD_CN_ID),
        (normalize_mobile, BAD_MOBILE),
        (normalize_uscc, BAD_USCC),
    ],
)
def test_identifier_errors(
    fn: Callable[[str], object], value: str, caplog: pytest.LogCaptureFixture
) -> None:
    exc = raises_clean(lambda: fn(value), caplog, InputFormatError)
    assert isinstance(exc, InputFormatError) and exc.masked_value is not None


@pytest.mark.parametrize(
    ("fmt", "value"),
    [("card", BAD_CARD), ("cn_id", BAD_CN_ID), ("mobile", BAD_MOBILE), ("uscc", BAD_USCC)],
)
def test_token_errors(
    vault: Vault, ring: KeyRing, fmt: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    key = "customers.card"
    raises_clean(lambda: vault.tokenize(key, value, format=fmt, context=CTX), caplog)
    raises_clean(lambda: vault.tokenize_many(key, ["x", value], format=fmt, context=CTX), caplog)
    raises_clean(lambda: vault.detokenize(key, value, format=fmt, context=CTX), caplog)
    raises_clean(lambda: Tokenizer(ring).tokenize(key, value, format=fmt, context=CTX), caplog)


def test_token_of_the_wrong_key_kind(vault: Vault, caplog: pytest.LogCaptureFixture) -> None:
    raises_clean(
        lambda: vault.tokenize("customers.secret_col", BAD_CARD, format="card", context=CTX),
        caplog,
    )


def test_blind_index_errors(vault: Vault, ring: KeyRing, caplog: pytest.LogCaptureFixture) -> None:
    key = "customers.card_idx"
    raises_clean(
        lambda: vault.blind_index(key, BAD_CARD, context=CTX, bits=16, kind="card_no"), caplog
    )
    raises_clean(
        lambda: BlindIndexer(ring).compute_many(
            key, [BAD_CN_ID], context=CTX, bits=16, kind="cn_id"
        ),
        caplog,
    )
    c4y = Compound(("card_last4", "birth_year"))
    raises_clean(
        lambda: vault.blind_index(key, (BAD_CARD, PLAINTEXT), context=CTX, bits=8, kind=c4y),
        caplog,
    )


def test_masking_never_shows_the_value(caplog: pytest.LogCaptureFixture) -> None:
    for kind in ("card_no", "cn_id", "mobile", "account_no", "email", "address", "balance"):
        assert_clean(mask(kind, PLAINTEXT), [PLAINTEXT])
    raises_clean(lambda: mask("other", PLAINTEXT), caplog)  # unknown kind: an error, no value
    raises_clean(lambda: mask(PLAINTEXT, "x"), caplog)  # a value passed as the kind: masked
    assert_clean(mask_card(BAD_CARD), [BAD_CARD])
    raises_clean(lambda: mask_card(PLAINTEXT.encode()), caplog)  # type: ignore[arg-type]
    raises_clean(lambda: mask("card_no", BAD_CARD, policy=PLAINTEXT), caplog)  # type: ignore[arg-type]


# -- keys: wrong passphrase, damaged store, reprs ---------------------------------------------
def test_wrong_passphrase(ring: KeyRing, ring_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    exc = raises_clean(
        lambda: KeyRing.open(ring_path, LocalKMS(passphrase=WRONG_PASSPHRASE)),
        caplog,
        KeyStoreError,
    )
    assert "passphrase" in str(exc)  # says what is wrong, not what was typed


def test_damaged_store(ring: KeyRing, ring_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    raw = bytearray(ring_path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    ring_path.write_bytes(bytes(raw))
    raises_clean(lambda: KeyRing.open(ring_path, LocalKMS(passphrase=PASSPHRASE)), caplog)


def test_reprs_hide_secrets(ring: KeyRing, vault: Vault) -> None:
    data_keys = [ring.primary_key(k.name) for k in ring.keys()]
    material = [k.material.hex() for k in data_keys] + [str(k.material) for k in data_keys]
    objects: list[object] = [
        ring,
        ring.kms,
        vault,
        *data_keys,
        Tokenizer(ring),
        BlindIndexer(ring),
        LocalKMS(passphrase=PASSPHRASE),
        SM4GCM(KEY),
        FF1(KEY),
        Verifier(pepper=PEPPER),
    ]
    for obj in objects:
        assert_clean(repr(obj), [*SECRETS, *material], where=type(obj).__name__)
        assert_clean(str(obj), [*SECRETS, *material], where=type(obj).__name__)


# -- envelope: tampered ciphertext, wrong context, non-text plaintext --------------------------
def test_tampered_ciphertext(vault: Vault, caplog: pytest.LogCaptureFixture) -> None:
    key = "customers.secret_col"
    ct = vault.encrypt(key, PLAINTEXT, context=CTX)
    bad = bytearray(ct)
    bad[-20] ^= 0x01
    raises_clean(lambda: vault.decrypt(bytes(bad), context=CTX), caplog, DecryptionError)
    cts = vault.encrypt_many(key, [PLAINTEXT] * 3, context=CTX)
    cts[1] = bytes(bad)
    raises_clean(lambda: vault.decrypt_many(cts, context=CTX), caplog, DecryptionError)
    other = {**CTX, "row": PLAINTEXT}  # a context value is not shown either
    raises_clean(lambda: vault.decrypt(ct, context=other), caplog, DecryptionError)
    binary = vault.encrypt(key, b"\xff" + PLAINTEXT.encode(), context=CTX)
    raises_clean(lambda: vault.decrypt_text(binary, context=CTX), caplog)


def test_hazmat_errors(caplog: pytest.LogCaptureFixture) -> None:
    aead = SM4GCM(KEY)
    ct = aead.encrypt(b"\x00" * 12, PLAINTEXT.encode())
    raises_clean(lambda: aead.decrypt(b"\x01" * 12, ct), caplog)
    raises_clean(lambda: SM4GCM(KEY + b"\x00"), caplog)  # key of the wrong size
    raises_clean(lambda: FF1(KEY).encrypt(PLAINTEXT), caplog)  # not numerals of radix 10


def test_verifier_errors(caplog: pytest.LogCaptureFixture) -> None:
    verifier = Verifier(algorithm="scrypt", scrypt_log2_n=10, pepper=PEPPER)
    stored = verifier.hash(PIN)
    assert PIN not in stored
    assert verifier.verify(PIN, stored)
    raises_clean(lambda: verifier.verify(PIN, stored[:-3] + "$$$"), caplog, secrets=[*SECRETS, PIN])


def test_stream_tampered(ring: KeyRing, caplog: pytest.LogCaptureFixture) -> None:
    from vaultkit import stream

    sealed = io.BytesIO()
    stream.encrypt(io.BytesIO(PLAINTEXT.encode() * 4), sealed, vault=ring)
    bad = bytearray(sealed.getvalue())
    bad[-5] ^= 0x01
    out = io.BytesIO()
    raises_clean(lambda: stream.decrypt(io.BytesIO(bytes(bad)), out, vault=ring), caplog)
    assert_clean(out.getvalue().decode("latin-1"), [PLAINTEXT])


# -- the console script -----------------------------------------------------------------------
def _script() -> str:
    script = Path(sys.executable).with_name("vaultkit")
    if not script.exists():
        pytest.skip("the vaultkit console script is not installed next to this interpreter")
    return str(script)


def _run(
    *args: str, env: dict[str, str], stdin: str | bytes = ""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [_script(), *args],
        capture_output=True,
        env=env,
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        timeout=120,
    )


def _env(ring_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    return {**env, "VAULTKIT_PASSPHRASE": PASSPHRASE, "VAULTKIT_KEYRING": str(ring_path), **extra}


def _fails_clean(proc: subprocess.CompletedProcess[bytes], secrets: Iterable[str] = SECRETS) -> str:
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, stderr)
    assert stderr.startswith("error:") and "Traceback" not in stderr, stderr
    secrets = list(secrets)
    assert_clean(stdout, secrets, where="stdout")
    assert_clean(stderr, secrets, where="stderr")
    return stderr


@pytest.fixture
def cli_ring(ring: KeyRing, ring_path: Path) -> Path:
    ring.close()
    return ring_path


def test_cli_wrong_passphrase(cli_ring: Path) -> None:
    env = _env(cli_ring, VAULTKIT_PASSPHRASE=WRONG_PASSPHRASE)
    for args in (("key", "list"), ("key", "show", "customers.card"), ("key", "create", "x")):
        assert "passphrase" in _fails_clean(_run(*args, env=env))


def test_cli_bad_values_on_stdin(cli_ring: Path) -> None:
    env = _env(cli_ring)
    common = ["--key", "customers.card", "--table", "customers", "--column", "card_no"]
    for fmt, value in [("card", BAD_CARD), ("cn_id", BAD_CN_ID), ("mobile", BAD_MOBILE)]:
        stdin = f"{value}\n"
        stderr = _fails_clean(_run("tokenize", *common, "--format", fmt, env=env, stdin=stdin))
        assert "line 1" in stderr
        _fails_clean(_run("detokenize", *common, "--format", fmt, env=env, stdin=stdin))
    stderr = _fails_clean(
        _run("detokenize", *common, "--format", "card", "--stored", env=env, stdin=BAD_CARD)
    )
    assert "VERSION:TOKEN" in stderr


def test_cli_mask_shows_only_masked_values(cli_ring: Path) -> None:
    lines = f"{BAD_CARD}\n{PLAINTEXT}\n"
    proc = _run("mask", "--kind", "card_no", env=_env(cli_ring), stdin=lines)
    assert proc.returncode == 0, proc.stderr
    assert_clean(proc.stdout.decode() + proc.stderr.decode(), [BAD_CARD, PLAINTEXT])


def test_cli_tampered_stream_to_stdout(cli_ring: Path, tmp_path: Path) -> None:
    env = _env(cli_ring)
    plain, sealed = tmp_path / "plain.txt", tmp_path / "sealed.vks"
    plain.write_text(PLAINTEXT * 4)
    proc = _run("encrypt-file", str(plain), str(sealed), env=env)
    assert proc.returncode == 0, proc.stderr
    bad = bytearray(sealed.read_bytes())
    bad[-5] ^= 0x01
    sealed.write_bytes(bytes(bad))
    _fails_clean(_run("decrypt-file", str(sealed), "-", env=env))
    _fails_clean(_run("decrypt-file", "-", "-", env=env, stdin=bytes(bad)))


def test_cli_secret_files_and_urls_not_echoed(cli_ring: Path, tmp_path: Path) -> None:
    env = _env(cli_ring)
    key_file = tmp_path / "bad.key"
    key_file.write_bytes(b"\x00\xff" + PLAINTEXT.encode())  # neither PEM nor hex text
    plain = tmp_path / "plain.txt"
    plain.write_text(PLAINTEXT)
    args = ("encrypt-file", str(plain), str(tmp_path / "out"), "--recipient", str(key_file))
    assert "0xff" not in _fails_clean(_run(*args, env=env))  # no byte of the file quoted
    key_file.write_text(PLAINTEXT)
    _fails_clean(_run(*args, env=env))
    url = f"postgresql+psycopg://app:{WRONG_PASSPHRASE}@db.invalid:notaport/app"
    _fails_clean(_run("scan", "--db", url, env=env))
    _fails_clean(_run("scan", env={**env, "VAULTKIT_DB_URL": url}))
