"""``aquarium worker`` refuses what it cannot run on in one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"  # port 1: nothing listens


def _worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AQUARIUM_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "aquarium", "worker", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "code", "words"),
    [
        ({}, 2, "a worker needs the deployment's PostgreSQL: give --database-url"),
        (
            {"AQUARIUM_DATABASE_URL": "sqlite:///x.db"},
            2,
            "invalid setting database_url: Value error, a scale-out deployment needs a "
            "PostgreSQL URL",
        ),
        ({"AQUARIUM_DATABASE_URL": UNREACHABLE}, 1, "error: cannot reach the database:"),
    ],
    ids=["no-database", "not-postgresql", "unreachable"],
)
def test_a_worker_that_cannot_run_says_why_in_one_line(
    tmp_path: Path, env: dict[str, str], code: int, words: str
) -> None:
    done = _worker(tmp_path, **env)
    assert done.returncode == code, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr
