"""Acceptance tier: real ``aquarium serve`` processes on free ports, spoken to over plain HTTP.

- ``server`` (session): demo tenant at ``AQUARIUM_DEMO_SCALE=0.05`` (about 50 accounts) whose
  partner ids are restricted to :data:`DEMO_PARTNERS`, plus a second tenant ``other`` with its own
  user, OAuth client and data (scale 0.02) for isolation tests.
- ``big_server`` (module): demo tenant at scale 1, slow enough to cancel a running job, plus a
  tenant ``limited`` (scale 0.3) allowed one concurrent stateless job.
- ``scratch_server`` (session): demo tenant at scale 0.05 for tests that write data or make
  reports (the ``server``'s data is counted by other tests).

``server`` and ``scratch_server`` are built for the test's ``deployment``: ``embedded`` (one
``aquarium serve``) unless the test's module sets ``DEPLOYMENTS = deployments.BOTH``, which runs
each of its tests against a ``scale-out`` deployment too (``tests/acceptance/deployments.py``:
an API node and two workers on a database of their own, with the same tenants and data). Each
deployment is started once, when a test first needs it, and stopped at the end of the session;
the scale-out variants share one xdist group, so one xdist worker starts them.

When a test fails, the tail of every running server's log is printed with the failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests import tenants_setup
from tests.acceptance import deployments, openapi_check, support

DEMO_PARTNERS = ("salesforce", "aquarium-tests")
OTHER_TENANT = "other"
OTHER_TIME_ZONE = "Europe/Paris"
OTHER_AUTH = ("other-user", "other-password")
OTHER_CLIENT = ("other-client", "other-secret")
LIMITED_TENANT = "limited"
LIMITED_AUTH = ("limited-user", "limited-password")
SCALE_OUT_GROUP = "acceptance-scale-out"

Deployment = support.RunningServer | deployments.ScaleOut


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test of a module with ``DEPLOYMENTS`` once per deployment it names."""
    kinds = getattr(metafunc.module, "DEPLOYMENTS", ())
    if not kinds or "deployment" not in metafunc.fixturenames:
        return
    embedded_only = metafunc.definition.get_closest_marker("embedded_only")
    params = []
    for kind in kinds:
        marks: list[pytest.MarkDecorator] = []
        if kind == deployments.SCALE_OUT:
            marks.append(pytest.mark.xdist_group(SCALE_OUT_GROUP))
            if embedded_only is not None:
                marks.append(pytest.mark.skip(reason=embedded_only.args[0]))
        params.append(pytest.param(kind, id=kind, marks=marks))
    metafunc.parametrize("deployment", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest) -> str:
    """The kind of deployment a test runs against (``deployments.EMBEDDED`` unless its module
    parametrises it)."""
    return str(getattr(request, "param", deployments.EMBEDDED))


class _Started:
    """The deployments started in this session, by name and kind, each started once: pytest
    sets ``server`` up again when the parametrised ``deployment`` changes, but the deployment
    behind it stays up until the session ends."""

    def __init__(self) -> None:
        self.running: dict[tuple[str, str], Deployment] = {}

    def get(self, name: str, kind: str, start: Callable[[], Deployment]) -> Deployment:
        key = (name, kind)
        if key not in self.running:
            self.running[key] = start()
            support.RUNNING.append(self.running[key])
        return self.running[key]

    def stop(self) -> None:
        for started in self.running.values():
            support.RUNNING.remove(started)
            started.stop()
        self.running.clear()


@pytest.fixture(scope="session")
def started_deployments() -> Iterator[_Started]:
    started = _Started()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def _answers_match_openapi() -> Iterator[None]:
    """Fails the test during which an answer broke openapi.json (tests/acceptance/openapi_check)."""
    yield
    broken = openapi_check.taken()
    assert not broken, "answers that openapi.json does not describe:\n" + "\n".join(broken)


@pytest.fixture(scope="session")
def server(
    deployment: str,
    started_deployments: _Started,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Deployment:
    def start() -> Deployment:
        data_dir = tmp_path_factory.mktemp(f"small-{deployment}") / "data"
        if deployment == deployments.SCALE_OUT:
            return _small_scale_out(data_dir, request.getfixturevalue("pg_dsn"))
        return _small_embedded(data_dir)

    return started_deployments.get("small", deployment, start)


def _small_embedded(data_dir: Path) -> support.RunningServer:
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.set_partners(data_dir, "demo", DEMO_PARTNERS)
    tenants_setup.add_tenant(data_dir, OTHER_TENANT, time_zone=OTHER_TIME_ZONE)
    tenants_setup.add_user(data_dir, OTHER_TENANT, *OTHER_AUTH)
    tenants_setup.add_client(data_dir, OTHER_TENANT, *OTHER_CLIENT)
    support.aquarium_cli(
        data_dir,
        "datagen",
        "--tenant",
        OTHER_TENANT,
        "--scale",
        "0.02",
        "--seed",
        "7",
        "--time-zone",
        OTHER_TIME_ZONE,
    )
    return support.start_server("small", data_dir, demo_scale=0.05)


def _small_scale_out(data_dir: Path, pg_dsn: str) -> deployments.ScaleOut:
    scaled = deployments.scale_out("small", data_dir, pg_dsn, demo_scale=0.05)
    try:
        tenants_setup.ensure_demo(scaled)
        tenants_setup.set_partners(scaled, "demo", DEMO_PARTNERS)
        tenants_setup.add_tenant(scaled, OTHER_TENANT, time_zone=OTHER_TIME_ZONE)
        tenants_setup.add_user(scaled, OTHER_TENANT, *OTHER_AUTH)
        tenants_setup.add_client(scaled, OTHER_TENANT, *OTHER_CLIENT)
        deployments.datagen(scaled, OTHER_TENANT, scale=0.02, seed=7, time_zone=OTHER_TIME_ZONE)
    except BaseException:
        scaled.stop()
        raise
    return deployments.start(scaled)


@pytest.fixture(scope="session")
def scratch_server(
    deployment: str,
    started_deployments: _Started,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Deployment:
    """A small server whose data tests may change (the shared ``server``'s is counted)."""

    def start() -> Deployment:
        data_dir = tmp_path_factory.mktemp(f"scratch-{deployment}") / "data"
        if deployment == deployments.SCALE_OUT:
            scaled = deployments.scale_out(
                "scratch", data_dir, request.getfixturevalue("pg_dsn"), demo_scale=0.05
            )
            try:
                tenants_setup.ensure_demo(scaled)
                tenants_setup.set_partners(scaled, "demo", DEMO_PARTNERS)
            except BaseException:
                scaled.stop()
                raise
            return deployments.start(scaled)
        tenants_setup.ensure_demo(data_dir)
        tenants_setup.set_partners(data_dir, "demo", DEMO_PARTNERS)
        return support.start_server("scratch", data_dir, demo_scale=0.05)

    return started_deployments.get("scratch", deployment, start)


@pytest.fixture(scope="session")
def scratch(scratch_server: Deployment) -> httpx.Client:
    """An httpx client of the scratch server, logged in as demo/demo (HTTP Basic)."""
    return scratch_server.client()


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("big") / "data"
    tenants_setup.add_tenant(data_dir, LIMITED_TENANT, time_zone="America/Los_Angeles")
    tenants_setup.add_user(data_dir, LIMITED_TENANT, *LIMITED_AUTH)
    tenants_setup.set_limits(data_dir, LIMITED_TENANT, max_stateless_jobs=1)
    support.aquarium_cli(data_dir, "datagen", "--tenant", LIMITED_TENANT, "--scale", "0.3")
    yield from support.serving(support.start_server("big", data_dir, demo_scale=1.0))


@pytest.fixture(scope="session")
def demo(server: Deployment) -> httpx.Client:
    """An httpx client of the small server, logged in as demo/demo (HTTP Basic)."""
    return server.client()
