"""``VaultSpec``: where a Spark executor finds its key ring and its secret; never the secret.

A spec is a frozen dataclass of strings: it is pickled into every task (cloudpickle) and may be
printed, logged or shown in the Spark UI. Each Python worker opens the Vault it describes once
(:mod:`._workers`), reading the secret from its source *there*; the driver never reads it
(docs/spark.md, "Secrets on executors").

Secret sources: ``env:NAME`` (a variable the cluster manager sets on executors, e.g. a
Kubernetes ``secretKeyRef``), ``file:/run/secrets/...`` (a mounted secret file: the passphrase,
or the PKCS#11 user PIN), ``keyfile:/path`` (a 32-byte LocalKMS key file).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vaultkit.access._grant import check_principal
from vaultkit.errors import KMSError, PolicyError, VaultkitTypeError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from vaultkit._facade.audit import AuditHook
    from vaultkit.keys import KMS, KeyRing

__all__ = ["SecretExposureError", "SecretSourceError", "VaultSpec"]

_KMS_KINDS = ("local", "pkcs11")
_SCHEMES = ("env", "file", "keyfile")
# what vaultkit reads secrets from (the CLI's variables): never to be put in Spark's conf
_SECRET_VARIABLES = frozenset(
    {"VAULTKIT_PASSPHRASE", "VAULTKIT_NEW_PASSPHRASE", "VAULTKIT_PKCS11_PIN"}
)
# conf prefixes whose entries become environment variables of executors, drivers or masters
_ENV_PREFIXES = (
    "spark.executorEnv.",
    "spark.kubernetes.driverEnv.",
    "spark.yarn.appMasterEnv.",
    "spark.mesos.driverEnv.",
)


class SecretSourceError(KMSError):
    """An executor found no secret at the spec's source (names the source, never a value)."""


class SecretExposureError(PolicyError):
    """A vaultkit secret is set in clear text in Spark's configuration (``distribute``)."""


@dataclass(frozen=True, slots=True)
class VaultSpec:
    """How each executor opens the Vault: a description that holds no secret.

    ``ring``: the key ring file: a path every executor can read (``ship=False``, a shared or
    mounted volume), or a file on the driver that :meth:`distribute` ships with the job
    (``ship=True``, ``SparkContext.addFile``; the ring is encrypted under its KEK). ``ring_id``:
    the ring's id (``KeyRing.ring_id``), pinned: another valid ring swapped in at that path is
    refused. ``kms``: ``"local"`` (passphrase or key file) or ``"pkcs11"`` (``pkcs11_module``,
    ``token_label``; the PIN from ``secret``). ``secret``: ``env:NAME``, ``file:/path`` or (local
    only) ``keyfile:/path``. ``audit``: ``"package.module:factory"``, a callable each worker
    imports and calls once with its open ``KeyRing``, returning the :class:`~vaultkit.AuditEvent`
    hook of its Vault (e.g. a ``vaultkit.audit.Trail``; docs/spark.md, "Audit").
    ``principal``: who the job calls as, passed to every worker's ``Vault(ring,
    principal=...)``: over a ring with access grants (``KeyRing.grant``) each batch call is
    held to that principal's grants (:class:`~vaultkit.errors.AccessDeniedError` fails the
    task) and its audit events name it; a ring with grants refuses a spec without one.
    """

    ring: str
    ring_id: str
    secret: str
    kms: str = "local"
    ship: bool = True
    pkcs11_module: str | None = None
    token_label: str | None = None
    audit: str | None = None
    principal: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ring, str) or not self.ring:
            raise VaultkitTypeError("VaultSpec.ring is the key ring's path (a str)")
        if not isinstance(self.ring_id, str) or len(self.ring_id) != 32:
            raise VaultkitTypeError("VaultSpec.ring_id is the ring's id (KeyRing.ring_id, 32 hex)")
        if self.kms not in _KMS_KINDS:
            raise VaultkitTypeError(f"VaultSpec.kms is one of {', '.join(_KMS_KINDS)}")
        scheme, _, where = self.secret.partition(":") if isinstance(self.secret, str) else ("",) * 3
        if scheme not in _SCHEMES or not where:
            raise VaultkitTypeError(
                "VaultSpec.secret is where executors find the secret: env:NAME, file:/path or "
                "keyfile:/path (never the secret itself)"
            )
        if scheme == "keyfile" and self.kms != "local":
            raise VaultkitTypeError("a keyfile: secret is for the local KMS")
        if self.kms == "pkcs11" and not (self.pkcs11_module and self.token_label):
            raise VaultkitTypeError("a pkcs11 VaultSpec needs pkcs11_module and token_label")
        if self.audit is not None and ":" not in self.audit:
            raise VaultkitTypeError('VaultSpec.audit is "package.module:factory"')
        if self.principal is not None:
            check_principal(self.principal)

    # -- driver side --------------------------------------------------------------------------
    def distribute(self, spark: SparkSession) -> VaultSpec:
        """Prepare ``spark`` for this spec and return it: refuse a vaultkit secret in clear
        text in the configuration (:class:`SecretExposureError`), and ship the ring file
        (``ship=True``). Reads no secret."""
        conf = spark.sparkContext.getConf()
        exposed = sorted(
            key
            for key, _ in conf.getAll()
            if key.startswith(_ENV_PREFIXES) and self._is_secret_variable(key.rsplit(".", 1)[1])
        )
        if exposed:
            raise SecretExposureError(
                f"{', '.join(exposed)}: a vaultkit secret in Spark's configuration is shown in "
                "clear text by the UI's environment page and every event log, and readable by "
                "any job; deliver it with the cluster manager instead (a Kubernetes "
                "secretKeyRef for env:NAME, or a mounted secret file for file:/path) and "
                "remove it from the configuration"
            )
        if self.ship:
            path = Path(self.ring)
            if not path.is_file():
                raise VaultkitTypeError(f"no key ring file at {self.ring} to ship")
            spark.sparkContext.addFile(str(path))
        return self

    @property
    def _source(self) -> tuple[str, str]:
        """``secret`` as (scheme, where): ``("env", "NAME")``, ``("file", "/path")``, ..."""
        scheme, _, where = self.secret.partition(":")
        return scheme, where

    def _is_secret_variable(self, name: str) -> bool:
        scheme, where = self._source
        return name in _SECRET_VARIABLES or (scheme == "env" and name == where)

    # -- executor side ------------------------------------------------------------------------
    def ring_path(self) -> str:
        """The ring file on this machine (the shipped copy in an executor)."""
        if not self.ship:
            return self.ring
        from pyspark import SparkFiles

        return SparkFiles.get(Path(self.ring).name)

    def _read_secret(self) -> str:
        scheme, where = self._source
        if scheme == "env":
            value = os.environ.get(where)
            if not value:
                raise SecretSourceError(
                    f"no secret in the executor's environment variable {where} (VaultSpec "
                    f"secret env:{where}): set it with the cluster manager, or use file:/path"
                )
            return value
        try:
            text = Path(where).read_text(encoding="utf-8")
        except OSError as exc:
            raise SecretSourceError(
                f"cannot read the secret file {where} (VaultSpec secret {scheme}:{where}): "
                f"{exc.strerror}"
            ) from None
        value = text.rstrip("\r\n")
        if not value:
            raise SecretSourceError(f"the secret file {where} is empty")
        return value

    def open_ring(self) -> KeyRing:
        """Open the ring with the secret from its source (an executor calls it once)."""
        from vaultkit.keys import KeyRing, LocalKMS

        scheme, where = self._source
        kms: KMS
        if self.kms == "pkcs11":
            from vaultkit.keys import PKCS11KMS

            assert self.pkcs11_module is not None and self.token_label is not None
            kms = PKCS11KMS(
                module=self.pkcs11_module, token_label=self.token_label, pin=self._read_secret()
            )
        elif scheme == "keyfile":
            if not Path(where).is_file():
                raise SecretSourceError(f"no key file at {where} (VaultSpec secret keyfile:)")
            kms = LocalKMS(key_file=where)
        else:
            kms = LocalKMS(passphrase=self._read_secret())
        return KeyRing.open(self.ring_path(), kms, ring_id=self.ring_id)

    def audit_hook(self, ring: KeyRing) -> AuditHook | None:
        """The audit hook of this worker's Vault: ``audit`` imported and called with the
        worker's open ring (e.g. to ``vaultkit.audit.Trail.open`` a trail), or None."""
        if self.audit is None:
            return None
        module, _, attr = self.audit.partition(":")
        factory = getattr(importlib.import_module(module), attr)
        hook: AuditHook = factory(ring)
        return hook
