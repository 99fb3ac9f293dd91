"""Sensitivity policies for personal financial information (JR/T 0171-2020).

Columns declare a kind (and optionally a level); the level picks the default protections::

    Policy(Kind.CARD_NO)      # C2: encrypt, token, blind index, masked display
    Policy(Kind.PIN)          # C3: one-way verifier only; encrypting or tokenizing is refused
    Verifier().hash("123456") # '$argon2id$v=19$m=65536,t=3,p=4$...'
"""

from vaultkit.policy._levels import Kind, Level, Protection
from vaultkit.policy._names import is_authentication_column
from vaultkit.policy._policy import Policy, default_protections
from vaultkit.policy._verifier import Verifier

__all__ = [
    "Kind",
    "Level",
    "Policy",
    "Protection",
    "Verifier",
    "default_protections",
    "is_authentication_column",
]
