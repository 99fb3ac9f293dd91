"""What the read path returns (the read side owns it).

* :class:`Opened`: a row-bound column's value opened under its row by the cursor
  (``_rowread``), which the column type's result processor unwraps.
* :class:`RowBound`: a row-bound column's ciphertext on its way to the ORM's load events (an
  entity load without the row key in its result; ``_rowread`` refuses any other such read).
* :class:`OpenedValues`: stored value -> opened value of the last fetched batches of one result
  column, made and owned by that result's cursor (``_engine``): it dies with the result.
* :class:`LatestOpened`: what a column type holds to find them, a weak reference only, so no
  plaintext is reachable from a (long-lived, ``cache_ok``) type object once its results are gone.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from vaultkit._nopickle import NoPickle

if TYPE_CHECKING:
    from sqlalchemy.sql.type_api import _ResultProcessorType

__all__ = ["LatestOpened", "Opened", "OpenedValues", "RowBound"]

_MISSING: Final = object()


class Opened:
    """A row-bound value the cursor opened under its own row (``_rowread``), on its way from
    the DBAPI row to the column type's result processor, which returns ``value``."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Opened(<value>)"


class RowBound:
    """A row-bound column's ciphertext on its way to the ORM, which opens it on load with the
    row key the instance holds (``_orm``). ``stored`` is the raw column value. A statement
    outside an entity load never returns one: it opens the value under its row or is refused
    (``_rowread``)."""

    __slots__ = ("stored",)

    def __init__(self, stored: bytes | str) -> None:
        self.stored = stored

    def __repr__(self) -> str:
        return "RowBound(<ciphertext>)"


class OpenedValues(dict[object, object], NoPickle):
    """Stored value -> opened value, for the last two batches one result column fetched.

    Keys are the stored values themselves: within a batch every value was authenticated under
    its column's context, and equal stored values of one column open to equal values.
    """

    __slots__ = ("__weakref__", "_previous")

    def __init__(self) -> None:
        super().__init__()
        self._previous: dict[object, object] = {}

    def fill(self, stored: Sequence[object], opened: Sequence[object]) -> None:
        """Make ``stored`` -> ``opened`` the newest batch (the one before the previous goes)."""
        previous = dict(self)
        self.clear()
        try:
            self.update(zip(stored, opened, strict=True))
        except TypeError:  # unhashable stored values (a driver returning memoryview)
            self.clear()
        self._previous = previous

    def find(self, stored: object) -> object:
        """The opened value of ``stored``, or ``_MISSING``."""
        try:
            value = self.get(stored, _MISSING)
            return self._previous.get(stored, _MISSING) if value is _MISSING else value
        except TypeError:  # unhashable
            return _MISSING

    def __repr__(self) -> str:
        return f"OpenedValues(<{len(self) + len(self._previous)} values>)"


class LatestOpened:
    """A column type's weak reference to the :class:`OpenedValues` its latest fetch filled.

    The result processor looks a stored value up there; a value not found (a result of the same
    column fetched interleaved, another thread, a result already gone, the per-value path) is
    opened on its own by ``open_one``: the same value, one ``Vault`` call.
    """

    __slots__ = ("_ref",)

    def __init__(self) -> None:
        self._ref: weakref.ref[OpenedValues] | None = None

    def publish(self, opened: OpenedValues) -> None:
        self._ref = weakref.ref(opened)

    def reset(self) -> None:
        self._ref = None

    def current(self) -> OpenedValues | None:
        ref = self._ref
        return None if ref is None else ref()

    def processor(self, open_one: Callable[[object], object]) -> _ResultProcessorType[object]:
        """The result processor: the batch-opened value, else ``open_one(stored)``."""
        latest = self

        def process(value: object) -> object:  # (the name SQLAlchemy's protocol gives it)
            if value is None:
                return None
            ref = latest._ref
            opened = None if ref is None else ref()
            if opened is not None:
                found = opened.find(value)
                if found is not _MISSING:
                    return found
            return open_one(value)

        return process

    def __repr__(self) -> str:
        return "LatestOpened()"
