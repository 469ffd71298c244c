"""``aquarium serve`` started as the README starts it, and the data commands beside it.

Two data dirs are generated alike: ``served`` (``.aquarium`` in the server's working directory,
served by ``aquarium serve`` with its port from ``AQUARIUM_PORT`` and no option) and ``direct``
(no server). Every data command runs on both, through the server on one and on the files on the
other, and must print the same; that it could run on ``served`` at all shows it went through the
server, since DuckDB lets only the server's process open that file.
"""

from __future__ import annotations

import contextlib
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import aquarium
from aquarium.cli import local
from tests.acceptance import support

pytestmark = pytest.mark.xdist_group("acceptance-local")

SOURCE_DIR = str(Path(aquarium.__file__).resolve().parents[1])  # the code under test
SCALE, SEED = "0.05", "3"
CLI_TIMEOUT_S = 120.0


@dataclass
class Twins:
    base: Path  #: the server's working directory
    served: Path  #: base / ".aquarium", the running server's data dir
    direct: Path  #: generated alike, no server
    server: support.RunningServer
    port: int


def run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``aquarium ARGS`` in ``cwd`` with no AQUARIUM_* setting at all (bytes out)."""
    return subprocess.run(
        [sys.executable, "-m", "aquarium", *args],
        capture_output=True,
        env=support.hermetic_env(PYTHONPATH=SOURCE_DIR),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def on_both(twins: Twins, *args: str) -> tuple[subprocess.CompletedProcess[bytes], ...]:
    """The command through the server (default data dir), then on the direct twin."""
    return run(args, twins.base), run([*args, "--data-dir", str(twins.direct)], twins.base)


def _serve_from_the_environment(base: Path, port: int) -> support.RunningServer:
    log_path = base.parent / "local-server.log"
    env = support.hermetic_env(PYTHONPATH=SOURCE_DIR, AQUARIUM_PORT=str(port))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "aquarium", "serve", "--workers", "1"],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = support.RunningServer(
        "local", f"http://127.0.0.1:{port}", base / ".aquarium", log_path, process
    )
    deadline = time.monotonic() + support.STARTUP_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.base_url + "/healthz", timeout=2.0).status_code == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"the server did not come up on {port}:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twins]:
    base = tmp_path_factory.mktemp("served")
    direct = tmp_path_factory.mktemp("direct") / "data"
    for data_dir in (base / ".aquarium", direct):
        support.aquarium_cli(data_dir, "datagen", "--scale", SCALE, "--seed", SEED)
    port = support.free_port()
    server = _serve_from_the_environment(base, port)
    try:
        yield Twins(base, base / ".aquarium", direct, server, port)
    finally:
        if server.process.poll() is None:
            print(f"\n===== log of the local server =====\n{server.log_tail()}")
        server.stop()


def same(through: subprocess.CompletedProcess[bytes], direct: subprocess.CompletedProcess[bytes]):
    assert (through.returncode, through.stdout, through.stderr) == (
        direct.returncode,
        direct.stdout,
        direct.stderr,
    )


def test_serve_takes_its_port_from_the_environment_and_publishes_where_it_is(
    twins: Twins,
) -> None:
    # AQUARIUM_PORT and no --port: it answers there (the fixture waited for /healthz).
    path = twins.served / local.DISCOVERY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = local.read(twins.served)
    assert found is not None
    assert (found.pid, found.url) == (twins.server.process.pid, f"http://127.0.0.1:{twins.port}")


def test_the_readme_sequence_works_while_the_server_runs(twins: Twins) -> None:
    done = run(
        ["query", "select AccountNumber, Name, Balance, BillToContact.City from Account limit 3"],
        twins.base,
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert (
        lines[0] == ("Account.AccountNumber,Account.Name,Account.Balance,BillToContact.City")
        and len(lines) == 4
    )
    labels = run(
        ["query", "--labels", "select Status, count(*) from Invoice group by Status"], twins.base
    )
    assert labels.returncode == 0 and labels.stdout.startswith(b"Invoice: Status,")
    demo = run(["demo"], twins.base)
    assert demo.returncode == 0 and b"already in .aquarium" in demo.stdout


@pytest.mark.parametrize(
    "args",
    [
        # Scans of small tables: no ORDER BY in ZOQL, so row order is only stable where one
        # DuckDB thread reads the rows (a GROUP BY's order depends on its thread count).
        ["--labels", "select AccountNumber, Name, Balance, BillToContact.City from Account"],
        ["--utc", "--null", "NULL", "select Id, CreatedDate, ParentId from Account"],
        ["--type", "zoql", "select Id, Name from Account"],
        ["select Nmae from Account"],
        ["--tenant", "nobody", "select Id from Account"],
    ],
    ids=["labels", "utc-null", "zoql", "unknown-field", "no-tenant"],
)
def test_a_query_through_the_server_prints_what_the_direct_path_prints(
    twins: Twins, args: list[str]
) -> None:
    through, direct = on_both(twins, "query", *args)
    same(through, direct)
    if direct.returncode:
        assert direct.returncode == 1 and direct.stdout == b""
        assert direct.stderr.startswith(b"error: ") and b"Traceback" not in direct.stderr


def _without_timing(output: bytes) -> list[str]:
    # The last line says how long it took.
    return output.decode().rstrip("\n").splitlines()[:-1]


def _sorted_rows(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    assert done.returncode == 0, done.stderr.decode()
    return sorted(done.stdout.decode().splitlines())


def test_simulate_through_the_server_writes_what_it_writes_directly(twins: Twins) -> None:
    through, direct = on_both(twins, "simulate", "--days", "3", "--seed", "9")
    assert through.returncode == direct.returncode == 0, through.stderr.decode()
    assert _without_timing(through.stdout) == _without_timing(direct.stdout)
    assert "writes in" in through.stdout.decode()
    for zoql in ("select Id, AccountId, Quantity from Usage", "select Id, Status from Invoice"):
        through_rows, direct_rows = on_both(twins, "query", zoql)
        assert _sorted_rows(through_rows) == _sorted_rows(direct_rows)


def test_datagen_through_the_server_into_a_new_then_an_existing_tenant(twins: Twins) -> None:
    for scale, seed in (("0.02", "5"), ("0.01", "6")):
        through, direct = on_both(
            twins, "datagen", "--tenant", "acme", "--scale", scale, "--seed", seed
        )
        assert through.returncode == direct.returncode == 0, through.stderr.decode()
        assert _without_timing(through.stdout) == _without_timing(direct.stdout)
        same(
            *on_both(
                twins, "query", "--tenant", "acme", "select Id, Name, CreatedDate from Account"
            )
        )
    with httpx.Client(base_url=twins.server.base_url, auth=support.DEMO_AUTH) as demo:
        job = support.run_job(demo, support.stateless("select Id from Account"))
    assert job["batches"][0]["recordCount"] > 0  # the server's own jobs go on as before


def test_datagen_of_named_objects_fills_only_those_through_the_server_and_directly(
    twins: Twins,
) -> None:
    through, direct = on_both(
        twins, "datagen", "--tenant", "solo", "--scale", "0.02", "--seed", "5",
        "--objects", "InvoiceItem, Account",
    )  # fmt: skip
    assert through.returncode == direct.returncode == 0, through.stderr.decode()
    assert _without_timing(through.stdout) == _without_timing(direct.stdout)
    items = on_both(twins, "query", "--tenant", "solo", "select Id, ChargeAmount from InvoiceItem")
    same(*items)
    assert len(_sorted_rows(items[0])) > 100
    invoices = on_both(twins, "query", "--tenant", "solo", "select Id from Invoice")
    same(*invoices)
    assert len(_sorted_rows(invoices[0])) == 1, "Invoice is created empty: its header only"
    for done in on_both(twins, "datagen", "--tenant", "solo", "--objects", "Invoiceitem"):
        assert done.returncode == 1
        assert "No object Invoiceitem in the catalogue" in done.stderr.decode()


def test_a_server_stopped_cleanly_removes_its_file_and_commands_open_the_data_again(
    twins: Twins,
) -> None:
    zoql = "select AccountNumber, Name from Account"
    through = run(["query", zoql], twins.base)
    twins.server.stop()
    assert twins.server.process.returncode is not None
    assert not (twins.served / local.DISCOVERY_FILE).exists()
    directly = run(["query", zoql], twins.base)
    same(through, directly)
