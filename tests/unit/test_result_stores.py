"""The ResultStore port, the same for the local directory and for fsspec's in-memory filesystem
(standing for a shared one): publish makes a whole file visible once and never replaces one,
readers get the bytes by path or by file object, delete and discard clean up; then what only a
remote store does (uploads, local copies) and how ``open_results`` picks a store."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from aquarium import storage
from aquarium.domain import ids
from aquarium.storage import fsspec_store, local

TENANT = "acme"
SEGMENTS = 8  # parallel Range requests of one download
CONTENT = b"Account.Id,Account.Name\n" + b"0123456789abcdef,Acme\n" * 1000


@pytest.fixture
def memory_url() -> Iterator[str]:
    root = f"/aq-{uuid.uuid4().hex}"
    yield f"memory://{root}"
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def remote(memory_url: str, tmp_path: Path) -> fsspec_store.FsspecResultStore:
    return fsspec_store.FsspecResultStore(memory_url, tmp_path / "scratch")


@pytest.fixture(params=["local", "fsspec"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> storage.ResultStore:
    if request.param == "local":
        return local.LocalResultStore(tmp_path / "results")
    made: storage.ResultStore = request.getfixturevalue("remote")
    return made


def _written(store: storage.ResultStore, content: bytes = CONTENT) -> tuple[str, Path]:
    file_id = ids.new_id()
    temporary = store.temporary_path(TENANT, ids.new_id(), file_id)
    temporary.write_bytes(content)
    return file_id, temporary


def test_a_published_file_reads_back_by_path_and_by_file_object(
    store: storage.ResultStore,
) -> None:
    file_id, temporary = _written(store)
    location = store.publish(TENANT, file_id, temporary)
    assert location == f"{TENANT}/{file_id}"
    assert not temporary.exists()
    path = store.local_path(location)
    assert path is not None and path.read_bytes() == CONTENT
    assert store.size(location) == len(CONTENT)
    opened = store.open(location)
    assert opened is not None
    with opened:
        opened.seek(len(CONTENT) - 5)
        assert opened.read() == CONTENT[-5:]


def test_a_remote_publish_never_replaces_a_published_file(
    remote: fsspec_store.FsspecResultStore,
) -> None:
    # The local store relies on fresh file ids instead: os.replace would replace.
    file_id, temporary = _written(remote)
    location = remote.publish(TENANT, file_id, temporary)
    again = remote.temporary_path(TENANT, ids.new_id(), file_id)
    again.write_bytes(b"other bytes")
    with pytest.raises(FileExistsError, match=location):
        remote.publish(TENANT, file_id, again)
    assert remote.size(location) == len(CONTENT)


def test_delete_and_discard_remove_files_and_forget_them(store: storage.ResultStore) -> None:
    file_id, temporary = _written(store)
    location = store.publish(TENANT, file_id, temporary)
    store.delete(location)
    assert (store.local_path(location), store.open(location), store.size(location)) == (
        None,
        None,
        None,
    )
    store.delete(location)  # already gone: nothing happens
    _, partial = _written(store)
    assert [path for _, path in store.temporaries()] == [partial]
    store.discard(partial)
    assert store.temporaries() == []


@pytest.mark.parametrize(
    "location",
    ["", "acme", f"acme/../{'a' * 32}", f"../{'a' * 32}", f".hidden/{'a' * 32}", "acme/x"],
)
def test_a_location_publish_did_not_make_finds_nothing(
    store: storage.ResultStore, location: str
) -> None:
    assert (store.local_path(location), store.open(location), store.size(location)) == (
        None,
        None,
        None,
    )


def test_an_upload_shows_no_partial_file_and_leaves_no_staging_copy(
    remote: fsspec_store.FsspecResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_id, temporary = _written(remote)
    seen: list[bool] = []
    final = f"{remote.root}/{TENANT}/{file_id}"
    uploaded = remote.fs.put_file

    def watched_put(source: str, target: str, **kwargs: Any) -> None:
        uploaded(source, target, **kwargs)
        seen.append(remote.fs.exists(final))

    monkeypatch.setattr(remote.fs, "put_file", watched_put)
    remote.publish(TENANT, file_id, temporary)
    assert seen == [False]  # uploaded elsewhere, then moved
    assert remote.fs.ls(f"{remote.root}/{TENANT}", detail=False) == [final]


def test_a_failed_upload_publishes_nothing_and_keeps_the_written_file(
    remote: fsspec_store.FsspecResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_id, temporary = _written(remote)

    def broken_move(*_: Any, **__: Any) -> None:
        raise OSError("connection reset")

    monkeypatch.setattr(remote.fs, "mv", broken_move)
    with pytest.raises(OSError, match="connection reset"):
        remote.publish(TENANT, file_id, temporary)
    assert remote.size(f"{TENANT}/{file_id}") is None
    assert remote.fs.ls(f"{remote.root}/{TENANT}", detail=False) == []
    assert temporary.read_bytes() == CONTENT  # the runner discards it with the run


def test_an_object_store_gets_the_file_at_its_final_name_in_one_put(
    remote: fsspec_store.FsspecResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.atomic_put = True
    monkeypatch.setattr(remote.fs, "mv", None)  # never called
    file_id, temporary = _written(remote)
    location = remote.publish(TENANT, file_id, temporary)
    assert remote.size(location) == len(CONTENT)


def test_a_local_copy_is_made_once_and_goes_when_another_node_deletes_the_file(
    remote: fsspec_store.FsspecResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_id, temporary = _written(remote)
    location = remote.publish(TENANT, file_id, temporary)
    downloads: list[str] = []
    fetch = remote.fs.get_file

    def counted(source: str, target: str, **kwargs: Any) -> None:
        downloads.append(source)
        fetch(source, target, **kwargs)

    monkeypatch.setattr(remote.fs, "get_file", counted)
    first, second = remote.local_path(location), remote.local_path(location)
    assert first == second and first is not None and len(downloads) == 1
    assert first.parent.parent == remote.scratch.root
    remote.fs.rm_file(f"{remote.root}/{location}")  # another node's retention sweep
    assert remote.local_path(location) is None
    assert not first.exists()


def test_a_local_copy_of_the_wrong_size_is_fetched_again(
    remote: fsspec_store.FsspecResultStore,
) -> None:
    file_id, temporary = _written(remote)
    location = remote.publish(TENANT, file_id, temporary)
    copy = remote.local_path(location)
    assert copy is not None
    copy.write_bytes(CONTENT[:10])  # a copy cut short (disk full, killed process)
    again = remote.local_path(location)
    assert again is not None and again.read_bytes() == CONTENT


def test_parallel_segments_of_one_download_fetch_one_copy(
    remote: fsspec_store.FsspecResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_id, temporary = _written(remote)
    location = remote.publish(TENANT, file_id, temporary)
    downloads: list[str] = []
    fetch = remote.fs.get_file
    never = threading.Event()

    def slow(source: str, target: str, **kwargs: Any) -> None:
        downloads.append(source)
        never.wait(0.2)  # widens the window in which other segments would fetch too
        fetch(source, target, **kwargs)

    monkeypatch.setattr(remote.fs, "get_file", slow)
    with concurrent.futures.ThreadPoolExecutor(max_workers=SEGMENTS) as pool:
        paths = set(pool.map(lambda _: remote.local_path(location), range(SEGMENTS)))
    assert len(paths) == 1 and len(downloads) == 1


def test_a_copy_unused_for_long_is_removed(
    remote: fsspec_store.FsspecResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fsspec_store, "PRUNE_EVERY_S", 0.0)
    old_id, old_file = _written(remote)
    new_id, new_file = _written(remote)
    old, new = remote.publish(TENANT, old_id, old_file), remote.publish(TENANT, new_id, new_file)
    copy = remote.local_path(old)
    assert copy is not None
    long_ago = time.time() - fsspec_store.COPY_KEEP_S - 1
    os.utime(copy, (long_ago, long_ago))
    kept = remote.local_path(new)
    assert not copy.exists() and kept is not None and kept.exists()
    assert remote.local_path(old) == copy and copy.read_bytes() == CONTENT  # fetched again


def test_open_results_picks_the_store_of_the_url(tmp_path: Path, memory_url: str) -> None:
    default = storage.open_results("", tmp_path)
    assert isinstance(default, local.LocalResultStore)
    assert default.root == tmp_path / storage.RESULTS_DIR
    shared = storage.open_results(f"file://{tmp_path / 'shared'}", tmp_path)
    assert isinstance(shared, local.LocalResultStore) and shared.root == tmp_path / "shared"
    remote = storage.open_results(memory_url, tmp_path)
    assert isinstance(remote, fsspec_store.FsspecResultStore)
    assert remote.scratch.root == tmp_path / storage.RESULTS_CACHE_DIR
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ValueError, match="is not a directory"):
        storage.open_results(f"file://{tmp_path / 'a-file'}", tmp_path)
    with pytest.raises(ValueError, match="unknown storage protocol"):
        storage.open_results("nosuchfs://x", tmp_path)
