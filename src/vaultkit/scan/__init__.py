"""The PII self-inspection scan behind ``vaultkit scan`` (JR/T 0171-2020 自查)."""

from vaultkit.scan._detect import DETECTORS, Detector
from vaultkit.scan._render import FORMATS, render
from vaultkit.scan._scan import BindingFinding, ColumnReport, Finding, ScanReport, scan_database

__all__ = [
    "DETECTORS",
    "FORMATS",
    "BindingFinding",
    "ColumnReport",
    "Detector",
    "Finding",
    "ScanReport",
    "render",
    "scan_database",
]
