"""Every operation of the committed ``openapi.json`` fuzzed against the live server.

Each operation is a test of its own; schemathesis runs its examples, coverage and fuzzing phases
(``AQUARIUM_FUZZ_EXAMPLES`` examples in the fuzzing phase) and judges every answer with every
check it has, but for ``not_a_server_error``, replaced by ``hooks.no_undocumented_server_error``
(Zuora's documented Reporting 500, see ``tests/fuzz/hooks.py``). Schemathesis's response-time
check stays off: no test asserts timings.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
import schemathesis

from tests.acceptance import support
from tests.fuzz import hooks  # noqa: F401  (registers the auth, the hook and the check)

DEFAULT_EXAMPLES = 3
OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"
SETTINGS = Path(__file__).with_name("schemathesis.toml")


def _config() -> schemathesis.Config:
    """``schemathesis.toml``, seeded, deterministic and bounded (see conftest.py)."""
    settings = tomllib.loads(SETTINGS.read_text("utf-8"))
    settings["seed"] = int(os.environ.get("AQUARIUM_FUZZ_SEED", "0"))
    settings["generation"].update(
        {
            "max-examples": int(os.environ.get("AQUARIUM_FUZZ_EXAMPLES", DEFAULT_EXAMPLES)),
            "deterministic": True,
        }
    )
    return schemathesis.Config.from_dict(settings)


schema = schemathesis.openapi.from_path(OPENAPI, config=_config())

pytestmark = pytest.mark.xdist_group("fuzz")


@schema.parametrize()
def test_operation(case: schemathesis.Case, fuzz_server: support.RunningServer) -> None:
    # Every check the configuration enables: schemathesis's (not_a_server_error switched off in
    # schemathesis.toml) and hooks.no_undocumented_server_error, registered on import.
    case.call_and_validate(base_url=fuzz_server.base_url)
