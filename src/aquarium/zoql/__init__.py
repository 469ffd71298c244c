"""ZOQL and Export ZOQL: parse -> check against the catalogue -> lower to sqlglot -> SQL text.

Each stage is a module with one pure entry point: :func:`parse.parse`, :func:`check.check`,
:func:`lower.lower`. :func:`translate.translate` runs the pipeline.
"""
