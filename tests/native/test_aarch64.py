"""The aarch64 paths of the native core, proved without ARM hardware: ``native/src/*.c`` and the
line-driven harness ``tests/native/cross/vk_harness.c`` are cross-compiled with
``aarch64-linux-gnu-gcc`` and run under ``qemu-aarch64`` (user mode) as ``-cpu max`` (AES, PMULL,
SM3, SM4) and ``-cpu cortex-a72`` (AES and PMULL, no SM3/SM4), each with every feature masked off
in turn through ``VAULTKIT_CPU_MASK`` (aarch64 bits: 1 AES, 2 PMULL, 4 NEON, 8 SM3, 16 SM4; see
docs/native.md). Under every CPU and mask:

* the dispatcher must pick the expected implementation (``impl`` line), so a path that is
  silently never used fails;
* random inputs (ECB, GCM single and batch calls with tampered tags, SM3, HMAC-SM3, FF1 on both
  the 64-bit and the multi-precision path) must give the outputs of the pure-Python reference
  backend / cryptography, computed here in Python;
* the official vectors of tests/vectors/ must verify: GB/T 32907 SM4 (the 1,000,000-iteration
  example only on the SM4-instruction path, which qemu runs fast), RFC 8998 and Wycheproof
  SM4-GCM, Wycheproof AES-GCM, GB/T 32905 SM3, GM/T 0042 and Wycheproof HMAC-SM3, the NIST FF1
  samples and the valid Wycheproof FF1 cases.

Only correctness is shown here: qemu says nothing about ARM speed, and valgrind (which the
constant-time checks use) cannot run aarch64 code on this x86 machine.

The cross tools come from scripts/system-deps.sh (``gcc-aarch64-linux-gnu``,
``libc6-dev-arm64-cross``, ``qemu-user``); without them the tests fail, like the valgrind tests.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vaultkit.hazmat.bindings import _reference_cipher, _reference_ff1, _reference_hash

ROOT = Path(__file__).resolve().parents[2]
NATIVE_SRC = sorted((ROOT / "native" / "src").glob("*.c"))
HARNESS = Path(__file__).parent / "cross" / "vk_harness.c"
VECTORS = ROOT / "tests" / "vectors"
SYSROOT = Path("/usr/aarch64-linux-gnu")
# the flags of src/vaultkit/hazmat/bindings/_build.py, plus -Werror: no -march, so every path is
# reached through the target attributes and the runtime dispatch, as in the shipped module
CFLAGS = ["-O3", "-std=c11", "-fno-strict-aliasing", "-Wall", "-Wextra", "-Werror"]

AES, PMULL, NEON, SM3, SM4 = 1, 2, 4, 8, 16
ALL = AES | PMULL | NEON | SM3 | SM4


@dataclass(frozen=True)
class Config:
    cpu: str
    mask: int | None  # None: VAULTKIT_CPU_MASK unset
    sm4: str
    ghash: str
    sm3: str
    aes: str
    extra: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.cpu}-mask{'unset' if self.mask is None else self.mask}"


CONFIGS = [
    # qemu's "max" CPU: every feature, then each one masked off in turn
    Config("max", None, "sm4e", "pmull", "sm3ce", "ce", ("sm4-iterations",)),
    Config("max", ALL & ~SM4, "neon-aes", "pmull", "sm3ce", "ce"),
    Config("max", ALL & ~SM3, "sm4e", "pmull", "neon-4way", "ce", ("sm4-iterations",)),
    Config("max", ALL & ~PMULL, "sm4e", "portable-ct", "sm3ce", "ce"),
    Config("max", ALL & ~AES, "sm4e", "pmull", "sm3ce", "none"),
    Config("max", ALL & ~NEON, "sm4e", "pmull", "sm3ce", "ce"),
    Config("max", ALL & ~(SM4 | NEON), "portable-ct", "pmull", "sm3ce", "ce"),
    Config("max", ALL & ~(SM4 | AES), "portable-ct", "pmull", "sm3ce", "none"),
    Config("max", 0, "portable-ct", "portable-ct", "portable", "none"),
    # Cortex-A72 (Kunpeng 916 / Phytium class): AES and PMULL, no SM3/SM4 instructions
    Config("cortex-a72", None, "neon-aes", "pmull", "neon-4way", "ce"),
    Config("cortex-a72", ALL & ~PMULL, "neon-aes", "portable-ct", "neon-4way", "ce"),
    Config("cortex-a72", ALL & ~NEON, "portable-ct", "pmull", "portable", "ce"),
    Config("cortex-a72", 0, "portable-ct", "portable-ct", "portable", "none"),
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: run `make system-deps` (scripts/system-deps.sh)")
    return path


def _hex(b: bytes) -> str:
    return b.hex() if b else "-"


def _lens(values: list[int]) -> str:
    return ",".join(map(str, values)) if values else "-"


@dataclass
class Case:
    """One harness command and the expected output line; `alg` marks AES lines (then "none" is
    expected where the configuration has no AES), `only` restricts a line to configurations
    naming that extra."""

    command: str
    expected: str
    alg: str = "SM4"
    only: str | None = None

    def expect(self, config: Config) -> str:
        if self.alg == "AES" and config.aes == "none":
            return "none"
        return self.expected


def _random_cases(rnd: random.Random) -> list[Case]:
    cases: list[Case] = []
    rb = rnd.randbytes
    aes_keys = (16, 24, 32)
    # ECB: 1..130 blocks covers the single-block, 4/8-block group, padded-tail and bitsliced paths
    for alg in ("SM4", "AES"):
        for nblocks in (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 65, 130):
            key = rb(16 if alg == "SM4" else rnd.choice(aes_keys))
            data = rb(16 * nblocks)
            block = _reference_cipher.BlockCipher(alg, key)
            cases.append(
                Case(
                    f"ecb {alg} {key.hex()} enc {data.hex()}", block.encrypt_blocks(data).hex(), alg
                )
            )
            cases.append(
                Case(
                    f"ecb {alg} {key.hex()} dec {data.hex()}", block.decrypt_blocks(data).hex(), alg
                )
            )
    # GCM, single calls: every length class around the block, 8-block and 256-block boundaries
    lengths = [
        0,
        1,
        15,
        16,
        17,
        31,
        32,
        33,
        63,
        64,
        65,
        127,
        128,
        129,
        255,
        256,
        257,
        1000,
        4095,
        4096,
        4113,
    ]
    for alg in ("SM4", "AES"):
        for n in lengths:
            key = rb(16 if alg == "SM4" else rnd.choice(aes_keys))
            nonce, data, ad = rb(12), rb(n), rb(rnd.choice([0, 1, 13, 16, 20, 47, 130]))
            sealed = _reference_cipher.Gcm(alg, key).seal(nonce, data, ad)
            args = f"{alg} {key.hex()} {nonce.hex()} {_hex(ad)}"
            cases.append(Case(f"seal {args} {_hex(data)}", sealed.hex(), alg))
            cases.append(Case(f"open {args} {sealed.hex()}", _hex(data), alg))
            bad = bytearray(sealed)
            bad[rnd.randrange(len(bad))] ^= 1 << rnd.randrange(8)
            cases.append(Case(f"open {args} {bytes(bad).hex()}", "fail", alg))
    # GCM batches, per-message and shared associated data, one tampered message per batch
    for alg in ("SM4", "AES"):
        for shared in (False, True):
            key = rb(16 if alg == "SM4" else rnd.choice(aes_keys))
            gcm = _reference_cipher.Gcm(alg, key)
            count = rnd.randrange(5, 40)
            nonces = [rb(12) for _ in range(count)]
            datas = [rb(rnd.choice([0, 1, 15, 16, 17, 40, 64, 100, 300])) for _ in range(count)]
            one_ad = rb(rnd.randrange(0, 40))
            ads = [one_ad if shared else rb(rnd.randrange(0, 40)) for _ in range(count)]
            batch_sealed = gcm.seal_many(nonces, datas, ads)
            ad_field = "shared" if shared else _lens([len(a) for a in ads])
            ads_hex = _hex(one_ad) if shared else _hex(b"".join(ads))
            head = f"{alg} {key.hex()} {b''.join(nonces).hex()}"
            cases.append(
                Case(
                    f"seal_many {head} {_lens([len(d) for d in datas])} {ad_field} "
                    f"{_hex(b''.join(datas))} {ads_hex}",
                    _hex(b"".join(batch_sealed)),
                    alg,
                )
            )
            bad_i = rnd.randrange(count)
            opened = [bytearray(s) for s in batch_sealed]
            opened[bad_i][-1] ^= 0x80
            oks = "".join("0" if i == bad_i else "1" for i in range(count))
            plain = b"".join(bytes(len(d)) if i == bad_i else d for i, d in enumerate(datas))
            cases.append(
                Case(
                    f"open_many {head} {_lens([len(s) for s in opened])} {ad_field} "
                    f"{_hex(b''.join(map(bytes, opened)))} {ads_hex}",
                    f"{_hex(plain)} {oks}",
                    alg,
                )
            )
    # SM3 and HMAC-SM3: padding boundaries, batches of every size around the lane counts
    sm3 = _reference_hash.Sm3()
    for m in [rb(n) for n in (0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 128, 300, 1000)]:
        cases.append(Case(f"sm3 {_hex(m)}", sm3.digest(m).hex()))
    for count in (1, 2, 3, 4, 5, 8, 9, 17):
        batch = [rb(rnd.randrange(0, 200)) for _ in range(count)]
        cases.append(
            Case(
                f"sm3_many {_lens([len(b) for b in batch])} {_hex(b''.join(batch))}",
                b"".join(sm3.digest_many(batch)).hex(),
            )
        )
    for key_len in (0, 16, 32, 64, 65, 100):
        key = rb(key_len)
        hm = _reference_hash.HmacSm3(key)
        m = rb(rnd.randrange(0, 150))
        cases.append(Case(f"hmac {_hex(key)} {_hex(m)}", hm.digest(m).hex()))
        batch = [rb(rnd.randrange(0, 150)) for _ in range(rnd.randrange(1, 12))]
        cases.append(
            Case(
                f"hmac_many {_hex(key)} {_lens([len(b) for b in batch])} {_hex(b''.join(batch))}",
                b"".join(hm.digest_many(batch)).hex(),
            )
        )
    # HMAC-SM3 flat batches (vk_hmac_sm3_flat): offsets over one length or mixed lengths, and
    # strided rows, truncated and masked
    for length in (0, 19, 55, 56, 64, 65, None):
        key = rb(32)
        hm = _reference_hash.HmacSm3(key)
        count = rnd.randrange(1, 20)
        batch = [rb(rnd.randrange(0, 130) if length is None else length) for _ in range(count)]
        size, bits = rnd.randrange(1, 33), rnd.randrange(0, 8)
        mask = (0xFF << bits) & 0xFF
        want = b"".join(d[: size - 1] + bytes((d[size - 1] & mask,)) for d in hm.digest_many(batch))
        cases.append(
            Case(
                f"hmac_flat {_hex(key)} {_lens([len(b) for b in batch])} {size} {mask} "
                f"{_hex(b''.join(batch))}",
                want.hex(),
            )
        )
        width = 19 if length is None else length
        stride = width + rnd.randrange(0, 3)
        buf = rb((count - 1) * stride + width)
        rows = [buf[i * stride : i * stride + width] for i in range(count)]
        want = b"".join(d[: size - 1] + bytes((d[size - 1] & mask,)) for d in hm.digest_many(rows))
        cases.append(
            Case(
                f"hmac_rows {_hex(key)} {count} {stride} {width} {size} {mask} {_hex(buf)}",
                want.hex(),
            )
        )
    # FF1: the uint64 fast path and the multi-precision path, mixed lengths in one batch
    for alg in ("SM4", "AES"):
        for radix, longest in ((10, 60), (36, 40), (256, 24), (1000, 16), (65536, 10)):
            key = rb(16 if alg == "SM4" else rnd.choice(aes_keys))
            tweak = rb(rnd.choice([0, 5, 16, 40]))
            ff1 = _reference_ff1.Ff1(alg, key, radix)
            lengths = [rnd.randrange(2, longest + 1) for _ in range(rnd.randrange(1, 70))]
            digits = [rnd.randrange(radix) for _ in range(sum(lengths))]
            wide = radix > 256
            numerals = b"".join(d.to_bytes(2, "little") for d in digits) if wide else bytes(digits)
            for decrypt in (False, True):
                out = ff1.crypt(numerals, lengths, tweak, decrypt)
                direction = "dec" if decrypt else "enc"
                cases.append(
                    Case(
                        f"ff1 {alg} {key.hex()} {radix} {_hex(tweak)} {direction} "
                        f"{_lens(lengths)} {numerals.hex()}",
                        out.hex(),
                        alg,
                    )
                )
    return cases


def _wycheproof_groups(name: str) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = json.loads(
        (VECTORS / "wycheproof" / f"{name}_test.json").read_text()
    )["testGroups"]
    return groups


def _vector_cases() -> list[Case]:
    std = json.loads((VECTORS / "standard_vectors.json").read_text())
    cases: list[Case] = []
    for v in std["sm4_block_gbt32907"]:  # GB/T 32907-2016 Annex A
        if v["iterations"] == "1":
            cases.append(Case(f"ecb SM4 {v['key']} enc {v['plaintext']}", v["ciphertext"]))
            cases.append(Case(f"ecb SM4 {v['key']} dec {v['ciphertext']}", v["plaintext"]))
        else:
            cases.append(
                Case(
                    f"ecb_iter SM4 {v['key']} {v['iterations']} {v['plaintext']}",
                    v["ciphertext"],
                    only="sm4-iterations",
                )
            )
    for v in std["sm4_gcm_ccm_rfc8998"]:
        if v["mode"] == "SM4-GCM":
            args = f"SM4 {v['key']} {v['iv']} {_hex(bytes.fromhex(v['aad']))}"
            ct = v["ciphertext"] + v["tag"]
            cases.append(Case(f"seal {args} {v['plaintext']}", ct.lower()))
            cases.append(Case(f"open {args} {ct}", v["plaintext"].lower()))
    for name, alg in (("sm4_gcm", "SM4"), ("aes_gcm", "AES")):
        for group in _wycheproof_groups(name):
            if group["ivSize"] != 96 or group["tagSize"] != 128:
                continue  # vaultkit's GCM takes 12-byte nonces and 16-byte tags only
            for t in group["tests"]:
                args = f"{alg} {t['key']} {t['iv']} {_hex(bytes.fromhex(t['aad']))}"
                ct = t["ct"] + t["tag"]
                ok = t["result"] == "valid"
                cases.append(
                    Case(
                        f"open {args} {_hex(bytes.fromhex(ct))}",
                        _hex(bytes.fromhex(t["msg"])) if ok else "fail",
                        alg,
                    )
                )
                if ok:
                    cases.append(Case(f"seal {args} {_hex(bytes.fromhex(t['msg']))}", ct, alg))
    for v in std["sm3"]:  # GB/T 32905-2016 Annex A
        cases.append(Case(f"sm3 {_hex(bytes.fromhex(v['message_hex']))}", v["digest"].lower()))
    for v in std["hmac_sm3_gmt0042"]:
        cases.append(
            Case(f"hmac {v['key']} {_hex(bytes.fromhex(v['message_hex']))}", v["mac"].lower())
        )
    for group in _wycheproof_groups("hmac_sm3"):
        if group["tagSize"] != 256:
            continue
        for t in group["tests"]:
            if t["result"] == "valid":
                cases.append(
                    Case(
                        f"hmac {_hex(bytes.fromhex(t['key']))} {_hex(bytes.fromhex(t['msg']))}",
                        t["tag"],
                    )
                )
    for v in std["ff1_nist_samples"]:  # NIST FF1samples.pdf
        alphabet, radix = v["alphabet"], int(v["radix"])
        pt = bytes(alphabet.index(ch) for ch in v["plaintext"])
        ct = bytes(alphabet.index(ch) for ch in v["ciphertext"])
        head = f"ff1 AES {v['key']} {radix} {_hex(bytes.fromhex(v['tweak']))}"
        cases.append(Case(f"{head} enc {len(pt)} {pt.hex()}", ct.hex(), "AES"))
        cases.append(Case(f"{head} dec {len(ct)} {ct.hex()}", pt.hex(), "AES"))
    for name in ("aes_ff1_radix10", "aes_ff1_radix36"):  # Wycheproof: valid cases (C domain)
        for group in _wycheproof_groups(name):
            radix = group["radix"]
            for t in group["tests"]:
                if t["result"] != "valid" or len(t["msg"]) < 2:
                    continue
                pt, ct = bytes(t["msg"]), bytes(t["ct"])
                head = f"ff1 AES {t['key']} {radix} {_hex(bytes.fromhex(t['tweak']))}"
                cases.append(Case(f"{head} enc {len(pt)} {pt.hex()}", ct.hex(), "AES"))
    return cases


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """native/src/*.c + the harness, cross-compiled for aarch64 once."""
    cc = _tool("aarch64-linux-gnu-gcc")
    _tool("qemu-aarch64")
    if not (SYSROOT / "lib" / "ld-linux-aarch64.so.1").exists():
        raise RuntimeError(f"{SYSROOT} has no aarch64 libc: run `make system-deps`")
    out = tmp_path_factory.mktemp("aarch64") / "vk_harness"
    cmd = [
        cc,
        *CFLAGS,
        "-I",
        str(ROOT / "native" / "include"),
        "-I",
        str(ROOT / "native" / "src"),
        *map(str, NATIVE_SRC),
        str(HARNESS),
        "-o",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"cross-compiling the harness failed:\n{proc.stderr}"
    return out


SEED = int(os.environ.get("VAULTKIT_AARCH64_SEED", str(random.SystemRandom().randrange(2**32))))


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return _random_cases(random.Random(SEED)) + _vector_cases()


def _run(harness: Path, config: Config, script: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "VAULTKIT_CPU_MASK"}
    if config.mask is not None:
        env["VAULTKIT_CPU_MASK"] = str(config.mask)
    proc = subprocess.run(
        [_tool("qemu-aarch64"), "-L", str(SYSROOT), "-cpu", config.cpu, str(harness)],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"{config.id}: harness exited {proc.returncode}: {proc.stderr}"
    return proc.stdout.splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.id)
def test_aarch64_path_matches_reference(harness: Path, cases: list[Case], config: Config) -> None:
    chosen = [c for c in cases if c.only is None or c.only in config.extra]
    lines = _run(harness, config, "impl\n" + "".join(c.command + "\n" for c in chosen))
    want_impl = f"sm4={config.sm4} ghash={config.ghash} sm3={config.sm3} aes={config.aes}"
    assert lines[0] == want_impl, f"{config.id}: dispatcher picked {lines[0]!r}, want {want_impl!r}"
    assert len(lines) == len(chosen) + 1, f"{config.id}: {len(lines) - 1} of {len(chosen)} answers"
    wrong = [
        f"{c.command.split()[0]} {c.command.split()[1]} (case {i}): got {got[:80]!r}, "
        f"want {c.expect(config)[:80]!r}"
        for i, (c, got) in enumerate(zip(chosen, lines[1:], strict=True))
        if got != c.expect(config)
    ]
    head = f"{config.id}, seed {SEED}: {len(wrong)} mismatches:"
    assert not wrong, "\n".join([head, *wrong[:20]])


def test_every_aarch64_path_is_exercised() -> None:
    """The configurations reach every implementation each dispatcher has on aarch64."""
    assert {c.sm4 for c in CONFIGS} == {"sm4e", "neon-aes", "portable-ct"}
    assert {c.ghash for c in CONFIGS} == {"pmull", "portable-ct"}
    assert {c.sm3 for c in CONFIGS} == {"sm3ce", "neon-4way", "portable"}
    assert {c.aes for c in CONFIGS} == {"ce", "none"}
    assert {c.cpu for c in CONFIGS} == {"max", "cortex-a72"}


def test_x86_build_has_no_aarch64_code(tmp_path: Path) -> None:
    """The aarch64 files compile to nothing on x86 (no symbols), so the x86 module is unchanged."""
    cc = os.environ.get("CC") or _tool("cc")
    for name in ("aes_arm.c", "ghash_pmull.c", "sm3_arm.c", "sm4_arm.c"):
        obj = tmp_path / f"{name}.o"
        proc = subprocess.run(
            [
                cc,
                *CFLAGS,
                "-c",
                "-I",
                str(ROOT / "native" / "include"),
                str(ROOT / "native" / "src" / name),
                "-o",
                str(obj),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        nm = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True)
        assert nm.stdout.strip() == "", f"{name} defines symbols on x86:\n{nm.stdout}"


def _c_bytes(source: str, name: str) -> list[int]:
    m = re.search(rf"static const uint8_t {name}\[16\] = \{{([^}}]*)\}};", source)
    assert m, name
    return [int(v, 0) for v in m.group(1).replace("\n", " ").split(",")]


def test_neon_sbox_uses_the_derived_isomorphism_constants() -> None:
    """sm4_arm.c's nibble tables are sm4_aesni.c's, which
    test_cipher_native.py::test_sm4_isomorphism_constants_are_derived re-derives."""
    x86 = (ROOT / "native" / "src" / "sm4_aesni.c").read_text()
    arm = (ROOT / "native" / "src" / "sm4_arm.c").read_text()
    for name in ("PRE_LO", "PRE_HI", "POST_LO", "POST_HI", "INV_SHIFT_ROWS"):
        define = re.search(rf"#define {name} (.*)", x86)
        assert define, name
        assert _c_bytes(arm, name) == [int(v, 0) for v in define.group(1).split(",")], name
