"""Acceptance tier: real ``aquarium serve`` processes on free ports, spoken to over plain HTTP.

- ``server`` (session): demo tenant at ``AQUARIUM_DEMO_SCALE=0.05`` (about 50 accounts) whose
  partner ids are restricted to :data:`DEMO_PARTNERS`, plus a second tenant ``other`` with its own
  user, OAuth client and data (scale 0.02) for isolation tests.
- ``big_server`` (module): demo tenant at scale 1, slow enough to cancel a running job, plus a
  tenant ``limited`` (scale 0.3) allowed one concurrent stateless job.
- ``scratch_server`` (session): demo tenant at scale 0.05 for tests that write data or make
  reports (the ``server``'s data is counted by other tests).

When a test fails, the tail of every running server's log is printed with the failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests import tenants_setup
from tests.acceptance import openapi_check, support

DEMO_PARTNERS = ("salesforce", "aquarium-tests")
OTHER_TENANT = "other"
OTHER_TIME_ZONE = "Europe/Paris"
OTHER_AUTH = ("other-user", "other-password")
OTHER_CLIENT = ("other-client", "other-secret")
LIMITED_TENANT = "limited"
LIMITED_AUTH = ("limited-user", "limited-password")


@pytest.fixture(autouse=True)
def _answers_match_openapi() -> Iterator[None]:
    """Fails the test during which an answer broke openapi.json (tests/acceptance/openapi_check)."""
    yield
    broken = openapi_check.taken()
    assert not broken, "answers that openapi.json does not describe:\n" + "\n".join(broken)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("small") / "data"
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
    yield from support.serving(support.start_server("small", data_dir, demo_scale=0.05))


@pytest.fixture(scope="session")
def scratch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    """A small server whose data tests may change (the shared ``server``'s is counted)."""
    data_dir = tmp_path_factory.mktemp("scratch") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.set_partners(data_dir, "demo", DEMO_PARTNERS)
    yield from support.serving(support.start_server("scratch", data_dir, demo_scale=0.05))


@pytest.fixture(scope="session")
def scratch(scratch_server: support.RunningServer) -> httpx.Client:
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
def demo(server: support.RunningServer) -> httpx.Client:
    """An httpx client of the small server, logged in as demo/demo (HTTP Basic)."""
    return server.client()
