"""The server most in-process integration tests build: a demo tenant at scale 0.02, no workers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from aquarium import server
from aquarium.settings import Settings


@contextmanager
def demo_server(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[server.Server]:
    """A server over a fresh data dir named ``name`` (demo tenant, scale 0.02, no workers),
    stopped on leaving."""
    data_dir = tmp_path_factory.mktemp(name)
    built = server.build(Settings(data_dir=data_dir, demo_scale=0.02, no_workers=True))
    try:
        yield built
    finally:
        built.stop()
