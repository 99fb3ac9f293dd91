"""What :class:`vaultkit.Vault` is made of, besides its methods (``vaultkit/vault.py``).

``ciphers`` (the DEK cache and the field ciphers derived from it), ``contexts`` (encoded
contexts, the last one remembered), ``plaintexts`` (str/bytes conversions that never leak a
plaintext into an exception), ``audit`` (the events the audit hook receives). Private: only
``vaultkit.vault`` imports these.
"""
