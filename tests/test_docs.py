"""docs/quickstart.md runs as written: every ```python block, in order, in one namespace."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


def test_quickstart_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("quickstart.md")
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/quickstart.md", "exec"), namespace)


def test_index_links_every_page() -> None:
    index = (DOCS / "index.md").read_text()
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VAULTKIT_PASSPHRASE", "correct horse battery staple")
    readme = (DOCS.parent / "README.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    exec(compile(block, "README.md", "exec"), {})


def test_service_startup_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/service.md: the start-up code opens a passphrase ring from VAULTKIT_PASSPHRASE or a
    credential file, a key-file ring from a systemd credential ($CREDENTIALS_DIRECTORY), and
    refuses another ring than VAULTKIT_RING_ID names."""
    import os
    import secrets
    import stat

    from vaultkit.errors import KeyStoreError
    from vaultkit.keys import KeyRing, LocalKMS

    monkeypatch.chdir(tmp_path)
    for name in ("VAULTKIT_PASSPHRASE", "VAULTKIT_KEY_FILE", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    definitions, use = _blocks("service.md")
    credentials = tmp_path / "credentials"  # what systemd's LoadCredential= makes
    credentials.mkdir(mode=0o700)
    key_file = credentials / "vaultkit.key"
    key_file.write_bytes(secrets.token_bytes(32))
    key_file.chmod(0o400)
    rings = {}
    for kind, kms in (
        ("passphrase", LocalKMS(passphrase="service passphrase", scrypt_n=2**12)),
        ("key_file", LocalKMS(key_file=key_file)),
    ):
        ring = KeyRing.create(tmp_path / f"{kind}.vk", kms)  # the operator's `vaultkit init`
        ring.create_key("customers.id_no")
        rings[kind] = ring.ring_id
        ring.close()
        assert stat.S_IMODE(os.stat(tmp_path / f"{kind}.vk").st_mode) == 0o600  # as documented

    def start(kind: str, **env: str) -> None:
        with monkeypatch.context() as m:
            m.setenv("VAULTKIT_KEYRING", str(tmp_path / f"{kind}.vk"))
            for name, value in env.items():
                m.setenv(name, value)
            namespace: dict[str, object] = {}
            exec(compile(definitions, "docs/service.md", "exec"), namespace)
            exec(compile(use, "docs/service.md", "exec"), namespace)

    start("passphrase", VAULTKIT_PASSPHRASE="service passphrase")
    start("key_file", CREDENTIALS_DIRECTORY=str(credentials))
    start("key_file", VAULTKIT_KEY_FILE=str(key_file), VAULTKIT_RING_ID=rings["key_file"])
    (credentials / "vaultkit-passphrase").write_text("service passphrase\n")
    start("passphrase", CREDENTIALS_DIRECTORY=str(credentials))
    with pytest.raises(KeyStoreError, match="another key ring"):
        start(
            "key_file", CREDENTIALS_DIRECTORY=str(credentials), VAULTKIT_RING_ID=rings["passphrase"]
        )
