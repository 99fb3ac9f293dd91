"""Online, resumable, crash-safe re-encryption of database columns (``vaultkit reencrypt``).

See :mod:`vaultkit.reencrypt._engine` for the algorithm and docs/cli.md for the command.
"""

from vaultkit.columns import (
    Classifier,
    Form,
    Stored,
    classify,
    classify_token,
    column_context,
)
from vaultkit.reencrypt._count import VersionCount, count_under_version, count_version_everywhere
from vaultkit.reencrypt._engine import Reencryptor
from vaultkit.reencrypt._report import BlindIndexTarget, ColumnSurvey, ReencryptError, Summary
from vaultkit.reencrypt._verify import Finding, Verification, verify_database

__all__ = [
    "BlindIndexTarget",
    "Classifier",
    "ColumnSurvey",
    "Finding",
    "Form",
    "ReencryptError",
    "Reencryptor",
    "Stored",
    "Summary",
    "Verification",
    "VersionCount",
    "classify",
    "classify_token",
    "column_context",
    "count_under_version",
    "count_version_everywhere",
    "verify_database",
]
