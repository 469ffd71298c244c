"""The fuzz tier's server: a real ``aquarium serve`` over a scratch data dir.

The demo tenant at a small scale (:data:`DEMO_SCALE`) and a second tenant, ``other``, with its
own user, OAuth client and data, so that a fuzzed id of one tenant's never reaches the other's.
Shared by the bounded tier (``tests/fuzz/conftest.py``) and the long run (``make fuzz``).
"""

from __future__ import annotations

from pathlib import Path

from tests import tenants_setup
from tests.acceptance import support

DEMO_SCALE = 0.02
OTHER_TENANT = "other"
OTHER_AUTH = ("other-user", "other-password")
OTHER_CLIENT = ("other-client", "other-secret")


def start(scratch: Path) -> support.RunningServer:
    """Prepare ``scratch/data`` and start the server on a free port (log in ``scratch``)."""
    data_dir = scratch / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.add_tenant(data_dir, OTHER_TENANT, time_zone="Europe/Paris")
    tenants_setup.add_user(data_dir, OTHER_TENANT, *OTHER_AUTH)
    tenants_setup.add_client(data_dir, OTHER_TENANT, *OTHER_CLIENT)
    support.aquarium_cli(
        data_dir, "datagen", "--tenant", OTHER_TENANT, "--scale", "0.01", "--seed", "7"
    )
    return support.start_server("fuzz", data_dir, demo_scale=DEMO_SCALE)
