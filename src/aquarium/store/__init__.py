"""Metadata: tenants and (later) jobs. All metadata I/O lives here."""
