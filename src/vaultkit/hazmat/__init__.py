"""Hazardous materials: primitives with explicit keys and nonces.

Everything here takes raw keys and, for AEADs, caller-chosen nonces. Reusing a nonce with the same
key destroys GCM's security; a wrong tweak or alphabet silently changes tokens. Use the recipes
(:class:`vaultkit.Vault`, ``vaultkit.tokens``, ``vaultkit.stream``) unless you know why you need
these. Modules: ``sm4``, ``aead``, ``ff1``, ``hashes``, ``flat`` (the flat buffers of the AEADs'
flat batches); ``bindings`` selects the backend (only hazmat's own modules use it: the recipes
reach the backends through the private ``_fast``, the one place that decides what runs each call).
See docs/primitives.md.
"""

__all__ = ["aead", "bindings", "ff1", "flat", "hashes", "sm4"]
