"""The protected-column catalogue: which columns of an application database vaultkit protects,
and how (docs/architecture.md, "The protected-column catalogue").

A ciphertext names its key in its header, but a stored token (``"<version>:<token>"``) and a
blind index (a truncated MAC) do not: without a record of which column uses which key,
``key retire --db`` / ``key destroy --db`` cannot count them and ``vaultkit verify`` cannot
check them. The catalogue is that record, a ``vaultkit_columns`` table in the application
database, written by ``vaultkit reencrypt`` runs and by
``vaultkit.ext.sqlalchemy.configure(..., engine=e)``.
"""

from vaultkit.catalog._table import (
    CATALOG_TABLE,
    CatalogWarning,
    ProtectedColumn,
    Protection,
    load,
    record,
    record_metadata,
)

__all__ = [
    "CATALOG_TABLE",
    "CatalogWarning",
    "ProtectedColumn",
    "Protection",
    "load",
    "record",
    "record_metadata",
]
