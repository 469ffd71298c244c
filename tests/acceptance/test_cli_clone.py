"""``aquarium clone`` Aquarium to Aquarium: two real servers, the source read over HTTP through
Describe and AQuA only, the copy written into the target's data dir through the target server.

The judge is the wire: every object's AQuA export (``select *``, query labels) of the source's
tenant and of the copy, compared byte for byte after sorting the rows (an export without
``order by`` promises no order; the header must match as it is)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance import support

SOURCE_USER = ("demo", "demo")
TARGET_USER = ("copier", "copied")


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``aquarium ARGS --data-dir DATA_DIR``, whatever its exit code."""
    return subprocess.run(
        [sys.executable, "-m", "aquarium", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=support.hermetic_env(COLUMNS="200"),
        timeout=300,
        check=False,
    )


def clone(
    target: support.RunningServer, source_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    user, password = SOURCE_USER
    return cli(
        target.data_dir,
        "clone",
        "--from",
        source_url,
        "--user",
        user,
        "--password",
        password,
        *args,
    )


def one_line_error(done: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert done.returncode == code, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert words in lines[0], lines[0]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    """A scale-0.05 demo tenant with a picklist custom field, set on one account."""
    data_dir = tmp_path_factory.mktemp("clone-source") / "data"
    with_server = support.start_server("clone-source", data_dir, demo_scale=0.05)
    for server in support.serving(with_server):
        support.aquarium_cli(
            data_dir, "tenant", "add-field", "demo", "Account", "Tier__c", "picklist",
            "--values", "gold,silver", "--label", "Customer Tier",
        )  # fmt: skip
        with server.client() as api:
            account = _rows(api, "select Id from Account")[1][0]
            answer = api.put(f"/v1/object/account/{account}", json={"Tier__c": "gold"})
            assert answer.status_code == 200, answer.text
        yield server


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("clone-target") / "data"
    yield from support.serving(support.start_server("clone-target", data_dir, demo_scale=0.01))


def _rows(api: httpx.Client, query: str) -> list[list[str]]:
    finished = support.run_job(api, support.stateless(query, useQueryLabels=True))
    return support.parse_csv(support.download(api, finished["batches"][0]["fileId"]).content)


def _exports(api: httpx.Client, names: list[str]) -> dict[str, bytes]:
    """Each object's ``select *`` export, its rows sorted (header first)."""
    found: dict[str, bytes] = {}
    for first in range(0, len(names), 50):
        chunk = names[first : first + 50]
        body = support.stateless(*(f"select * from {n}" for n in chunk), useQueryLabels=True)
        finished = support.run_job(api, body)
        assert finished["status"] == "completed", finished
        for name, batch in zip(chunk, finished["batches"], strict=True):
            header, *rows = support.download(api, batch["fileId"]).content.split(b"\n")
            found[name] = b"\n".join([header, *sorted(rows)])
    return found


def _object_names(api: httpx.Client) -> list[str]:
    answer = api.get("/v1/describe")
    assert answer.status_code == 200
    return [
        line.split(b"<name>")[1].split(b"</name>")[0].decode()
        for line in answer.content.splitlines()
        if b"<name>" in line
    ]


def test_a_clone_is_identical_object_by_object(
    source: support.RunningServer, target: support.RunningServer
) -> None:
    done = clone(target, source.base_url, "--tenant", "copy")
    assert done.returncode == 0, done.stderr
    assert "custom field Account.Tier__c (picklist) added" in done.stderr
    assert "Account: " in done.stderr and "rows/s" in done.stdout
    support.aquarium_cli(
        target.data_dir,
        "user",
        "add",
        TARGET_USER[0],
        "--tenant",
        "copy",
        "--password",
        TARGET_USER[1],
    )
    with source.client() as from_api, target.client(TARGET_USER) as to_api:
        names = _object_names(from_api)
        assert len(names) > 50  # two jobs on each side
        original, copied = _exports(from_api, names), _exports(to_api, names)
    assert b"Account.Tier__c" in original["Account"].split(b"\n")[0]
    assert b",gold" in original["Account"]
    different = [name for name in names if original[name] != copied[name]]
    assert different == []
    fields = support.aquarium_cli(target.data_dir, "tenant", "fields", "copy")
    assert "Tier__c" in fields and "picklist" in fields and "gold, silver" in fields


def test_schema_only_declares_the_fields_and_copies_no_rows(
    source: support.RunningServer, target: support.RunningServer
) -> None:
    done = clone(target, source.base_url, "--tenant", "shape", "--schema-only")
    assert done.returncode == 0, done.stderr
    assert "no rows (--schema-only)" in done.stdout
    assert "Account: " not in done.stderr
    fields = support.aquarium_cli(target.data_dir, "tenant", "fields", "shape")
    assert "Tier__c" in fields and "picklist" in fields


def test_since_and_objects_restrict_what_is_copied(
    source: support.RunningServer, target: support.RunningServer
) -> None:
    with source.client() as from_api:
        dates = sorted(
            row[1][:10] for row in _rows(from_api, "select Id, UpdatedDate from Account")[1:]
        )
    since = dates[len(dates) // 2]  # about half the accounts are as recent as that
    done = clone(
        target,
        source.base_url,
        "--tenant",
        "recent",
        "--objects",
        "Account,Invoice",
        "--since",
        since,
    )
    assert done.returncode == 0, done.stderr
    support.aquarium_cli(
        target.data_dir, "user", "add", "recent", "--tenant", "recent", "--password", "r"
    )
    where = f"where UpdatedDate >= '{since}'"
    with source.client() as from_api, target.client(("recent", "r")) as to_api:
        for name in ("Account", "Invoice"):
            everything = _rows(from_api, f"select Id from {name}")
            wanted = _rows(from_api, f"select Id from {name} {where}")
            got = _rows(to_api, f"select Id from {name}")
            assert sorted(got) == sorted(wanted)
            assert 1 < len(wanted) < len(everything)  # the date cuts the rows somewhere
        assert _rows(to_api, "select Id from Payment") == [["Payment.Id"]]


def test_refusals_are_one_line(
    source: support.RunningServer, target: support.RunningServer
) -> None:
    unreachable = f"http://127.0.0.1:{support.free_port()}"
    one_line_error(clone(target, unreachable, "--tenant", "x"), 5, "")
    wrong = cli(
        target.data_dir,
        "clone",
        "--from",
        source.base_url,
        "--user",
        "demo",
        "--password",
        "no",
        "--tenant",
        "x",
    )
    one_line_error(wrong, 3, "authentication failed")
    one_line_error(
        clone(target, source.base_url, "--tenant", "x", "--objects", "Acount"),
        1,
        "no object 'Acount'",
    )
    one_line_error(
        clone(target, source.base_url, "--tenant", "x", "--since", "yesterday"),
        1,
        "--since 'yesterday'",
    )
    unread = clone(target, f"http://127.0.0.1:{support.free_port()}", "--tenant", "Bad Name")
    one_line_error(unread, 1, "tenant name 'Bad Name' must be")  # said before reaching out


def test_refresh_copies_again_only_what_changed(
    source: support.RunningServer, target: support.RunningServer
) -> None:
    objects = "Account,Contact,Product"
    done = clone(target, source.base_url, "--tenant", "live", "--objects", objects)
    assert done.returncode == 0, done.stderr
    support.aquarium_cli(
        target.data_dir, "user", "add", "live", "--tenant", "live", "--password", "l"
    )
    again = clone(target, source.base_url, "--tenant", "live", "--refresh", "--objects", objects)
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    with source.client() as from_api:
        account, contact = (
            _rows(from_api, f"select Id from {n}")[2][0] for n in ("Account", "Contact")
        )
        assert (
            from_api.put(f"/v1/object/account/{account}", json={"Name": "Renamed"}).status_code
            == 200
        )
        assert from_api.delete(f"/v1/object/contact/{contact}").status_code == 200
    refreshed = clone(
        target, source.base_url, "--tenant", "live", "--refresh", "--objects", objects
    )
    assert refreshed.returncode == 0, refreshed.stderr
    assert "refresh: 2 of 3 objects changed (Account, Contact)" in refreshed.stderr
    with source.client() as from_api, target.client(("live", "l")) as to_api:
        names = ["Account", "Contact", "Product"]
        assert _exports(from_api, names) == _exports(to_api, names)
        assert contact not in str(_rows(to_api, "select Id from Contact"))
    refused = clone(target, source.base_url, "--tenant", "nosuch", "--refresh")
    one_line_error(refused, 1, "there is no tenant 'nosuch' to refresh")
