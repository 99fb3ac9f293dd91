"""The key ring's KEK set: list, add, remove and rotate KEK recipients; the ring key epochs.

Every KEK rotation and removal draws a fresh ring key (a new epoch) and rewraps every DEK and
every earlier epoch's stream key under it; adding a KEK wraps the current ring key for it (see
:mod:`vaultkit.keys._ring_format`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from vaultkit.errors import (
    KeyStoreError,
    KMSError,
)
from vaultkit.keys._kms import KMS, WrappedKey
from vaultkit.keys._model import Algorithm
from vaultkit.keys._ring_doc import RingBody, StreamKeyDoc, kms_version
from vaultkit.keys._ring_format import (
    _FORMAT_V1,
    _MAX_KEKS,
    _check_name,
    _default_kek_name,
    _dek_ad,
    _rk_ad,
    _stream_key,
    _stream_key_ad,
    _wrap_rk,
)
from vaultkit.keys._ring_info import KekInfo
from vaultkit.keys._ring_store import _RingStore

__all__: list[str] = []


class _RingKeks(_RingStore):
    """KEK management of a :class:`~vaultkit.keys.KeyRing` (see the module docstring)."""

    __slots__ = ()

    def keks(self) -> list[KekInfo]:
        """The KEK recipients that open this ring (metadata only)."""
        with self._lock:
            self._refresh()
            if self._format == _FORMAT_V1:
                state = self._body["kms"]
                return [KekInfo("kek", str(state["kind"]), kms_version(state), True)]
            return [
                KekInfo(
                    k["name"],
                    str(k["kms"]["kind"]),
                    kms_version(k["kms"]),
                    k["name"] == self._kek_name,
                )
                for k in self._body["keks"]
            ]

    # -- KEKs -------------------------------------------------------------------------------------
    def rotate_kek(self, *, to: KMS | None = None, others: Sequence[KMS] = ()) -> int:
        """Make a new KEK version of the KEK this ring was opened with, draw a fresh ring key,
        and rewrap every DEK under it. Returns the new KEK version.

        Touches no data and no DEK material. The ring key (from which the store's MAC key
        derives) is drawn anew, never rewrapped: whoever knew the old KEK (an old passphrase,
        a removed SM2 recipient) and kept an old copy of the store knows the old ring key, and
        must not be able to forge a store the ring accepts. The fresh ring key is wrapped for
        every other KEK recipient too: SM2 recipients need only their public keys (in the
        store); a passphrase, key file or token recipient needs its KMS in ``others``.

        With ``to``, this KEK is replaced by another KMS (say a passphrase by an HSM, or by new
        SM2 recipients): ``to`` is initialized, and the ring uses it from then on (the old KMS
        is closed). To keep the old KEK working during a rollout, :meth:`add_kek` the new one
        instead and :meth:`remove_kek` the old one later.
        """

        def change(body: RingBody) -> int:
            own = self._own_entry(body)
            wrappers = self._wrappers(body, others, skip=own["name"])
            target = self._kms if to is None else to
            if to is None:
                new_version = self._kms.rotate()
            else:
                to.initialize()
                new_version = to.kek_version
            if target.kind != self._kms.kind:  # the name follows the kind
                taken = [k["name"] for k in body["keks"] if k is not own]
                self._kek_name = own["name"] = _default_kek_name(target, taken)
            wrappers[own["name"]] = target
            self._fresh_ring_key(body, wrappers)
            own["kms"] = target.state()
            return new_version

        with self._lock:
            version = self._mutate(change)
            if to is not None and to is not self._kms:
                old, self._kms = self._kms, to
                old.close()
            return version

    def add_kek(self, kms: KMS, *, name: str | None = None) -> str:
        """Add ``kms`` as another KEK recipient (initialized here): it opens the ring too.
        Returns its name (``name``, or one made from its kind). The current ring key is
        wrapped for it: the new KEK reads what the ring holds now."""

        def change(body: RingBody) -> str:
            names = [k["name"] for k in body["keks"]]
            kek_name = _check_name(name) if name is not None else _default_kek_name(kms, names)
            if kek_name in names:
                raise KeyStoreError(f"the key ring already has a KEK named {kek_name!r}")
            if len(names) >= _MAX_KEKS:
                raise KeyStoreError(f"a key ring has at most {_MAX_KEKS} KEKs")
            kms.initialize()
            rk = self._next_rk or self._rk
            body["keks"].append(
                {
                    "name": kek_name,
                    "kms": kms.state(),
                    "ring_key": _wrap_rk(kms, rk, self._ring_id, body["epoch"]).to_json(),
                }
            )
            return kek_name

        return self._mutate(change)

    def remove_kek(self, name: str, *, others: Sequence[KMS] = ()) -> None:
        """Remove KEK recipient ``name`` and draw a fresh ring key (every DEK rewrapped), so the
        removed KEK opens neither this store nor any older copy's successors. The fresh ring key
        is wrapped for the remaining recipients (``others`` as in :meth:`rotate_kek`). The KEK
        this ring was opened with cannot remove itself: open the ring with another one."""

        def change(body: RingBody) -> None:
            if not any(k["name"] == name for k in body["keks"]):
                known = ", ".join(k["name"] for k in body["keks"])
                raise KeyStoreError(f"no KEK named {name!r} (this ring has: {known})")
            if name == self._kek_name:
                raise KeyStoreError(
                    f"the key ring was opened with KEK {name!r}: open it with another KEK to "
                    "remove this one"
                )
            body["keks"] = [k for k in body["keks"] if k["name"] != name]
            self._fresh_ring_key(body, self._wrappers(body, others, skip=None))

        self._mutate(change)

    # -- streams ----------------------------------------------------------------------------------
    def _stream_key(self, epoch: int | None = None) -> tuple[int, bytes] | None:
        """``(epoch, key)``: the 16-byte SM4 key that wraps stream file keys for this ring
        (:class:`vaultkit.stream._recipients.RingRecipient`), the same whichever KEK opened the
        ring. ``epoch=None``: the current one. None for a format 1 store (its streams use the
        KMS) and for an epoch this store has no key for."""
        with self._lock:
            self._refresh()
            if self._format == _FORMAT_V1:
                return None
            current = int(self._body["epoch"])
            if epoch is None or epoch == current:
                return current, _stream_key(self._rk)
            for sk in self._body.get("stream_keys", []):
                if sk["epoch"] == epoch:
                    ad = _stream_key_ad(self._ring_id, epoch)
                    return epoch, self._unwrap(WrappedKey.from_json(sk["wrapped"]), ad)
            return None

    def _wrappers(
        self, body: RingBody, others: Sequence[KMS], *, skip: str | None
    ) -> dict[str, KMS]:
        """A KMS able to wrap a fresh ring key for every KEK recipient but ``skip``: this ring's
        own, SM2 recipients from their public keys, the rest from ``others`` (each checked to
        hold that recipient's KEK by unwrapping its current ring key wrapper)."""
        from vaultkit.keys._sm2_recipients import SM2Recipients

        out: dict[str, KMS] = {}
        for k in body["keks"]:
            name, state = k["name"], k["kms"]
            if name == skip:
                continue
            if name == self._kek_name:
                out[name] = self._kms
                continue
            if state.get("kind") == "sm2":
                out[name] = SM2Recipients.from_state(state)
                continue
            for candidate in others:
                if candidate.kind != state.get("kind"):
                    continue
                try:
                    candidate.load_state(state)
                    candidate.unwrap(
                        WrappedKey.from_json(k["ring_key"]),
                        associated_data=_rk_ad(self._ring_id, body["epoch"]),
                    )
                except (KMSError, KeyStoreError):
                    continue
                out[name] = candidate
                break
            else:
                raise KeyStoreError(
                    f"KEK {name!r} must wrap the fresh ring key: pass its KMS in others= "
                    "(or remove that KEK first)"
                )
        return out

    def _fresh_ring_key(self, body: RingBody, wrappers: Mapping[str, KMS]) -> None:
        """Draw a new ring key (epoch + 1), rewrap every DEK and wrap it for every recipient."""
        old = self._next_rk or self._rk
        rk = secrets.token_bytes(32)
        epoch = body["epoch"] + 1
        # streams written under earlier ring keys stay readable: every earlier epoch's stream
        # key is kept, wrapped under the current ring key like a DEK
        kept: list[StreamKeyDoc] = []
        for sk in body.get("stream_keys", []):
            ad = _stream_key_ad(self._ring_id, sk["epoch"])
            material = self._unwrap(WrappedKey.from_json(sk["wrapped"]), ad, rk=old)
            kept.append({"epoch": sk["epoch"], "wrapped": self._wrap(rk, epoch, material, ad)})
        ad = _stream_key_ad(self._ring_id, body["epoch"])
        kept.append(
            {"epoch": body["epoch"], "wrapped": self._wrap(rk, epoch, _stream_key(old), ad)}
        )
        body["stream_keys"] = kept
        for entry in body["keys"]:
            alg = Algorithm.parse(entry["algorithm"])
            for v in entry["versions"]:
                if v["wrapped"] is None:
                    continue
                ad = _dek_ad(self._ring_id, entry["name"], entry["key_id"], v["version"], alg)
                dek = self._unwrap(WrappedKey.from_json(v["wrapped"]), ad, rk=old)
                v["wrapped"] = self._wrap(rk, epoch, dek, ad)
        for k in body["keks"]:
            k["ring_key"] = _wrap_rk(wrappers[k["name"]], rk, self._ring_id, epoch).to_json()
        body["epoch"] = epoch
        self._next_rk = rk  # _write MACs with it; it becomes the ring key once written
