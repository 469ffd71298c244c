"""``aquarium load`` as a user runs it: a directory of files into a tenant, then ``aquarium
query`` shows them; each refusal one line on stderr and exit code 1; the same through the server
that holds the data dir, whose API sees a field the load added at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance import support

ACCOUNTS = (
    "Account.Id,Account.Name,Account.Balance,Account.AutoPay,Account.CreatedDate\n"
    "a1,Acme,77.86,true,2026-01-31T09:30:00-0800\n"
    'a2,"",0,false,2026-02-01T00:00:00-0800\n'
    "a3,,-11095,,\n"
)


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``aquarium ARGS --data-dir DATA_DIR``, whatever its exit code."""
    return subprocess.run(
        [sys.executable, "-m", "aquarium", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=support.hermetic_env(COLUMNS="200"),
        timeout=120,
        check=False,
    )


def refused(done: subprocess.CompletedProcess[str], words: str, code: int = 1) -> None:
    """Exit code ``code`` and one line on stderr saying ``words``; never a traceback."""
    assert done.returncode == code, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert words in lines[0], lines[0]


def _files(tmp_path: Path, **by_name: str) -> Path:
    directory = tmp_path / "files"
    directory.mkdir(exist_ok=True)
    for name, text in by_name.items():
        (directory / name.replace("_", ".")).write_text(text)
    return directory


def test_files_load_and_query_back_as_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    files = _files(tmp_path, Account_csv=ACCOUNTS)
    done = cli(data_dir, "load", "--tenant", "mine", str(files))
    assert done.returncode == 0, done.stderr
    assert "Account" in done.stdout and "3 rows" in done.stdout
    shown = cli(
        data_dir,
        "query",
        "--tenant",
        "mine",
        "select Id, Name, Balance, AutoPay, CreatedDate from Account",
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == ACCOUNTS


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (
            {"Acount_csv": "Id\nx\n"},
            "Cannot load the files. Acount.csv: there is no object 'Acount'",
        ),
        (
            {"Account_csv": "Id,Region__c\nx,EU\n"},
            "Account.csv: column 'Region__c' is no field of Account (--add-fields makes such "
            "columns custom fields)",
        ),
        (
            {"Account_csv": "Id,Balance\nx,1\ny,12,5\n"},
            "Account.csv: cannot be read as CSV as AQuA writes it",
        ),
        (
            {"Account_csv": "Id,Balance\nx,1\ny,1e5\n"},
            "Account.csv, row 2, column 'Balance': '1e5' is not a number",
        ),
    ],
)
def test_refusals_are_one_line(tmp_path: Path, files: dict[str, str], words: str) -> None:
    data_dir = tmp_path / "data"
    done = cli(data_dir, "load", "--tenant", "mine", str(_files(tmp_path, **files)))
    refused(done, words)
    assert (
        not (data_dir / "billing.duckdb").exists()
        or "mine" not in cli(data_dir, "tenant", "list").stdout
    )


def test_add_fields_then_loads(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    files = _files(tmp_path, Account_csv="Id,Region__c\nx,EU\n")
    done = cli(data_dir, "load", "--tenant", "mine", "--add-fields", str(files))
    assert done.returncode == 0, done.stderr
    assert "custom field Account.Region__c (text) added" in done.stdout
    shown = cli(data_dir, "query", "--tenant", "mine", "select Id, Region__c from Account")
    assert shown.stdout == "Account.Id,Account.Region__c\nx,EU\n"


def test_usage_errors(tmp_path: Path) -> None:
    done = cli(tmp_path / "data", "load", str(tmp_path))
    assert done.returncode == 2 and "--tenant" in done.stderr
    refused(cli(tmp_path / "data", "load", "--tenant", "Bad Name", str(tmp_path)), "tenant name")
    refused(
        cli(tmp_path / "data", "load", "--tenant", "t", str(tmp_path / "none")),
        "is not a directory",
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("load") / "data"
    yield from support.serving(support.start_server("load", data_dir, demo_scale=0.02, workers=1))


def test_through_a_running_server_the_same_load_and_the_same_refusals(
    served: support.RunningServer, tmp_path: Path
) -> None:
    files = _files(tmp_path, Account_csv=ACCOUNTS)
    done = cli(served.data_dir, "load", "--tenant", "mine", str(files))
    assert done.returncode == 0, done.stderr
    assert "3 rows" in done.stdout
    query = "select Id, Name, Balance, AutoPay, CreatedDate from Account"
    shown = cli(served.data_dir, "query", "--tenant", "mine", query)
    assert shown.returncode == 0 and shown.stdout == ACCOUNTS, shown.stderr
    (files / "Account.csv").write_text("Id,Balance\nx,1\ny,1e5\n")
    refused(
        cli(served.data_dir, "load", "--tenant", "mine", str(files)),
        "Cannot load the files. Account.csv, row 2, column 'Balance': '1e5' is not a number",
    )
    assert cli(served.data_dir, "query", "--tenant", "mine", query).stdout == ACCOUNTS


def test_a_field_added_through_the_server_is_in_its_api_at_once(
    served: support.RunningServer, tmp_path: Path
) -> None:
    files = _files(tmp_path, Account_csv="Account.Id,Account.Tier__c\nx,gold\n")
    done = cli(served.data_dir, "load", "--tenant", "demo", "--add-fields", str(files))
    assert done.returncode == 0, done.stderr
    assert "custom field Account.Tier__c (text) added" in done.stdout
    body = support.stateless("select Id, Tier__c from Account", useQueryLabels=True)
    client = served.client()
    finished = support.run_job(client, body)
    rows = support.parse_csv(support.download(client, finished["batches"][0]["fileId"]).content)
    assert rows == [["Account.Id", "Account.Tier__c"], ["x", "gold"]]
