"""Online, resumable, crash-safe re-encryption of database columns (``vaultkit reencrypt``).

See :mod:`vaultkit.reencrypt._engine` for the algorithm and docs/cli.md for the command.
"""

from vaultkit.reencrypt._engine import (
    BlindIndexTarget,
    ColumnSurvey,
    ReencryptError,
    Reencryptor,
    Summary,
    column_context,
    count_under_version,
)
from vaultkit.reencrypt._stored import Classifier, Form, Stored, classify, classify_token

__all__ = [
    "BlindIndexTarget",
    "Classifier",
    "ColumnSurvey",
    "Form",
    "ReencryptError",
    "Reencryptor",
    "Stored",
    "Summary",
    "classify",
    "classify_token",
    "column_context",
    "count_under_version",
]
