"""Integrations of vaultkit with other libraries (``vaultkit.ext.sqlalchemy``)."""

__all__: list[str] = []
