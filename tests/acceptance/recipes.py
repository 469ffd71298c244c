"""The recipes of docs/testing-your-integration.md, taken out as written and run against a
server (each ``## Recipe: <title>`` section holds one Python block)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import aquarium
from aquarium import client
from tests.acceptance import support

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing-your-integration.md"
# The code under test, also in the recipe's process (a worktree's src beats the installed one).
SOURCE_DIR = str(Path(aquarium.__file__).resolve().parents[1])
RUN_TIMEOUT_S = 180.0


def script(title: str, base_url: str | None) -> str:
    """The Python block of the recipe ``title``, speaking to ``base_url`` (None: a recipe that
    starts a server of its own, and so names none)."""
    section = DOCS.read_text("utf-8").split(f"\n## Recipe: {title}\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    if base_url is None:
        assert client.DEFAULT_URL not in code, "the recipe names a server: give its URL"
        return code
    replaced = code.replace(client.DEFAULT_URL, base_url)
    assert replaced != code, "the recipe names no server to replace"
    return replaced


def run(title: str, base_url: str | None, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the recipe ``title`` in a Python process of its own, in ``home``, against
    ``base_url`` (see :func:`script`)."""
    # TMPDIR: what the recipe makes in a temporary directory goes with the test's.
    env = support.hermetic_env(PYTHONPATH=SOURCE_DIR, HOME=str(home), TMPDIR=str(home))
    return subprocess.run(
        [sys.executable, "-c", script(title, base_url)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
