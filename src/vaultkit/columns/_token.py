"""The stored form of a token column: ``"<key version>:<token>"``.

FF1 tokens do not carry their key version, so a token column stores it as a decimal prefix:
detokenizing reads the version from the prefix, a search tokenizes under every readable
version, and a survey counts rows per version without detokenizing anything.
"""

from __future__ import annotations

import re

from vaultkit.errors import InputFormatError

__all__ = ["NOT_STORED_TOKEN", "format_token", "parse_token", "token_version"]

NOT_STORED_TOKEN = "not a stored token (VERSION:TOKEN)"  # noqa: S105 - an error message

# version: 1 to 9 decimal digits; the token: at least one character
_STORED = re.compile(r"([0-9]{1,9}):(?=.)")


def format_token(version: int, token: str) -> str:
    """The stored form of ``token`` made under key version ``version``."""
    return f"{version}:{token}"


def token_version(stored: object) -> int | None:
    """The key version of a stored token, or None when ``stored`` is not one (never raises)."""
    if not isinstance(stored, str):
        return None
    m = _STORED.match(stored)
    return None if m is None else int(m.group(1))


def parse_token(stored: object) -> tuple[int, str]:
    """(version, token) of a stored token; ``InputFormatError`` (never naming the value) when
    ``stored`` is not one."""
    version = token_version(stored)
    if version is None:
        raise InputFormatError(NOT_STORED_TOKEN)
    assert isinstance(stored, str)
    return version, stored.partition(":")[2]
