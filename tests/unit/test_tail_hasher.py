"""TailHasher: the checksum of a file hashed while another thread is still writing it."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from aquarium.export import writer


def _slow_write(path: Path, chunks: list[bytes]) -> None:
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            handle.flush()
            time.sleep(0.002)


def test_digest_equals_the_whole_file_written_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    chunks = [os.urandom(97_000) for _ in range(60)]
    hasher = writer.TailHasher(path)
    thread = threading.Thread(target=_slow_write, args=(path, chunks))
    thread.start()
    thread.join()
    assert hasher.finish() == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_file_created_late_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    hasher = writer.TailHasher(path)
    time.sleep(0.12)
    path.write_bytes(b"")
    assert hasher.finish() == hashlib.sha256(b"").hexdigest()


def test_abandon_returns_when_nothing_was_written(tmp_path: Path) -> None:
    hasher = writer.TailHasher(tmp_path / "never.csv")
    hasher.abandon()
