"""The parts of :mod:`vaultkit.remote` (the key service's client) that are not the Vault API:
:mod:`.transport` (the pooled HTTP client, retries, sending a batch's parts), :mod:`.batches`
(where a batch is cut: the service's item and body limits) and :mod:`.keys` (the key metadata
view). The values' wire encoding is the service's own, :mod:`vaultkit.service._wire`,
which the server imports too."""
