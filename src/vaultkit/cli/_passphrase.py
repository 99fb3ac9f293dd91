"""Minimum passphrase strength for new key ring passphrases (``init``, ``kek rotate``,
``kek add --passphrase``).

A passphrase protects every key of the ring against an offline guess with the store file in
hand: scrypt (N=2^15) slows each guess, it does not make a weak passphrase strong. Refused:
fewer than :data:`MIN_LENGTH` characters, or a zxcvbn score below :data:`MIN_SCORE` (zxcvbn,
Dropbox's estimator: dictionary words, keyboard patterns, dates, repeats; score 3 means an
estimated 10^8 to 10^10 guesses). ``VAULTKIT_ALLOW_WEAK_PASSPHRASE=1`` lifts the rule: for
tests and throw-away demos only.
"""

from __future__ import annotations

import os

from vaultkit.cli._common import CliError

__all__ = ["ENV_ALLOW_WEAK", "MIN_LENGTH", "MIN_SCORE", "check_strength"]

ENV_ALLOW_WEAK = "VAULTKIT_ALLOW_WEAK_PASSPHRASE"
MIN_LENGTH = 12
MIN_SCORE = 3


def check_strength(passphrase: str) -> None:
    """``CliError`` naming the rule when ``passphrase`` is too weak (never echoing it)."""
    if os.environ.get(ENV_ALLOW_WEAK) == "1":
        return
    if len(passphrase) < MIN_LENGTH:
        raise CliError(
            f"passphrase too short: at least {MIN_LENGTH} characters (a few unrelated words)"
        )
    from zxcvbn import zxcvbn

    result = zxcvbn(passphrase[:100])  # zxcvbn is slow on very long input; 100 is plenty
    if int(result["score"]) < MIN_SCORE:
        raise CliError(
            f"passphrase too guessable (strength {result['score']}/4, needs {MIN_SCORE}): "
            "use several unrelated words"
        )
