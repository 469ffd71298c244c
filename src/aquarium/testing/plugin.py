"""A pytest plugin for the tests of a Zuora integration: an Aquarium server per test session,
reset between tests, with its test control as plain Python.

Loaded by its entry point once ``aquarium`` is installed, or explicitly with
``pytest -p aquarium.testing.plugin``. Fixtures:

- ``aquarium`` (per test): the session's server (:class:`~aquarium.testing.server.TestServer`),
  reset before the test: no fault rules, no firings, no requests seen, real time. Use
  ``aquarium.url`` and ``aquarium.auth`` (or ``aquarium.client``, ``aquarium.http()``) for the
  integration under test and ``aquarium.faults``, ``aquarium.clock``, ``aquarium.requests`` to
  steer it::

      def test_retries_a_rate_limit(aquarium):
          aquarium.faults.http(429, endpoint="GET /v1/batch-query/jobs/*", count=2)
          run_my_export(base_url=aquarium.url, auth=aquarium.auth)
          assert [r["status"] for r in aquarium.requests.list()][:3] == [200, 429, 429]

      def test_expired_file(aquarium):
          ...
          aquarium.clock.advance(days=4)

- ``aquarium_server`` (per session): the same server, not reset.
- ``aquarium_template`` (per session): the template data dir servers are copied from, made once
  and kept in pytest's cache (``.pytest_cache``) for the next sessions.

Options: ``--aquarium-scale`` (the demo tenant's size, default 0.05: about 50 accounts),
``--aquarium-template DIR`` (a data dir of your own as the template, e.g. one filled by
``aquarium load`` or ``aquarium clone``; it is copied, never changed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aquarium.testing import server as test_server

DEFAULT_SCALE = 0.05


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aquarium", "Aquarium server for integration tests")
    group.addoption(
        "--aquarium-scale",
        type=float,
        default=DEFAULT_SCALE,
        help="scale of the demo tenant of the session's Aquarium server (default 0.05)",
    )
    group.addoption(
        "--aquarium-template",
        type=Path,
        default=None,
        help="a data dir to copy for the session's Aquarium server (default: a demo tenant "
        "made once and cached)",
    )


@pytest.fixture(scope="session")
def aquarium_template(pytestconfig: pytest.Config) -> Path:
    given: Path | None = pytestconfig.getoption("aquarium_template")
    if given is not None:
        if not given.is_dir():
            raise pytest.UsageError(f"--aquarium-template {given}: no such directory")
        return given
    scale: float = pytestconfig.getoption("aquarium_scale")
    if pytestconfig.cache is not None:
        cached = pytestconfig.cache.mkdir(f"aquarium-template-{scale:g}")
    else:  # the cache provider switched off (-p no:cacheprovider)
        import tempfile

        cached = Path(tempfile.gettempdir()) / f"aquarium-template-{scale:g}"
    return test_server.ensure_template(cached, scale=scale)


@pytest.fixture(scope="session")
def aquarium_server(
    aquarium_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[test_server.TestServer]:
    where = tmp_path_factory.mktemp("aquarium") / "data"
    with test_server.running(aquarium_template, where) as started:
        yield started


@pytest.fixture
def aquarium(aquarium_server: test_server.TestServer) -> test_server.TestServer:
    aquarium_server.reset()
    return aquarium_server
