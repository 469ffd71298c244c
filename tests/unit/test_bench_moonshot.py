"""The moonshot benchmark's own parts: digests, segment joining, the disk estimate, the FIFO
reader and the machine's state. Its figures are only as good as these (a digest that cannot
tell two files apart would call any export correct)."""

from __future__ import annotations

import gzip
import hashlib
import importlib
import os
import random
import threading
from pathlib import Path

import pytest
from benchmarks import bench_moonshot, disk_need, machine, row_digest
from hypothesis import given
from hypothesis import strategies as st

LINES = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30)


def _digest(chunks: list[bytes]) -> row_digest.Digest:
    digest = row_digest.RowDigest()
    for chunk in chunks:
        digest.update(chunk)
    return digest.finish()


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(LINES, st.lists(st.integers(min_value=0, max_value=2000), max_size=10))
def test_the_digest_does_not_depend_on_where_chunks_are_cut(
    lines: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(line + b"\n" for line in lines)
    whole = _digest([data])
    assert _digest(_cut(data, cuts)) == whole
    assert whole.sha256 == hashlib.sha256(data).hexdigest()
    assert whole.lines == len(lines)


@given(LINES.filter(lambda lines: len(set(lines)) > 1), st.randoms())
def test_reordered_lines_have_the_same_rows_but_not_the_same_sha256(
    lines: list[bytes], rng: random.Random
) -> None:
    shuffled = lines[:]
    while shuffled == lines:
        rng.shuffle(shuffled)
    before = _digest([b"".join(line + b"\n" for line in lines)])
    after = _digest([b"".join(line + b"\n" for line in shuffled)])
    assert before.same_rows(after)
    assert before.sha256 != after.sha256


@pytest.mark.parametrize(
    "other",
    [
        b"h\na\nb\nc\nc\n",  # a line replaced by a copy of another
        b"h\na\nb\nc\n",  # a line lost
        b"h\na\nb\nc\nd\nd\n",  # a line repeated
        b"h\na\nb\nc\nD\n",  # one byte changed
    ],
)
def test_the_multiset_digest_tells_other_rows_apart(other: bytes) -> None:
    assert not _digest([b"h\na\nb\nc\nd\n"]).same_rows(_digest([other]))


def test_a_last_line_without_a_line_end_counts() -> None:
    assert _digest([b"a\nb"]).lines == 2
    assert not _digest([b"a\nb"]).same_rows(_digest([b"a\n"]))


def _segments(header: bytes, rows: list[bytes], per_segment: int) -> list[bytes]:
    groups = [rows[i : i + per_segment] for i in range(0, len(rows), per_segment)] or [[]]
    return [gzip.compress(header + b"".join(group)) for group in groups]


@pytest.mark.parametrize("chunk_bytes", [1, 3, 7, 64, 1 << 20])
def test_joined_segments_are_the_whole_csv_with_one_header(chunk_bytes: int) -> None:
    header = b'"Invoice Item: ID","Invoice Item: Charge Name"\n'
    rows = [f'{i:032x},"name, with ""quotes""\nand a newline"\n'.encode() for i in range(25)]
    packed = _segments(header, rows, per_segment=4)
    chunked = [[p[i : i + chunk_bytes] for i in range(0, len(p), chunk_bytes)] for p in packed]
    whole = header + b"".join(rows)
    assert b"".join(row_digest.joined_csv(chunked)) == whole
    assert row_digest.digest_segments(chunked) == _digest([whole])


def test_an_empty_result_is_its_header() -> None:
    packed = _segments(b"A,B\n", [], per_segment=4)
    assert b"".join(row_digest.joined_csv([packed])) == b"A,B\n"


def test_a_file_of_several_gzip_members_is_unpacked_whole() -> None:
    stream = row_digest.GzipStream()
    data = gzip.compress(b"one\n") + gzip.compress(b"two\n")
    assert stream.unpack(data[:5]) + stream.unpack(data[5:]) + stream.finish() == b"one\ntwo\n"


def test_a_cut_off_gzip_file_is_an_error() -> None:
    stream = row_digest.GzipStream()
    stream.unpack(gzip.compress(b"x" * 1000)[:-6])
    with pytest.raises(EOFError):
        stream.finish()


def test_the_disk_estimate_counts_only_data_not_generated_yet() -> None:
    fresh = disk_need.estimate({50: False, 1000: False})
    reused = disk_need.estimate({50: True, 1000: False})
    assert fresh.total - reused.total == pytest.approx(
        (disk_need.DUCKDB_FIXED_BYTES + 50 * disk_need.DUCKDB_BYTES_PER_SCALE_UNIT)
        * (1 + disk_need.MARGIN),
        abs=2,
    )
    parts = dict(fresh.parts)
    # The larger job's peak only (the jobs run one after the other): two plain segments.
    assert parts["job peak at scale 1000 (plain segments)"] == 2 * 500_000 * 560
    small = dict(disk_need.estimate({1: False}, segment_rows=10_000_000).parts)
    assert small["job peak at scale 1 (plain segments)"] == 2 * 100_000 * 560  # the whole CSV
    assert "DuckDB file at scale 1000" not in dict(disk_need.estimate({1000: True}).parts)
    assert fresh.total > sum(parts.values())  # the margin


def test_short_of_disk_refuses_saying_what_is_needed_and_free() -> None:
    need = disk_need.estimate({2: False})
    with pytest.raises(SystemExit, match=r"not enough disk in /w: needs .* GB .*free"):
        disk_need.refuse_if_short(need, need.total - 1, "/w")
    disk_need.refuse_if_short(need, need.total, "/w")  # enough: no answer


def test_the_job_is_a_stateful_full_load_as_gzip() -> None:
    body = bench_moonshot.job_body("p1")
    assert (body["format"], body["version"], body["partner"], body["project"]) == (
        "gzip",
        "1.1",
        "moonshot",
        "p1",
    )
    assert [q["query"] for q in body["queries"]] == ["select * from InvoiceItem"]


def test_the_moonshot_runs_only_when_named() -> None:
    cli = importlib.import_module("benchmarks.__main__")
    assert "moonshot" not in cli.chosen([])
    assert {"translate", "aqua", "scaleout"} <= set(cli.chosen([]))
    assert cli.chosen(["moonshot"]) == ["moonshot"]
    with pytest.raises(SystemExit, match="unknown benchmark"):
        cli.chosen(["moon"])


def test_the_fifo_reader_digests_what_a_writer_writes(tmp_path: Path) -> None:
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    reader = bench_moonshot.FifoDigest(fifo)
    data = b"".join(b"%d,row\n" % i for i in range(100_000))
    with fifo.open("wb") as writer:
        writer.write(data)
    assert reader.result() == _digest([data])


def test_a_writer_that_never_opened_the_fifo_does_not_leave_the_reader_waiting(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    reader = bench_moonshot.FifoDigest(fifo)
    done = threading.Thread(target=reader.abandon)
    done.start()
    done.join(timeout=10)
    assert not done.is_alive()
    assert reader.result().lines == 0


def test_the_machine_state_is_the_share_of_each_kind_of_cpu_time() -> None:
    # user nice system idle iowait irq softirq steal
    start = machine.Reading((1.0, 0.5, 0.25), (100, 0, 50, 800, 10, 0, 0, 5))
    end = machine.Reading((2.0, 1.0, 0.5), (160, 0, 70, 800, 20, 0, 0, 15))
    state = machine.between(start, end)
    assert (state.busy_pct, state.iowait_pct, state.steal_pct) == (80.0, 10.0, 10.0)
    assert state.describe("aqua") == (
        "Machine during aqua: load 1.00/0.50/0.25 -> 2.00/1.00/0.50, steal 10.0%, "
        "iowait 10.0%, busy 80%"
    )
    assert machine.between(end, end).busy_pct == 0.0


def test_the_machine_is_read_from_proc_files(tmp_path: Path) -> None:
    stat, loadavg = tmp_path / "stat", tmp_path / "loadavg"
    stat.write_text("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    loadavg.write_text("0.52 0.58 0.59 1/467 12345\n")
    assert machine.read(stat, loadavg) == machine.Reading(
        (0.52, 0.58, 0.59), (1, 2, 3, 4, 5, 6, 7, 8)
    )
    missing = machine.read(tmp_path / "none", loadavg)
    assert missing.load == (0.0, 0.0, 0.0)


def test_the_disk_estimate_of_invoice_items_only_fits_scale_1000_in_tens_of_gb() -> None:
    whole = disk_need.estimate({50: True, 1000: False})
    only = disk_need.estimate({50: True, 1000: False}, invoice_items_only=frozenset({1000.0}))
    duckdb_only = dict(only.parts)["DuckDB file at scale 1000"]
    assert duckdb_only == (
        disk_need.DUCKDB_FIXED_BYTES + 1000 * disk_need.INVOICE_ITEM_DUCKDB_BYTES_PER_SCALE_UNIT
    )
    assert only.total < 30 * disk_need.GB < 100 * disk_need.GB < whole.total
