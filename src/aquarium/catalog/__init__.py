"""The object catalogue: Zuora objects, their fields and joins, as data (``objects.toml``)."""
