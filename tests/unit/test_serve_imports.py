"""What ``aquarium serve`` loads: pyarrow and numpy (about 80 MiB of RSS together, measured)
only come with the commands that load or generate data, never with the server, whose memory
during a 100-million-row export is budgeted (docs/benchmarks.md, the moonshot)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pyarrow", "numpy")


def test_the_server_and_the_cli_load_no_pyarrow() -> None:
    code = (
        "import sys\n"
        "import aquarium.cli, aquarium.server, aquarium.deployment, aquarium.worker\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_a_load_still_finds_pyarrow() -> None:
    code = "import sys\nfrom aquarium.services import bulk_load\nprint('pyarrow' in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "True"
