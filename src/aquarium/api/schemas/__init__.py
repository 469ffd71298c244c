"""What ``openapi.json`` says beyond what FastAPI derives: request bodies, answers and examples.

The routers read their bodies themselves (``api/body.py``: size limits, gzip, the shared JSON
limits), so FastAPI sees no body and no answer model; these modules describe them, once, as
JSON Schema (2020-12, OpenAPI 3.1's dialect) and :mod:`.document` writes them into the document.

- :mod:`.common`: helpers, and every family's error answers derived from ``api/errors.py``;
- :mod:`.aqua`: AQuA jobs, result files, describe and OAuth;
- :mod:`.reporting`: the Reporting API (definitions, labels, settings, runs);
- :mod:`.others`: object CRUD, Aquarium's job API, health and metrics;
- :mod:`.document`: the post-processing of FastAPI's document.
"""
