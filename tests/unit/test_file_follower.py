"""FileFollower: a file's checksum and progress, read once while another thread writes it."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from aquarium.export import follower


def _slow_write(path: Path, chunks: list[bytes]) -> None:
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            handle.flush()
            time.sleep(0.002)


def test_digest_equals_the_whole_file_written_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    chunks = [os.urandom(97_000) for _ in range(60)]
    reader = follower.FileFollower(path, hash_it=True)
    thread = threading.Thread(target=_slow_write, args=(path, chunks))
    thread.start()
    thread.join()
    assert reader.finish() == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_progress_counts_rows_past_the_header_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    lines = [b"a,b\n"] + [f"{i},x\n".encode() for i in range(5000)]
    seen: list[tuple[int, int]] = []
    reader = follower.FileFollower(
        path, hash_it=True, progress=lambda rows, size: seen.append((rows, size)), interval_s=0
    )
    _slow_write(path, [b"".join(lines[i : i + 500]) for i in range(0, len(lines), 500)])
    assert reader.finish() == hashlib.sha256(b"".join(lines)).hexdigest()
    assert seen, "progress was reported while the file grew"
    rows, size = seen[-1]
    assert 0 <= rows <= 5000 and 0 < size <= sum(map(len, lines))
    assert [r for r, _ in seen] == sorted(r for r, _ in seen)


def test_a_failing_progress_callback_never_breaks_the_checksum(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"

    def broken(rows: int, size: int) -> None:
        raise RuntimeError("the metadata store is gone")

    reader = follower.FileFollower(path, hash_it=True, progress=broken, interval_s=0)
    _slow_write(path, [b"h\n", b"1\n" * 1000])
    assert reader.finish() == hashlib.sha256(b"h\n" + b"1\n" * 1000).hexdigest()


def test_file_created_late_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    reader = follower.FileFollower(path, hash_it=True)
    time.sleep(0.12)
    path.write_bytes(b"")
    assert reader.finish() == hashlib.sha256(b"").hexdigest()


def test_without_hashing_finish_gives_no_digest(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_bytes(b"a\n1\n")
    assert follower.FileFollower(path, hash_it=False).finish() is None


def test_abandon_returns_when_nothing_was_written(tmp_path: Path) -> None:
    follower.FileFollower(tmp_path / "never.csv", hash_it=True).abandon()


def test_row_counter_counts_every_row_past_the_header_from_bytes_and_views() -> None:
    counter = follower.RowCounter()
    assert counter.rows() == 0
    for index in range(100):
        chunk = b"h\n" + b"row\n" * 999
        counter.take(chunk if index % 2 else memoryview(bytearray(chunk)))
    assert counter.rows() == 100 * 1000 - 1
    assert counter.size == 100 * (2 + 4 * 999)
