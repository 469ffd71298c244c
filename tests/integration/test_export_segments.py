"""File segmentation (reference §6): stateful full loads of a segmentation tenant are cut into
files of at most ``segment_rows`` records, each with the header; nothing else is segmented."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aquarium import datagen
from aquarium.catalog import model
from aquarium.engines import base, naming
from aquarium.export import follower, segments
from aquarium.services import aqua_wire
from aquarium.zoql import ast, check, lower, translate
from tests import tenants_setup
from tests.integration import test_runner_support as support
from tests.integration.conftest import NOW, TIME_ZONE
from tests.integration.test_runner_support import JS, PRINCIPAL, TENANT, ServerFactory

make_server = support.make_server
QUERY = "select * from InvoiceItem"
SEGMENT_ROWS = 1000
SESSION = {"partner": "partner", "project": "segments"}


@pytest.fixture(scope="module")
def billing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5,000 invoice items: a handful of 1,000-row segments."""
    data_dir = tmp_path_factory.mktemp("billing-segments")
    datagen.generate_into(data_dir, TENANT, scale=0.05, seed=support.SEED)
    return data_dir / naming.DUCKDB_FILE


def _lines(h: support.Harness, file_id: str, *, gzipped: bool = False) -> list[str]:
    data = h.aqua.file(PRINCIPAL, file_id).path.read_bytes()
    if gzipped:
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    assert text.endswith("\n")
    return text.removesuffix("\n").split("\n")


@pytest.mark.parametrize("file_format", ["CSV", "GZIP"])
def test_a_stateful_full_load_is_cut_into_segments(
    make_server: ServerFactory, file_format: str
) -> None:
    h = make_server(start=False, limits={"segment_rows": SEGMENT_ROWS})
    tenants_setup.set_file_segmentation(h.srv, TENANT, True)
    full = h.submit(QUERY, format=file_format.lower(), **SESSION)
    stateless = h.submit(QUERY, version="1.0")  # never segmented: the reference file
    h.srv.start()

    record = h.wait_terminal(full)
    assert record.status == JS.COMPLETED, record
    reference = h.wait_terminal(stateless)
    assert reference.status == JS.COMPLETED
    batch = record.batches[0]
    assert batch.full is True
    assert batch.file_id is None
    rows = batch.record_count
    assert rows > 2 * SEGMENT_ROWS
    assert len(batch.segments) == math.ceil(rows / SEGMENT_ROWS)
    assert len(set(batch.segments)) == len(batch.segments)

    stateless_batch = reference.batches[0]
    assert stateless_batch.segments == () and stateless_batch.file_id is not None
    header, *expected = _lines(h, stateless_batch.file_id)
    data_rows: list[str] = []
    for index, file_id in enumerate(batch.segments):
        lines = _lines(h, file_id, gzipped=file_format == "GZIP")
        assert lines[0] == header, "every segment starts with the header"
        last = index == len(batch.segments) - 1
        assert len(lines) - 1 == (rows - index * SEGMENT_ROWS if last else SEGMENT_ROWS)
        data_rows += lines[1:]
    assert sorted(data_rows) == sorted(expected)
    assert len(data_rows) == rows == stateless_batch.record_count

    files = {f.id: f for f in h.files_of(full)}
    assert set(files) == set(batch.segments)
    assert sum(f.record_count for f in files.values()) == rows
    document = aqua_wire.job_document(h.job(full), time_zone="UTC")["batches"][0]
    assert document["segments"] == list(batch.segments)
    assert "fileId" not in document
    assert not h.partial_files()


def test_incremental_and_stateless_jobs_and_other_tenants_get_one_file(
    make_server: ServerFactory,
) -> None:
    h = make_server(start=False, limits={"segment_rows": SEGMENT_ROWS})
    tenants_setup.set_file_segmentation(h.srv, TENANT, True)
    first = h.submit(QUERY, **SESSION)
    incremental = h.submit(QUERY, **SESSION)  # same session, same query: an incremental load
    stateless = h.submit(QUERY)
    with_function = h.submit("select count(Id) from InvoiceItem", partner="p", project="other")
    h.srv.start()

    assert h.wait_terminal(first).batches[0].segments
    later = h.wait_terminal(incremental)
    assert later.status == JS.COMPLETED
    assert later.batches[0].full is False
    for job_id in (incremental, stateless, with_function):
        batch = h.wait_terminal(job_id).batches[0]
        assert batch.segments == () and batch.file_id is not None, job_id
        document = aqua_wire.job_document(h.job(job_id), time_zone="UTC")["batches"][0]
        assert "segments" not in document and document["fileId"] == batch.file_id


def test_segmentation_is_off_by_default(make_server: ServerFactory) -> None:
    h = make_server(limits={"segment_rows": SEGMENT_ROWS})
    batch = h.wait_terminal(h.submit(QUERY, **SESSION)).batches[0]
    assert batch.full is True
    assert batch.segments == () and batch.file_id is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("select Id, Name from Account", True),
        ("select * from Account", True),
        ("select Id as AccountId from Account", False),
        ("select count(Id) from Account", False),
        ("select Id from", False),  # does not parse: left to fail with its own error
    ],
)
def test_queries_with_functions_or_aliases_are_not_segmented(query: str, expected: bool) -> None:
    applies = segments.applies(
        enabled=True, stateful=True, full=True, query=query, dialect=ast.Dialect.EXPORT
    )
    assert applies is expected


def test_split_keeps_quoted_newlines_inside_their_record(tmp_path: Path) -> None:
    source = tmp_path / "all.csv"
    rows = [["Id", "Note"]] + [[str(i), f'line one\nline "two" of {i}'] for i in range(5)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    source.write_text(buffer.getvalue(), encoding="utf-8")
    made = iter(tmp_path / f"part{i}.csv" for i in range(10))

    pieces = segments.split(source, lambda: next(made), rows_per_segment=2)

    assert [count for _, count in pieces] == [2, 2, 1]
    parsed = [
        list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
        for path, _ in pieces
    ]
    assert all(part[0] == rows[0] for part in parsed)
    assert [row for part in parsed for row in part[1:]] == rows[1:]


def test_split_of_an_empty_result_is_one_segment_with_the_header(tmp_path: Path) -> None:
    source = tmp_path / "all.csv"
    source.write_bytes(b"Account.Id\n")
    pieces = segments.split(source, lambda: tmp_path / "only.csv", rows_per_segment=10)
    assert pieces == [(tmp_path / "only.csv", 0)]
    assert (tmp_path / "only.csv").read_bytes() == b"Account.Id\n"


# --- Segments cut from the engine's pipe, against the one-shot way (whole CSV, then split) ---


@dataclass(frozen=True)
class Snapshotted:
    snapshot: base.Snapshot
    dialect: str
    tenant: str

    def query(self, where: str = "") -> lower.LoweredQuery:
        context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
        options = lower.Options(dialect=self.dialect, schema=naming.schema_name(self.tenant))
        return translate.translate(QUERY + where, context=context, options=options)


@pytest.fixture(params=["duckdb", "postgres"])
def engine_snapshot(request: pytest.FixtureRequest) -> Iterator[Snapshotted]:
    """A snapshot of the shared integration data (conftest.py) in each engine."""
    if request.param == "duckdb":
        engine: base.QueryEngine = request.getfixturevalue("duck")
        tenant = "acme"
    else:
        engine = request.getfixturevalue("pg")
        tenant = request.getfixturevalue("pg_tenant")
    with engine.snapshot(tenant) as snapshot:
        yield Snapshotted(snapshot, request.param, tenant)


def segment_maker(directory: Path) -> tuple[Callable[[], tuple[str, Path]], list[Path]]:
    """``new_file`` for write_segments, naming temporaries as the local store does, and the
    list of the paths it gave."""
    made: list[Path] = []

    def new_file() -> tuple[str, Path]:
        made.append(directory / f".run.seg{len(made)}.partial")
        return f"seg{len(made) - 1}", made[-1]

    return new_file, made


def unpacked(data: bytes, file_format: str) -> bytes:
    if file_format == "GZIP":
        return gzip.decompress(data)
    if file_format == "ZIP":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.namelist() == ["items.csv"]
            return archive.read("items.csv")
    return data


def _one_shot(
    snapshot: base.Snapshot, query: lower.LoweredQuery, directory: Path
) -> list[tuple[Path, int]]:
    """The segments the previous approach wrote: the whole CSV on disk, then split."""
    directory.mkdir()
    whole = directory / "whole.csv"
    snapshot.copy_csv(query, whole, base.CsvOptions())
    made = iter(directory / f"{i}.csv" for i in range(1000))
    return segments.split(whole, lambda: next(made), rows_per_segment=SEGMENT_ROWS)


@pytest.mark.parametrize("file_format", ["CSV", "GZIP", "ZIP"])
def test_piped_segments_hold_the_bytes_the_one_shot_way_wrote(
    engine_snapshot: Snapshotted,
    tmp_path: Path,
    file_format: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(follower, "PROGRESS_S", 0.0)  # hear every read
    snapshot, query = engine_snapshot.snapshot, engine_snapshot.query()
    expected = _one_shot(snapshot, query, tmp_path / "one-shot")
    results = tmp_path / "results"
    results.mkdir()
    new_file, targets = segment_maker(results)
    heard: list[tuple[int, int]] = []

    written = segments.write_segments(
        snapshot, query, results / ".run.scratch.partial", new_file, file_format=file_format,
        query_name="items", csv=base.CsvOptions(), rows_per_segment=SEGMENT_ROWS,
        progress=lambda rows, size: heard.append((rows, size)),
    )  # fmt: skip

    assert len(written) == len(expected) > 2
    for segment, (plain, count), target in zip(written, expected, targets, strict=True):
        assert segment.file_id == f"seg{targets.index(target)}"
        assert segment.written.path == target
        assert segment.written.record_count == count
        data = target.read_bytes()
        assert segment.written.sha256 == hashlib.sha256(data).hexdigest()
        assert segment.written.size == len(data)
        assert unpacked(data, file_format) == plain.read_bytes()
    assert sorted(p.name for p in results.iterdir()) == sorted(t.name for t in targets)
    whole = (tmp_path / "one-shot" / "whole.csv").read_bytes()
    assert heard and heard == sorted(heard), "progress is heard from the reader of the pipe"
    assert heard[-1][1] <= len(whole) and heard[-1][0] <= sum(count for _, count in expected)


def test_an_empty_piped_result_is_one_segment_with_the_header(
    engine_snapshot: Snapshotted, tmp_path: Path
) -> None:
    query = engine_snapshot.query(" where Id = 'none'")
    expected = _one_shot(engine_snapshot.snapshot, query, tmp_path / "one-shot")
    new_file, targets = segment_maker(tmp_path)

    written = segments.write_segments(
        engine_snapshot.snapshot, query, tmp_path / ".run.scratch.partial", new_file,
        file_format="GZIP", query_name="items", csv=base.CsvOptions(), rows_per_segment=10,
    )  # fmt: skip

    assert [segment.written.record_count for segment in written] == [0]
    header = expected[0][0].read_bytes()
    assert header.startswith(b"InvoiceItem.Id,") and header.count(b"\n") == 1
    assert gzip.decompress(targets[0].read_bytes()) == header
