"""The parts of :mod:`vaultkit.remote` (the key service's client) that are not the Vault API:
:mod:`.transport` (the pooled HTTP client, retries, batch splitting) and :mod:`.keys` (the key
metadata view). The values' wire encoding is the service's own, :mod:`vaultkit.service._wire`,
which the server imports too."""
