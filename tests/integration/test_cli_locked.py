"""A data dir held by a process that publishes no discovery file (a server of an older release):
every data command says so in one line, with what to do, and exits 1; never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import aquarium
from aquarium import datagen
from aquarium.cli import local
from aquarium.engines import naming

SOURCE_DIR = str(Path(aquarium.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data dir whose billing database this (test) process has open for writing."""
    data_dir = tmp_path_factory.mktemp("held")
    datagen.generate_into(data_dir, "demo", scale=0.01, seed=1)
    connection = duckdb.connect(str(data_dir / naming.DUCKDB_FILE))
    yield data_dir
    connection.close()


def aquarium(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AQUARIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "aquarium", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": SOURCE_DIR},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["query", "select Id from Account"],
        ["simulate"],
        ["datagen", "--scale", "0.01"],
        ["tenant", "add-field", "demo", "Account", "Tier__c", "text"],
        ["tenant", "remove-field", "demo", "Account", "Tier__c"],
    ],
    ids=["query", "simulate", "datagen", "add-field", "remove-field"],
)
def test_a_data_dir_held_elsewhere_is_one_line_saying_what_to_do(
    held: Path, args: list[str]
) -> None:
    done = aquarium(*args, "--data-dir", str(held))
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: a server seems to be running on {held} (process {os.getpid()})")
    assert "restart it with this release's 'aquarium serve'" in line


def test_serve_on_a_data_dir_held_elsewhere_or_a_port_in_use_is_one_line(held: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        in_use = aquarium("serve", "--port", port, "--data-dir", str(held))
    assert in_use.returncode == 1
    (line,) = in_use.stderr.splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert line.endswith("stop it, or choose another --port")
    served = aquarium("serve", "--port", str(_free_port()), "--data-dir", str(held))
    assert served.returncode == 1 and "Traceback" not in served.stderr
    # serve logs what it does (the metadata's migrations) before it meets the lock
    assert served.stderr.splitlines()[-1] == (
        f"error: another server seems to be running on {held} (process {os.getpid()}): "
        "stop it first, or serve another --data-dir"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_stale_discovery_file_does_not_stop_a_command(tmp_path: Path) -> None:
    datagen.generate_into(tmp_path, "demo", scale=0.01, seed=1)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = {"pid": int(gone.stdout), "url": "http://127.0.0.1:9", "token": "t"}
    (tmp_path / local.DISCOVERY_FILE).write_text(json.dumps(stale), "utf-8")
    done = aquarium("query", "select count(*) from Account", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "count(*)"
