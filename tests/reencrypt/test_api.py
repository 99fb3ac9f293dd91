"""The public surface of vaultkit.reencrypt and vaultkit.scan is deliberate."""

from __future__ import annotations

import vaultkit.reencrypt
import vaultkit.scan


def test_public_api_is_frozen() -> None:
    assert set(vaultkit.reencrypt.__all__) == {
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
        "count_version_everywhere",
        "VersionCount",
        "Finding",
        "Verification",
        "verify_database",
    }
    assert set(vaultkit.scan.__all__) == {
        "BindingFinding",
        "DETECTORS",
        "FORMATS",
        "ColumnReport",
        "Detector",
        "Finding",
        "ScanReport",
        "render",
        "scan_database",
    }


def test_column_context_matches_the_sqlalchemy_types() -> None:
    from vaultkit.columns import column_context
    from vaultkit.ext.sqlalchemy._binding import ColumnBinding

    # one owner (vaultkit.columns), and the mapping existing data was written under
    assert vaultkit.reencrypt.column_context is column_context
    assert ColumnBinding(None, "t", "c", "k").context == {"table": "t", "column": "c"}  # type: ignore[arg-type]
    assert column_context("t", "c", 42) == {"table": "t", "column": "c", "row": "42"}
