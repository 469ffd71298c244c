"""The fuzz tier: schemathesis against a real ``aquarium serve``, every operation, every check.

One session-scoped server (``tests/fuzz/live.py``: demo tenant at a small scale plus a second
tenant) shared by every fuzz test through the ``fuzz`` xdist group. The size of the run is
``AQUARIUM_FUZZ_EXAMPLES`` examples per operation and phase (default
:data:`tests.fuzz.test_api.DEFAULT_EXAMPLES`, small enough for ``make test``); the seed is fixed
(``AQUARIUM_FUZZ_SEED``, default 0) and generation deterministic, so a run repeats exactly;
nothing is written to a hypothesis database. ``make fuzz`` (``tests/fuzz/campaign.py``) is the
long, randomised run.

When a test fails, the tail of the server's log is printed with the failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.acceptance import support
from tests.fuzz import hooks, live


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    running = live.start(tmp_path_factory.mktemp("fuzz"))
    hooks.use_base_url(running.base_url)
    yield from support.serving(running)
