"""Result storage: where finished files live (a local directory; later S3-compatible via fsspec)."""
