"""The ``masked(...)`` accessor: a protected attribute shown masked (docs/sqlalchemy.md).

Least privilege (docs/access.md): a value not loaded yet (a deferred or expired attribute) is
read in its stored form and revealed through the Vault's masked operations
(``decrypt_masked``, ``detokenize_masked``), which the ``reveal_masked`` grant allows: the
plaintext never leaves vaultkit and the principal needs neither ``decrypt`` nor ``detokenize``.
A value already loaded (its plaintext is in the instance) is masked where it is, with the same
rule (``vaultkit.masking``), without another Vault call.
"""

from __future__ import annotations

from sqlalchemy import and_, inspect, select, type_coerce

from vaultkit.columns import column_context, parse_token, row_key
from vaultkit.columns._context import row_key_shown
from vaultkit.errors import DecryptionError, InputFormatError, KeyStateError, VaultkitTypeError
from vaultkit.ext.sqlalchemy import _policy
from vaultkit.ext.sqlalchemy._base import Protected, bound
from vaultkit.ext.sqlalchemy._orm import plan
from vaultkit.ext.sqlalchemy._sealed import plaintext_of
from vaultkit.ext.sqlalchemy._types import Encrypted, Tokenized

__all__ = ["masked"]


def masked(instance: object, attr: str) -> str | None:
    """``instance.<attr>`` masked for display by the policy of the column's ``kind`` (or, for a
    tokenized column without a kind, its format). NULL stays None. An attribute not loaded is
    revealed masked by the Vault (``reveal_masked`` suffices); a loaded one is masked as is."""
    column_attr = inspect(type(instance)).column_attrs.get(attr)
    if column_attr is None:
        raise VaultkitTypeError(f"{type(instance).__name__} has no column attribute {attr!r}")
    column = column_attr.columns[0]
    t = column.type
    kind = getattr(t, "kind", None)
    if kind is None and isinstance(t, Tokenized):
        kind = _policy.mask_kind_of_format(t.format, attr)
    if kind is None:
        raise VaultkitTypeError(f"{attr}: declare kind=... on the column to mask it")
    state = inspect(instance)
    if attr in state.unloaded and isinstance(t, Encrypted | Tokenized) and state.key is not None:
        return _reveal(instance, attr, t, str(kind))
    value = plaintext_of(getattr(instance, attr))
    return None if value is None else _policy.mask(str(kind), value)


def _reveal(instance: object, attr: str, t: Encrypted | Tokenized, kind: str) -> str | None:
    """Read the stored form of a persistent instance's ``attr`` (not decrypted: the column is
    read as its storage type) and reveal it masked through the Vault."""
    state = inspect(instance)
    b = bound(t)
    mapper = state.mapper
    column = mapper.get_property(attr).columns[0]
    session = state.session
    identity = state.identity
    if session is None or identity is None:
        raise VaultkitTypeError(f"{b.where}: masked() of an unloaded value needs a session")
    table = column.table
    pk = list(table.primary_key.columns)
    if len(pk) != len(identity):
        raise VaultkitTypeError(f"{b.where}: masked() needs the column's table keyed as the row")
    where = f"{b.where}, primary key {row_key_shown(list(identity))}"
    query = select(type_coerce(column, t.impl_instance)).where(
        and_(*(c == v for c, v in zip(pk, identity, strict=True)))
    )
    stored = session.execute(query).scalar_one_or_none()
    if stored is None:
        return None
    if isinstance(stored, memoryview | bytearray):
        stored = bytes(stored)
    if isinstance(t, Tokenized):
        return _token(t, stored, kind, b.where)
    contexts = [b.context]
    if t.row_key is not None:
        rb = next(r for r in plan(mapper).row_bound if r.attr == attr)
        key = [getattr(instance, a) for a in rb.key_attrs]
        contexts = [column_context(b.table, b.column, row_key(key))]
        if t.read_unbound:
            contexts.append(b.context)  # written before the column was row-bound
    return _decrypt(t, stored, contexts, kind, where)


def _decrypt(
    t: Protected, stored: bytes | str, contexts: list[dict[str, str]], kind: str, where: str
) -> str:
    vault = bound(t).vault
    for context in contexts:
        try:
            return vault.decrypt_masked(stored, context=context, kind=kind)
        except KeyStateError as exc:  # retired or destroyed version: an operator's decision
            raise KeyStateError(f"{exc} ({where})") from None
        except DecryptionError:
            continue  # (the next context, outside the handler: no chain)
    raise DecryptionError(where)


def _token(t: Tokenized, stored: object, kind: str, where: str) -> str:
    b = bound(t)
    try:
        version, token = parse_token(stored)
    except InputFormatError:  # (its message names no value)
        raise DecryptionError(where) from None
    try:
        return b.vault.detokenize_masked(
            t.key_name, token, format=t.format, context=b.context, kind=kind, version=version
        )
    except KeyStateError as exc:
        raise KeyStateError(f"{exc} ({where})") from None
    except DecryptionError:
        raise DecryptionError(where) from None
