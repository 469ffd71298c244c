"""The Objects page's ZOQL box: submit, bounded wait, first rows, errors (a fake AQuA service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from aquarium.domain import errors, tenancy
from aquarium.services import aqua, run_service, zoql_preview

CALLER = tenancy.Principal("demo", "demo", True, tenancy.AuthMethod.SESSION)
JOB_ID = "a" * 32
FILE_ID = "b" * 32


@dataclass
class FakeAqua:
    """Answers submit, get and file like AquaService for one job."""

    result: Path
    statuses: list[str] = field(default_factory=lambda: ["executing", "completed"])
    message: str = ""
    submitted: list[dict[str, Any]] = field(default_factory=list)

    def submit(self, caller: tenancy.Principal, body: dict[str, Any]) -> dict[str, Any]:
        query = body["queries"][0]["query"]
        if "Nmae" in query:
            position = errors.SourcePosition.locate(query, query.index("Nmae"))
            raise errors.ZoqlError("unknown field 'Nmae'", position).in_query("preview")
        self.submitted.append(body)
        return {"id": JOB_ID, "status": "submitted"}

    def get(self, caller: tenancy.Principal, job_id: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        batch = {"recordCount": 3, "fileId": FILE_ID, "message": self.message}
        return {"id": job_id, "status": status, "batches": [batch]}

    def file(self, caller: tenancy.Principal, file_id: str) -> run_service.FileDownload:
        assert file_id == FILE_ID
        return run_service.FileDownload(
            self.result, "text/csv", self.result.stat().st_size, "0" * 64
        )


def _preview(fake: FakeAqua, clock: list[float] | None = None) -> zoql_preview.ZoqlPreview:
    ticks = clock if clock is not None else [0.0]

    def sleep(seconds: float) -> None:
        ticks[0] += seconds

    return zoql_preview.ZoqlPreview(
        cast(aqua.AquaService, fake), sleep=sleep, monotonic=lambda: ticks[0]
    )


def test_a_good_statement_shows_its_first_rows(tmp_path: Path) -> None:
    result = tmp_path / "r.csv"
    result.write_text('Name,Note\nA,"two\nlines"\nB,x\nC,y\n', encoding="utf-8")
    fake = FakeAqua(result)
    shown = _preview(fake).run(CALLER, "select Name, Note from Account", rows=2)
    assert shown.error is None
    assert (shown.job_id, shown.status, shown.record_count) == (JOB_ID, "completed", 3)
    assert shown.header == ("Name", "Note")
    assert shown.rows == (("A", "two\nlines"), ("B", "x"))
    assert fake.submitted[0]["name"] == zoql_preview.JOB_NAME


def test_a_bad_statement_answers_zuoras_message_with_line_and_column(tmp_path: Path) -> None:
    shown = _preview(FakeAqua(tmp_path / "none")).run(CALLER, "select Id,\n  Nmae from Account")
    assert shown.job_id is None
    assert shown.error is not None
    assert shown.error.startswith(errors.SYNTAX_ERROR_MESSAGE)
    assert "line 2, column 3" in shown.error
    assert (shown.line, shown.column) == (2, 3)
    assert shown.excerpt == "  Nmae from Account\n  ^"


def test_a_failure_at_run_time_is_the_batchs_message(tmp_path: Path) -> None:
    fake = FakeAqua(tmp_path / "none", statuses=["aborted"], message="The query failed.")
    shown = _preview(fake).run(CALLER, "select Id from Account")
    assert (shown.status, shown.error, shown.rows) == ("aborted", "The query failed.", ())


def test_the_wait_is_bounded_and_the_job_left_running(tmp_path: Path) -> None:
    clock = [0.0]
    fake = FakeAqua(tmp_path / "none", statuses=["executing"])
    shown = _preview(fake, clock).run(CALLER, "select Id from Account")
    assert shown.status == "executing" and not shown.finished and shown.error is None
    assert zoql_preview.WAIT_S < clock[0] <= zoql_preview.WAIT_S + 2 * zoql_preview.POLL_S


def test_blank_and_oversized_statements_are_refused_before_submitting(tmp_path: Path) -> None:
    fake = FakeAqua(tmp_path / "none")
    assert _preview(fake).run(CALLER, "  \n").error == "Type a ZOQL statement first."
    too_long = "select Id from Account " + " " * zoql_preview.MAX_QUERY_CHARS
    assert "longer than" in (_preview(fake).run(CALLER, too_long).error or "")
    assert fake.submitted == []
