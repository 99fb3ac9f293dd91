"""The stored-column format: what every door writing or reading protected database columns
shares (docs/architecture.md).

* the column context (:func:`column_context`, :func:`row_key`, :func:`table_name`): the
  associated data of a value;
* the token stored form ``"<version>:<token>"`` (:func:`format_token`, :func:`parse_token`,
  :func:`token_version`);
* the value codec (:func:`codec_for` by ``python_type``, :func:`encode_value` by value);
* the blind-index input (:func:`blind_index_input`);
* the classifier (:func:`classify`, :class:`Classifier`, :func:`classify_token`): which key and
  version a stored value is under, without decrypting.

The ORM (``vaultkit.ext.sqlalchemy``), ``vaultkit.reencrypt`` and the CLI call these; none keeps
a copy. This package does not import SQLAlchemy.
"""

from vaultkit.columns._blind import blind_index_input
from vaultkit.columns._classify import Classifier, Form, Stored, classify, classify_token
from vaultkit.columns._codec import Codec, codec_for, encode_value
from vaultkit.columns._context import column_context, row_key, split_table_name, table_name
from vaultkit.columns._token import format_token, parse_token, token_version

__all__ = [
    "Classifier",
    "Codec",
    "Form",
    "Stored",
    "blind_index_input",
    "classify",
    "classify_token",
    "codec_for",
    "column_context",
    "encode_value",
    "format_token",
    "parse_token",
    "row_key",
    "split_table_name",
    "table_name",
    "token_version",
]
