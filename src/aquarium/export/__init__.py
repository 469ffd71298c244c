"""Turning an engine's output into the requested result file: CSV, gzip, zip; checksum, size."""
