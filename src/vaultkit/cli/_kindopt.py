"""Option callbacks for names of the kind registry (:mod:`vaultkit.kinds`): mask kinds and token
formats. An unknown name is a usage error (exit code 2) that lists the accepted names and the
closest ones ("did you mean"); a known name or alias becomes its canonical name.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from vaultkit import kinds
from vaultkit.errors import UnknownKindError

__all__ = ["mask_kind", "token_format"]


def _checked(
    resolve: Callable[[str], str],
) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:  # an optional option left out
            return None
        try:
            return resolve(value)
        except UnknownKindError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


mask_kind = _checked(lambda v: kinds.lookup(v, what="mask kind").name)
token_format = _checked(kinds.token_format)
