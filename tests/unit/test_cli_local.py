"""The discovery file a running server leaves in its data dir, and what the data commands make of
it: only a live process that answers for this data dir counts; its refusals become the line the
direct path would print."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from aquarium.api import local_routes
from aquarium.cli import local

TOKEN = "t0ken"


def answering(
    data_dir: Path, **routes: httpx.Response
) -> Callable[[httpx.Request], httpx.Response]:
    """A fake server on ``data_dir``: checks the token, answers ``routes`` by last path part."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get(local.TOKEN_HEADER) != TOKEN:
            return httpx.Response(401, json={"error": {"code": "90006", "message": "no"}})
        last = request.url.path.rsplit("/", 1)[-1]
        if last == "local":
            return httpx.Response(200, json={"dataDir": str(data_dir.resolve())})
        return routes[last]

    return handler


def test_the_constants_agree_with_the_server() -> None:
    assert local.LOCAL_PATH == local_routes.PREFIX
    assert local.TOKEN_HEADER == local_routes.TOKEN_HEADER


def test_a_published_file_is_private_names_this_process_and_is_withdrawn(tmp_path: Path) -> None:
    local.publish(tmp_path, "http://127.0.0.1:8080", TOKEN)
    path = tmp_path / local.DISCOVERY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local.read(tmp_path) == local.Discovery(os.getpid(), "http://127.0.0.1:8080", TOKEN)
    assert [p.name for p in tmp_path.iterdir()] == [local.DISCOVERY_FILE]
    local.withdraw(tmp_path, "another server's token")
    assert path.exists()  # a later server's file is not ours to remove
    local.withdraw(tmp_path, TOKEN)
    assert not path.exists()
    local.withdraw(tmp_path, TOKEN)  # nothing left: nothing to do


def test_a_file_whose_process_is_gone_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    document = {"pid": int(gone.stdout), "url": "http://127.0.0.1:9", "token": TOKEN}
    (tmp_path / local.DISCOVERY_FILE).write_text(json.dumps(document), "utf-8")
    assert local.read(tmp_path) is None
    assert local.find(tmp_path) is None


@pytest.mark.parametrize("text", ["", "{", "[]", '{"pid": "x"}', '{"pid": 1}'])
def test_an_unreadable_file_is_ignored(tmp_path: Path, text: str) -> None:
    (tmp_path / local.DISCOVERY_FILE).write_text(text, "utf-8")
    assert local.read(tmp_path) is None


def test_no_file_no_server(tmp_path: Path) -> None:
    assert local.find(tmp_path) is None


def test_a_live_process_counts_only_if_it_answers_for_this_data_dir(tmp_path: Path) -> None:
    local.publish(tmp_path, "http://aquarium.test", TOKEN)
    found = local.find(tmp_path, transport=httpx.MockTransport(answering(tmp_path)))
    assert found is not None
    found.close()
    other = tmp_path / "copied-from-here"
    assert local.find(tmp_path, transport=httpx.MockTransport(answering(other))) is None

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert local.find(tmp_path, transport=httpx.MockTransport(refused)) is None
    local.publish(tmp_path, "http://aquarium.test", "an older token")
    assert local.find(tmp_path, transport=httpx.MockTransport(answering(tmp_path))) is None


def _server(tmp_path: Path, **routes: httpx.Response) -> local.LocalServer:
    local.publish(tmp_path, "http://aquarium.test", TOKEN)
    found = local.find(tmp_path, transport=httpx.MockTransport(answering(tmp_path, **routes)))
    assert found is not None
    return found


def test_a_query_streams_the_csv_and_a_refusal_carries_the_line_and_excerpt(
    tmp_path: Path,
) -> None:
    with _server(tmp_path, query=httpx.Response(200, content=b"Account.Id\n1\n")) as server:
        out = io.BytesIO()
        server.query({"zoql": "select Id from Account"}, out)
        assert out.getvalue() == b"Account.Id\n1\n"
    error = {"code": "90005", "message": "There is a syntax error.", "excerpt": "x\n^"}
    with _server(tmp_path, query=httpx.Response(400, json={"error": error})) as server:
        with pytest.raises(local.Refused) as refused:
            server.query({}, io.BytesIO())
        assert (refused.value.message, refused.value.excerpt) == (
            "There is a syntax error.",
            "x\n^",
        )


def test_a_server_failing_or_vanishing_mid_command_is_unavailable(tmp_path: Path) -> None:
    with (
        _server(tmp_path, simulate=httpx.Response(500, text="boom")) as server,
        pytest.raises(local.Unavailable, match=r"failed to run the command .*; see its log"),
    ):
        server.simulate({})

    def vanishing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/datagen"):
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return answering(tmp_path)(request)

    local.publish(tmp_path, "http://aquarium.test", TOKEN)
    server = local.find(tmp_path, transport=httpx.MockTransport(vanishing))
    assert server is not None
    with server, pytest.raises(local.Unavailable, match="stopped answering"):
        server.datagen({})
