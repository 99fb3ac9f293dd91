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


# -- docs/sqlalchemy.md: the quickstart (blind-index recipe) and the Alembic recipe -------------
def _words(text: str) -> str:
    return " ".join(text.split())


def test_sqlalchemy_quickstart_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    block = _blocks("sqlalchemy.md")[0]
    assert "rows=1_000_000" in block and "bits=" not in block  # a planned index length
    exec(compile(block, "docs/sqlalchemy.md", "exec"), {})
    expected = re.search(r"print\(.*\)\s*# (.*)", block)
    assert expected is not None
    assert capsys.readouterr().out.strip() == expected.group(1).strip()


def test_alembic_recipe_runs_as_written(tmp_path: Path) -> None:
    """The "Protecting an existing plaintext column" recipe, step by step, with real alembic
    and vaultkit commands: the migration file as written, the printed command, the model."""
    import subprocess
    import sys
    import textwrap

    import sqlalchemy as sa

    from vaultkit.keys import KeyRing, LocalKMS

    page = (DOCS / "sqlalchemy.md").read_text()
    recipe = page[page.index("### Protecting an existing plaintext column") :]
    recipe = recipe[: recipe.index("\n## ")]
    blocks = [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", recipe, flags=re.S)]
    migration = next(b for b in blocks if "def upgrade" in b)
    model = next(b for b in blocks if "mapped_column(Encrypted" in b)
    env_block = next(b for b in _blocks("sqlalchemy.md") if "render_item=render_item" in b)
    assert "from vaultkit.ext.sqlalchemy import render_item" in env_block

    binaries = Path(sys.executable).parent
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    env = {
        **__import__("os").environ,
        "VAULTKIT_KEYRING": str(tmp_path / "keyring.vk"),
        "VAULTKIT_PASSPHRASE": "correct horse battery staple",
    }

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout + done.stderr

    # the application's table before the recipe: plaintext ID numbers
    values = ["11010519491231002X", "110105194912310021", "11010519800101003X"]
    engine = sa.create_engine(url, hide_parameters=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, id_no VARCHAR(18))")
        for i, v in enumerate(values, 1):
            conn.exec_driver_sql("INSERT INTO customers VALUES (?, ?)", (i, v))
    run(str(binaries / "alembic"), "init", "migrations")
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        re.sub(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", ini.read_text())
    )
    (tmp_path / "migrations" / "versions" / "20261127_protect_id_no.py").write_text(migration)

    # 1. alembic upgrade head, which prints the data step
    out = _words(run(str(binaries / "alembic"), "upgrade", "head"))
    step1 = _words(recipe[recipe.index("1. `alembic upgrade head`") : recipe.index("2. ")])
    printed = re.search(r"which prints: `(.*?)`", step1)
    assert printed is not None and printed.group(1) in out
    command = printed.group(1).split("now run: ", 1)[1]

    # 2. the keys (a key ring made beforehand, as `vaultkit init` would)
    KeyRing.create(tmp_path / "keyring.vk", LocalKMS(passphrase=env["VAULTKIT_PASSPHRASE"])).close()
    step2 = _words(recipe[recipe.index("2. `vaultkit key create") : recipe.index("3. ")])
    creates = re.findall(r"`(vaultkit key create [^`]*)`", step2)
    assert len(creates) == 2
    for c in creates:
        run(str(binaries / "vaultkit"), *c.split()[1:])

    # 3. the printed command, with the URL (and --yes: no terminal here)
    run(str(binaries / "vaultkit"), *command.replace("URL", url).split()[1:], "--yes")

    # 4. the model, as written, reads and searches the protected rows
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, configure
    from vaultkit.vault import Vault

    class Base(DeclarativeBase):
        pass

    namespace = {"mapped_column": mapped_column, "Encrypted": Encrypted, "BlindIndex": BlindIndex}
    exec(compile(model, "docs/sqlalchemy.md", "exec"), namespace)
    Customer = type(
        "Customer",
        (Base,),
        {
            "__tablename__": "customers",
            "__annotations__": {"id": Mapped[int]},
            "id": mapped_column(primary_key=True),
            "id_no": namespace["id_no"],
            "id_no_bidx": namespace["id_no_bidx"],
        },
    )
    ring = KeyRing.open(tmp_path / "keyring.vk", LocalKMS(passphrase=env["VAULTKIT_PASSPHRASE"]))
    with Vault(ring) as vault:
        configure(vault, Base, engine=engine)
        with Session(engine) as s:
            rows = s.scalars(sa.select(Customer).order_by(Customer.id)).all()
            assert [c.id_no for c in rows] == values
            found = s.scalars(sa.select(Customer.id).where(Customer.id_no == values[1])).all()
            assert found == [2]
    ring.close()
    engine.dispose()


def test_access_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/access.md: the example runs, and prints what its comments say."""
    monkeypatch.chdir(tmp_path)
    (block,) = _blocks("access.md")
    exec(compile(block, "docs/access.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "110105********002X"
    assert out[1] == "622202*********0128"
    assert out[2].startswith(
        "access denied: principal 'teller-app' may not decrypt on key 'customers.id_no'"
    )
    assert out[3] == (
        "[('decrypt_masked', 'teller-app', 'ok'), ('detokenize_masked', 'teller-app', 'ok'), "
        "('decrypt', 'teller-app', 'denied')]"
    )
