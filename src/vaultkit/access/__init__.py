"""Access control: principals and their grants (stored in the key ring, see docs/access.md).

``ring.grant(principal, keys="customers.*", operations={"decrypt"})`` allows; ``Vault(ring,
principal="teller-app")`` is held to it: a call outside the principal's grants raises
:class:`~vaultkit.errors.AccessDeniedError` and is recorded in the audit trail.
"""

from __future__ import annotations

from vaultkit.access._grant import OPERATIONS, Grant

__all__ = ["OPERATIONS", "Grant"]
