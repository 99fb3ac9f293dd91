"""Names shared by the token tests (the key ring itself is in conftest.py)."""

SM4_KEY = "tokens.sm4"
AES_KEY = "tokens.aes"
CTX = {"table": "customers", "column": "card_no"}
