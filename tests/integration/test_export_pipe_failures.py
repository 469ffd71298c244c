"""Results packaged as the engine writes into a pipe (export/piped.py): whichever side fails or
is stopped, nothing blocks, the error that ends the export is the right one, and no FIFO, plain
segment or packaged leftover stays beside the files the caller discards anyway.

Real DuckDB and PostgreSQL snapshots write generated rows (``range`` / ``generate_series``), so
each statement is long enough to be caught mid-write; a stand-in engine writes chosen bytes in
chosen pieces where the test is about the reader's cutting."""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from aquarium.domain import errors
from aquarium.engines import base, duckdb_engine, postgres_engine
from aquarium.export import follower, piped, segments, writer
from aquarium.zoql import lower
from tests.integration.test_export_segments import Snapshotted, segment_maker

pytestmark = pytest.mark.timeout(120)  # a pipe left blocking fails here instead of hanging CI
SCRATCH = ".run.scratch.partial"
MANY = 3_000_000  # rows: tens of megabytes, well past what a pipe holds


@dataclass(frozen=True)
class Engine:
    snapshot: base.Snapshot
    dialect: str

    def rows(self, count: int, *, fail_at: int | None = None) -> lower.LoweredQuery:
        """``count`` generated rows (a number and its md5, which hardly compresses); the row
        ``fail_at`` raises an error in the engine, mid-statement."""
        if self.dialect == "duckdb":
            value = "md5(range::varchar)"
            if fail_at is not None:
                value = f"CASE WHEN range = {fail_at} THEN error('boom') ELSE {value} END"
            # A subquery: not one table's rows, so one COPY writes the pipe (ranged_copy.cut).
            sql = f'SELECT * FROM (SELECT range AS "n", {value} AS "v" FROM range({count})) AS g'
            return lower.LoweredQuery(sql, ("n", "v"), True, "UTC")
        value = "md5(g::text)"
        if fail_at is not None:
            value = f"CASE WHEN g = {fail_at} THEN (1 / (g - g))::text ELSE {value} END"
        sql = f"SELECT g - 1, {value} FROM generate_series(1, {count}) AS g"
        return lower.LoweredQuery(sql, ("n", "v"), False, "UTC")


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "duckdb":
        duck: duckdb_engine.DuckDbEngine = request.getfixturevalue("duck")
        with duck.snapshot("acme") as snapshot:
            yield Engine(snapshot, "duckdb")
    else:
        pg: postgres_engine.PostgresEngine = request.getfixturevalue("pg")
        with pg.snapshot(request.getfixturevalue("pg_tenant")) as snapshot:
            yield Engine(snapshot, "postgres")


class StandInEngine:
    """Writes ``pieces`` to the path it is given, one unbuffered write each, a pause between
    (so the reader meets them in separate reads), then fails with ``failure`` when given;
    ``before_open`` fails before it opens the path at all."""

    def __init__(
        self,
        pieces: list[bytes],
        *,
        failure: Exception | None = None,
        before_open: bool = False,
    ) -> None:
        self.pieces, self.failure, self.before_open = pieces, failure, before_open

    def copy_csv(self, query: lower.LoweredQuery, path: Path, options: base.CsvOptions) -> int:
        if self.before_open and self.failure is not None:
            raise self.failure
        with path.open("wb", buffering=0) as out:
            for piece in self.pieces:
                out.write(piece)
                time.sleep(0.02)
            if self.failure is not None:
                raise self.failure
        return sum(piece.count(b"\n") for piece in self.pieces) - 1

    def as_snapshot(self) -> base.Snapshot:
        return cast(base.Snapshot, self)


NO_QUERY = lower.LoweredQuery("", ("Note",), True, "UTC")


def _segments(
    snapshot: base.Snapshot,
    query: lower.LoweredQuery,
    directory: Path,
    *,
    rows_per_segment: int = 500_000,
    file_format: str = "GZIP",
    progress: writer.Progress | None = None,
) -> tuple[Callable[[], list[segments.Segment]], list[Path]]:
    new_file, made = segment_maker(directory)

    def export() -> list[segments.Segment]:
        return segments.write_segments(
            snapshot, query, directory / SCRATCH, new_file, file_format=file_format,
            query_name="q", csv=base.CsvOptions(), rows_per_segment=rows_per_segment,
            progress=progress,
        )  # fmt: skip

    return export, made


def _left_behind(directory: Path, discarded: list[Path]) -> list[str]:
    """Files in ``directory`` but the temporaries the caller discards after a failure."""
    return sorted(p.name for p in directory.iterdir() if p not in discarded)


def _export_threads() -> list[str]:
    names = ("aquarium-pipe-reader", "aquarium-segment-packager", "ranged-copy")
    return [t.name for t in threading.enumerate() if t.name.startswith(names)]


def test_a_quoted_newline_split_across_pipe_reads_stays_in_its_record(tmp_path: Path) -> None:
    rows = [["Note"]] + [
        [f'row {i}\nsecond "line"' if i % 3 == 0 else f"row {i}"] for i in range(9)
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode()
    # Pieces end inside quoted fields, right after their newline; then one record longer than
    # a whole pipe and a whole read chunk, its newline in the last read of it.
    inside = [data.index(b"row 3\n") + 6, data.index(b"row 6\n") + 6]
    filler = b'"' + b"x" * (piped.PIPE_BYTES + follower.CHUNK_BYTES) + b'\n"\n'
    pieces = [data[: inside[0]], data[inside[0] : inside[1]], data[inside[1] :], filler]
    export, made = _segments(
        StandInEngine(pieces).as_snapshot(), NO_QUERY, tmp_path, rows_per_segment=4
    )

    written = export()

    limit = csv.field_size_limit(len(filler))
    try:
        parsed = [
            list(csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode(), newline="")))
            for path in made
        ]
    finally:
        csv.field_size_limit(limit)
    assert [segment.written.record_count for segment in written] == [4, 4, 2]
    assert all(part[0] == ["Note"] for part in parsed)
    expected = [*rows[1:], ["x" * (piped.PIPE_BYTES + follower.CHUNK_BYTES) + "\n"]]
    assert [row for part in parsed for row in part[1:]] == expected
    assert _left_behind(tmp_path, []) == sorted(p.name for p in made)


@pytest.mark.parametrize("before_open", [True, False])
def test_a_stand_in_engine_failing_before_or_while_writing_ends_the_export(
    tmp_path: Path, before_open: bool
) -> None:
    failure = errors.QueryFailed("the engine failed")
    stand_in = StandInEngine(
        [b"Note\n", b"a\n" * 100_000], failure=failure, before_open=before_open
    )
    export, made = _segments(stand_in.as_snapshot(), NO_QUERY, tmp_path, rows_per_segment=1000)

    with pytest.raises(errors.QueryFailed) as raised:
        export()

    assert raised.value is failure
    assert _left_behind(tmp_path, made) == []
    assert _export_threads() == []


@pytest.mark.parametrize("segmented", [True, False])
def test_an_engine_failing_before_it_writes_ends_the_export_with_its_error(
    engine: Engine, tmp_path: Path, segmented: bool
) -> None:
    query = lower.LoweredQuery("SELECT * FROM no_such_table", ("x",), True, "UTC")
    export, made = _segments(engine.snapshot, query, tmp_path)

    with pytest.raises(errors.QueryFailed) as raised:
        if segmented:
            export()
        else:
            writer.write_result(
                engine.snapshot, query, tmp_path / ".run.single.partial", file_format="GZIP",
                query_name="q", csv=base.CsvOptions(),
            )  # fmt: skip

    assert "no_such_table" in (raised.value.engine_text or "")

    assert _left_behind(tmp_path, [*made, tmp_path / ".run.single.partial"]) == []
    assert _export_threads() == []


@pytest.mark.parametrize("file_format", ["GZIP", "ZIP"])
def test_an_engine_failing_mid_write_ends_the_export_with_its_error(
    engine: Engine, tmp_path: Path, file_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follower, "PROGRESS_S", 0.0)
    heard: list[int] = []
    query = engine.rows(MANY, fail_at=MANY - 10)
    export, made = _segments(
        engine.snapshot, query, tmp_path, rows_per_segment=200_000, file_format=file_format,
        progress=lambda rows, size: heard.append(size),
    )  # fmt: skip

    with pytest.raises(errors.QueryFailed) as raised:
        export()

    assert ("division by zero" if engine.dialect == "postgres" else "boom") in (
        raised.value.engine_text or ""
    )
    assert heard and heard[-1] > 1_000_000, "the engine had written when it failed"
    assert _left_behind(tmp_path, made) == []
    assert _export_threads() == []


def test_a_packager_that_fails_stops_the_engine_and_its_error_ends_the_export(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged: list[Path] = []
    package = writer.package

    def failing_second(plain: Path, target: Path, **kwargs: object) -> writer.WrittenFile:
        if packaged:
            raise errors.EncryptionFailed("encrypting the result failed: gpg error")
        packaged.append(target)
        return package(plain, target, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "package", failing_second)
    export, made = _segments(
        engine.snapshot, engine.rows(MANY * 3), tmp_path, rows_per_segment=1000
    )
    began = time.monotonic()

    with pytest.raises(errors.EncryptionFailed) as raised:
        export()

    assert time.monotonic() - began < 60, "the engine stopped at the closed pipe"
    assert "gpg error" in str(raised.value)
    assert _left_behind(tmp_path, made) == []
    assert _export_threads() == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root; skipped otherwise), unmounted afterwards."""
    mount = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("segmented", [True, False])
def test_a_full_disk_ends_the_export_with_its_error(
    engine: Engine, tiny_disk: Path, segmented: bool
) -> None:
    query = engine.rows(400_000)  # about 16 MB plain, 8 MB gzipped
    single = tiny_disk / ".run.single.partial"
    export, made = _segments(engine.snapshot, query, tiny_disk, rows_per_segment=20_000)

    with pytest.raises(OSError, match="No space left"):
        if segmented:
            export()
        else:
            writer.write_result(
                engine.snapshot, query, single, file_format="GZIP", query_name="q",
                csv=base.CsvOptions(),
            )  # fmt: skip

    assert _left_behind(tiny_disk, [*made, single]) == []
    assert _export_threads() == []


@pytest.mark.parametrize("segmented", [True, False])
def test_an_interrupt_mid_way_ends_every_thread_and_leaves_no_pipe(
    engine: Engine, tmp_path: Path, segmented: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follower, "PROGRESS_S", 0.0)
    interrupted = threading.Event()

    def interrupt_once_written(rows: int, size: int) -> None:
        if size > 5_000_000 and not interrupted.is_set():
            interrupted.set()
            engine.snapshot.interrupt()

    query = engine.rows(MANY * 10)
    single = tmp_path / ".run.single.partial"
    export, made = _segments(
        engine.snapshot, query, tmp_path, rows_per_segment=50_000,
        progress=interrupt_once_written,
    )  # fmt: skip

    with pytest.raises(errors.QueryInterrupted):
        if segmented:
            export()
        else:
            writer.write_result(
                engine.snapshot, query, single, file_format="GZIP", query_name="q",
                csv=base.CsvOptions(), progress=interrupt_once_written,
            )  # fmt: skip

    assert interrupted.is_set()
    assert _left_behind(tmp_path, [*made, single]) == []
    assert _export_threads() == []


def test_a_stopped_run_does_not_wait_for_the_segment_being_packaged(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine waits on a full pipe while the reader waits for the packager: the engine's
    interrupt cannot reach it there, the run's stop reaches the packager."""
    _stop_while_packaging(engine.snapshot, engine.rows(MANY * 10), 50_000, tmp_path, monkeypatch)


def test_a_stopped_ranged_export_does_not_wait_for_the_segment_being_packaged(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through DuckDB's rowid-ranged export of one table (engines/ranged_copy.py),
    which appends its parts to the pipe with sendfile."""
    with duck.snapshot("acme") as snapshot:
        query = Snapshotted(snapshot, "duckdb", "acme").query()
        _stop_while_packaging(snapshot, query, 100, tmp_path, monkeypatch)


def _stop_while_packaging(
    snapshot: base.Snapshot,
    query: lower.LoweredQuery,
    rows_per_segment: int,
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_stopped = threading.Event()
    seen: list[bool] = []

    def package_until_stopped(plain: Path, target: Path, **kwargs: object) -> writer.WrittenFile:
        stopped = cast(Callable[[], bool], kwargs["stopped"])
        run_stopped.set()  # the run is stopped while its first segment is being packaged
        snapshot.interrupt()
        deadline = time.monotonic() + 60
        while not stopped() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(stopped())
        raise piped.Abandoned("packaging was stopped")

    monkeypatch.setattr(writer, "package", package_until_stopped)
    new_file, made = segment_maker(directory)

    with pytest.raises((errors.QueryInterrupted, errors.QueryFailed, piped.Abandoned)):
        segments.write_segments(
            snapshot, query, directory / SCRATCH, new_file, file_format="GZIP", query_name="q",
            csv=base.CsvOptions(), rows_per_segment=rows_per_segment, stopped=run_stopped.is_set,
        )  # fmt: skip

    assert seen == [True]
    assert _left_behind(directory, made) == []
    assert _export_threads() == []
