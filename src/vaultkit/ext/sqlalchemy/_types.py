"""The column types: ``Encrypted``, ``Tokenized`` and ``BlindIndex`` (SQLAlchemy TypeDecorators).

Each lives in its own module (``_encrypted``, ``_tokenized``, ``_blindindex``); what they share
is ``_base.Protected``, the retired versions searches check ``_retired``'s. The stored-column
format (context, token form, value codec, blind-index input) is :mod:`vaultkit.columns`';
values sealed before the statement are ``_sealed``'s (write side); what the read path returns
is ``_results``' (read side). This module names the three for the rest of the package (and for
pickles of a ``MetaData`` made before they had modules of their own).
"""

from vaultkit.ext.sqlalchemy._blindindex import BlindIndex
from vaultkit.ext.sqlalchemy._encrypted import Encrypted
from vaultkit.ext.sqlalchemy._tokenized import Tokenized

__all__ = ["BlindIndex", "Encrypted", "Tokenized"]
