"""Policy: a column's level, kind and the protections they allow."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TypeVar

from vaultkit import kinds
from vaultkit.errors import PolicyError, UnknownKindError, VaultkitTypeError
from vaultkit.masking import MaskRule, default_rule, mask
from vaultkit.policy._levels import Kind, Level, Protection

__all__ = ["Policy", "default_protections"]

_ALL = frozenset(Protection)
_REVERSIBLE = frozenset({Protection.ENCRYPT, Protection.TOKEN})


def default_protections(kind: Kind, level: Level) -> frozenset[Protection]:
    """docs/architecture.md, policy: C3 -> verifier only; C2 -> encrypted and masked, plus
    a token and/or a blind index for kinds that are looked up; C1 -> nothing (stored as is)."""
    if level is Level.C3:
        return frozenset({Protection.VERIFIER})
    if level is Level.C1:
        return frozenset()
    out = {Protection.ENCRYPT, Protection.MASK}
    spec = kinds.lookup(kind)  # the kind registry: token format and normalization
    if spec.token_format is not None:
        out.add(Protection.TOKEN)
    if spec.normalize is not None:
        out.add(Protection.BLIND_INDEX)
    return frozenset(out)


@dataclasses.dataclass(frozen=True)
class Policy:
    """How a column of ``kind`` is protected.

    ``level`` defaults to the kind's JR/T 0171-2020 level and may be raised, never lowered for
    authentication data (C3). ``protections`` defaults to :func:`default_protections`; a C3
    policy allows only :attr:`Protection.VERIFIER` (C3 data is never stored reversibly: asking
    for encryption, tokens, blind indexes or masked display raises
    :class:`~vaultkit.errors.PolicyError`). ``mask_rule`` defaults to the kind's rule in
    :mod:`vaultkit.masking`. Hashable, so SQLAlchemy types may cache on it.
    """

    kind: Kind
    level: Level = None  # type: ignore[assignment]  # None: the kind's default level
    protections: frozenset[Protection] = dataclasses.field(default=None, kw_only=True)  # type: ignore[arg-type]
    mask_rule: MaskRule = dataclasses.field(default=None, kw_only=True)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        kind = _coerce(Kind, self.kind, "kind")
        level = kind.default_level if self.level is None else _coerce(Level, self.level, "level")
        if kind.category is Kind.AUTHENTICATION and level < Level.C3:
            raise PolicyError(
                f"{kind.value} is authentication data: JR/T 0171-2020 level C3, not {level.name}"
            )
        if self.protections is None:
            protections = default_protections(kind, level)
        else:
            if isinstance(self.protections, str | Protection) or not isinstance(
                self.protections, Iterable
            ):
                raise VaultkitTypeError("protections is a set of Protection values")
            protections = frozenset(_coerce(Protection, p, "protection") for p in self.protections)
        if level is Level.C3 and protections - {Protection.VERIFIER}:
            denied = ", ".join(sorted(p.value for p in protections - {Protection.VERIFIER}))
            raise PolicyError(
                f"{kind.value} is C3 data (JR/T 0171-2020): never stored reversibly, indexed or "
                f"displayed; only a one-way verifier is allowed (refused: {denied})"
            )
        rule = default_rule(kind.value) if self.mask_rule is None else self.mask_rule
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "protections", protections)
        object.__setattr__(self, "mask_rule", rule)

    def allows(self, protection: Protection) -> bool:
        return protection in self.protections

    def require(self, protection: Protection | str) -> None:
        """Raise :class:`~vaultkit.errors.PolicyError` unless the policy allows ``protection``."""
        p = _coerce(Protection, protection, "protection")
        if p not in self.protections:
            why = (
                "C3 data is never stored reversibly (JR/T 0171-2020); use policy.Verifier"
                if self.level is Level.C3
                else "not in this policy's protections"
            )
            raise PolicyError(f"{p.value} of {self.kind.value} ({self.level.name}) refused: {why}")

    @property
    def token_format(self) -> str | None:
        """The default token format name of the kind (None: no structured format), from
        :mod:`vaultkit.kinds`."""
        return kinds.lookup(self.kind).token_format

    @property
    def index_kind(self) -> str:
        """The blind index normalization of the kind (``"text"`` when it has none)."""
        return self.kind.value if kinds.lookup(self.kind).normalize is not None else "text"

    def display(self, value: str) -> str:
        """``value`` masked for display; refused unless the policy allows masked display."""
        self.require(Protection.MASK)
        return mask(self.kind.value, value, policy=self.mask_rule)


_E = TypeVar("_E", Kind, Level, Protection)


def _coerce(enum_type: type[_E], value: object, what: str) -> _E:
    if isinstance(value, enum_type):
        return value
    try:
        if enum_type is Level and isinstance(value, str):
            return enum_type[value.upper()]
        return enum_type(value)  # type: ignore[arg-type]  # by value; an unknown one: ValueError
    except (ValueError, KeyError):
        if enum_type is Kind and isinstance(value, str):
            try:  # the registry's message: closest kinds ("did you mean"), value masked
                kinds.lookup(value)
            except UnknownKindError as exc:
                raise VaultkitTypeError(str(exc)) from None
        names = ", ".join(str(m.name if enum_type is Level else m.value) for m in enum_type)
        raise VaultkitTypeError(f"unknown {what} {value!r}; expected one of {names}") from None
