"""Key management: data keys, the key ring and KMS backends."""

from vaultkit.keys._model import Algorithm, DataKey, KeyProvider, KeyState

__all__ = ["Algorithm", "DataKey", "KeyProvider", "KeyState"]
