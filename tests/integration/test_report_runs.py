"""Report runs through the real service, runner, DuckDB engine, processing and result store.

Runs are checked against the billing data itself (DuckDB queries outside the server); phases are
pinned with ``aquarium.testing.SteppingRunner``; cancels during a statement use an object made
"endless", which can only give its worker back when the statement is interrupted.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal

import pytest

from aquarium import testing
from aquarium.domain import errors
from aquarium.domain.reporting_errors import ReportingError
from aquarium.engines import base
from aquarium.services import report_runs as service
from tests.integration import report_support as rs
from tests.integration import test_runner_support as support
from tests.integration.report_support import ADMIN, BOTH, DETAIL, NINA, RS
from tests.integration.test_runner_support import ServerFactory, wait_for

make_server = support.make_server
billing_file = support.billing_file
slow_items = functools.partial(support.make_slow, table="InvoiceItem")


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", "")) if text else Decimal(0)


def test_a_detail_run_moves_through_its_phases_and_its_results_match_the_data(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1)
    report_id = rs.save_report(h, DETAIL, name="Invoice items")
    run_id = rs.start_run(h, report_id, "Detail")

    done = rs.wait_run(h, run_id)

    assert done["status"] == "COMPLETED", done
    assert (done["reportId"], done["reportType"], done["reportName"]) == (
        report_id,
        "Detail",
        "Invoice items",
    )
    assert done["createdByUserProfile"] == {"username": "demo"}
    items = rs.scalar(h, 'select count(*) from {s}."InvoiceItem" where "_DeletedDate" is null')
    assert done["rowCount"] == items
    definition = json.loads(done["reportDefinition"])
    assert definition["viewFields"]["selectedFields"] == DETAIL["selectedFields"]
    rows = rs.all_rows(h, run_id)
    assert len(rows) == items
    assert list(rows[0]) == [
        "Invoice.InvoiceNumber",
        "InvoiceItem.ChargeName",
        "InvoiceItem.ChargeAmount",
        "Invoice.InvoiceDate",
        "Account.Name",
    ]
    # Sorted as defined: invoice number ascending, then amount descending within an invoice.
    keys = [(r["Invoice.InvoiceNumber"], -_number(r["InvoiceItem.ChargeAmount"])) for r in rows]
    assert keys == sorted(keys)
    total = rs.scalar(
        h, 'select sum("ChargeAmount") from {s}."InvoiceItem" where "_DeletedDate" is null'
    )
    assert sum(_number(r["InvoiceItem.ChargeAmount"]) for r in rows) == total
    # The export is the same rows, UTF-16 and tab-separated, under Object: Label headers.
    lines = rs.export_text(h, run_id).split("\n")
    assert lines[0].split("\t") == [
        "Invoice: Invoice Number",
        "Invoice Item: Charge Name",
        "Invoice Item: Charge Amount",
        "Invoice: Invoice Date",
        "Account: Name",
    ]
    assert lines[1 : len(rows) + 1] == ["\t".join(r.values()) for r in rows]
    assert lines[len(rows) + 1 :] == [""]
    # Its files are published and recorded; nothing temporary is left.
    recorded = h.files_of(run_id)
    assert len(recorded) == 2
    assert h.partial_files() == []


def test_a_summary_run_groups_by_month_and_currency_like_the_equivalent_group_by(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1)
    report_id = rs.save_report(h, BOTH)
    run_id = rs.start_run(h, report_id, "Summary")

    done = rs.wait_run(h, run_id)

    assert done["status"] == "COMPLETED", done
    groups = rs.scalar(
        h,
        "select count(*) from (select distinct date_trunc('month', i.\"InvoiceDate\"), "
        'a."Currency" from {s}."InvoiceItem" ii '
        'left join {s}."Invoice" i on i."Id" = ii."InvoiceId" '
        'left join {s}."Account" a on a."Id" = ii."AccountId" where ii."_DeletedDate" is null)',
    )
    rows = rs.all_rows(h, run_id)
    assert done["rowCount"] == len(rows) == groups
    assert list(rows[0]) == [
        "Invoice.InvoiceDate",
        "Account.Currency",
        "SUM(InvoiceItem.ChargeAmount)",
    ]
    total = rs.scalar(
        h, 'select sum("ChargeAmount") from {s}."InvoiceItem" where "_DeletedDate" is null'
    )
    summed = sum(_number(r["SUM(InvoiceItem.ChargeAmount)"]) for r in rows)
    assert abs(summed - total) < Decimal("0.001") * len(rows)
    first = rows[0]["Invoice.InvoiceDate"]
    assert len(first.split()) == 2 and first.split()[1].isdigit()  # "Sep 2021"
    # Unpivoted export: one line per group; pivoted: one line per month, a block per currency.
    unpivoted = rs.export_text(h, run_id).rstrip("\n").split("\n")
    assert len(unpivoted) == len(rows) + 1
    crosstab = rs.export_text(h, run_id, "true").rstrip("\n").split("\n")
    months = {r["Invoice.InvoiceDate"] for r in rows}
    currencies = {r["Account.Currency"] for r in rows}
    assert len(crosstab) == len(months) + 2
    assert crosstab[0].split("\t")[0] == "Account: Currency"
    assert set(crosstab[0].split("\t")[1:]) == currencies


def test_a_runtime_filter_replaces_the_saved_filters(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    saved = DETAIL | {
        "detailFilters": [
            {"field": {"id": "InvoiceItem.ChargeAmount"}, "operator": {"value": ">"}, "value": 0}
        ]
    }
    report_id = rs.save_report(h, saved)
    override = [
        {
            "logicalOperator": {"value": "OR", "label": "OPERATOR_OR", "name": "or"},
            "filterClauses": [
                {
                    "field": {"name": "ChargeAmount", "id": "InvoiceItem.ChargeAmount"},
                    "value": "1000",
                    "operator": {"name": "is greater than", "value": ">"},
                },
                {
                    "field": {"name": "Name", "id": "Account.Name", "type": "text"},
                    "value": "#00001",
                    "operator": {"name": "contains", "value": "contains"},
                },
            ],
        }
    ]
    run_id = rs.start_run(h, report_id, body=override)
    done = rs.wait_run(h, run_id)
    expected = rs.scalar(
        h,
        'select count(*) from {s}."InvoiceItem" ii left join {s}."Account" a on a."Id" = '
        'ii."AccountId" where ii."_DeletedDate" is null and (ii."ChargeAmount" > 1000 or '
        "a.\"Name\" ilike '%#00001%')",
    )
    assert done["rowCount"] == expected > 0


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ([{"field": {"id": "Account.Nmae"}, "operator": {"value": "="}, "value": "x"}], "Nmae"),
        ([{"field": {"id": "Account.Name"}, "operator": {"value": "~"}, "value": "x"}], "operator"),
        ({"filters": "nope"}, "array"),
        ("text", "array of filter groups"),
        (
            [
                {
                    "field": {"id": "InvoiceItem.ChargeAmount"},
                    "operator": {"value": ">"},
                    "value": "x",
                }
            ],
            "number",
        ),
    ],
)
def test_bad_runtime_filters_are_refused_before_a_run_exists(
    make_server: ServerFactory, override: object, reason: str
) -> None:
    h = make_server(workers=1, start=False)
    report_id = rs.save_report(h, DETAIL)
    with pytest.raises(ReportingError) as refused:
        rs.start_run(h, report_id, body=override)
    assert rs.status_of(refused.value) == 400
    assert reason in refused.value.message


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (None, "Required String parameter 'viewType' is not present."),
        ("Pivot", "The viewType Pivot is not valid: use Detail or Summary."),
    ],
)
def test_a_missing_or_wrong_view_type_is_refused(
    make_server: ServerFactory, view: str | None, message: str
) -> None:
    h = make_server(workers=1, start=False)
    report_id = rs.save_report(h, DETAIL)
    with pytest.raises(ReportingError) as refused:
        rs.runs(h).run(ADMIN, report_id, view, None)
    assert (rs.status_of(refused.value), refused.value.message) == (400, message)


def test_an_unknown_report_cannot_be_run(make_server: ServerFactory) -> None:
    h = make_server(workers=1, start=False)
    with pytest.raises(ReportingError) as refused:
        rs.start_run(h, "0" * 32)
    assert rs.status_of(refused.value) == 404
    assert (
        refused.value.message == f"An error occurred. The report with ID {'0' * 32} does not exist."
    )


def test_a_definition_that_cannot_serve_the_view_makes_the_run_invalid(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1)
    report_id = rs.save_report(h, DETAIL)
    run_id = rs.start_run(h, report_id, "Summary")
    done = rs.wait_run(h, run_id)
    assert done["status"] == "INVALID"
    assert done["errorMessage"] == "A Summary run needs at least one value field in valFields."
    with pytest.raises(ReportingError) as refused:
        rs.runs(h).data(ADMIN, run_id, "1", "10")
    assert "INVALID" in refused.value.message


def test_an_engine_failure_ends_the_run_in_error_with_the_reason(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1)
    support.drop_served_table(h, "Invoice")
    report_id = rs.save_report(h, DETAIL)
    done = rs.wait_run(h, rs.start_run(h, report_id))
    assert done["status"] == "ERROR"
    # Zuora's words and ours; DuckDB's ("Catalog Error: ...") only in the log.
    assert done["errorMessage"] == errors.QueryFailed(base.ENGINE_FAILED).describe()
    assert h.files_of(done["id"]) == []
    assert h.partial_files() == []


def test_a_summary_run_past_its_time_limit_ends_in_error(make_server: ServerFactory) -> None:
    h = make_server(workers=1, prepare=slow_items, limits={"summary_time_limit_s": 1})
    report_id = rs.save_report(h, BOTH)
    done = rs.wait_run(h, rs.start_run(h, report_id, "Summary"))
    assert done["status"] == "ERROR"
    assert done["errorMessage"] == (
        "The report run exceeded its maximum processing time of 1 seconds."
    )


def test_cancel_during_querydata_interrupts_the_statement(make_server: ServerFactory) -> None:
    h = make_server(workers=1, prepare=slow_items)
    report_id = rs.save_report(h, BOTH)
    run_id = rs.start_run(h, report_id, "Summary")
    rs.wait_run(h, run_id, RS.QUERYDATA)

    assert rs.runs(h).cancel(ADMIN, run_id) == service.HAS_BEEN_CANCELED

    assert rs.runs(h).get(ADMIN, run_id)["status"] == "CANCELLED"
    assert rs.runs(h).cancel(ADMIN, run_id) == service.WAS_CANCELED
    # The only worker is free again: the endless statement was interrupted.
    other = rs.save_report(h, {"selectedFields": [{"id": "Account.Name"}]}, ds="Account")
    assert rs.wait_run(h, rs.start_run(h, other))["status"] == "COMPLETED"
    assert h.files_of(run_id) == []
    # DuckDB may close the interrupted COPY's file after the run discarded it; the runner's
    # pulse removes what no executing run owns.
    wait_for(lambda: not h.partial_files(), "the cancelled run's partial file to go")


def test_runs_beyond_the_tenant_limit_wait_in_started(make_server: ServerFactory) -> None:
    h = make_server(workers=1, prepare=slow_items, limits={"max_report_runs": 1})
    report_id = rs.save_report(h, BOTH)
    first = rs.start_run(h, report_id, "Summary")
    rs.wait_run(h, first, RS.QUERYDATA)
    second = rs.start_run(h, report_id, "Summary")
    # What a free worker would do now: the tenant is at its limit, so nothing is claimable.
    assert h.srv.runner is not None
    assert h.srv.runner._claim() is None
    assert rs.runs(h).get(ADMIN, second)["status"] == "STARTED"
    rs.runs(h).cancel(ADMIN, first)
    assert rs.wait_run(h, second, RS.QUERYDATA)["status"] == "QUERYDATA"
    rs.runs(h).cancel(ADMIN, second)


# -- pinned phases (the stepping runner) -------------------------------------------------


def test_a_stepped_run_pauses_in_each_phase(make_server: ServerFactory) -> None:
    s = rs.stepped(make_server)
    report_id = rs.save_report(s.h, DETAIL)
    run_id = rs.start_run(s.h, report_id)
    assert s.runner.wakes == 1
    assert rs.runs(s.h).get(ADMIN, run_id)["status"] == "STARTED"
    assert s.step(run_id) == RS.QUERYDATA
    assert s.h.files_of(run_id) == []
    assert s.step(run_id) == RS.PROCESSINGDATA
    # The rows are counted, but they are no result until the run has COMPLETED.
    assert "rowCount" not in rs.runs(s.h).get(ADMIN, run_id)
    assert s.step(run_id) == RS.COMPLETED
    assert rs.runs(s.h).get(ADMIN, run_id)["rowCount"] > 0
    assert len(s.h.files_of(run_id)) == 2


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_cancel_in_each_phase_stops_the_run_and_leaves_no_files(
    make_server: ServerFactory, steps: int
) -> None:
    s = rs.stepped(make_server)
    report_id = rs.save_report(s.h, BOTH)
    run_id = rs.start_run(s.h, report_id, "Summary")
    for _ in range(steps):
        s.step(run_id)
    phase = rs.runs(s.h).get(ADMIN, run_id)["status"]
    assert phase == ["STARTED", "QUERYDATA", "PROCESSINGDATA"][steps]

    assert rs.runs(s.h).cancel(ADMIN, run_id) == service.HAS_BEEN_CANCELED

    assert s.runner.cancelled == [run_id]
    # Stepping on finds the run cancelled: it stops without results.
    assert s.step(run_id) == RS.CANCELLED
    assert s.step(run_id) == RS.CANCELLED
    document = rs.runs(s.h).get(ADMIN, run_id)
    # A cancelled run never completed and has no result: no completedOn, no rowCount (also
    # when it was cancelled in PROCESSINGDATA, with its rows counted), no errorMessage.
    assert document["status"] == "CANCELLED"
    assert not {"completedOn", "rowCount", "errorMessage"} & set(document), document
    listed = rs.runs(s.h).list_runs(
        ADMIN, [], {"columns": ["completedOn", "rowCount", "errorMessage", "dsName"]}
    )
    [element] = [e for e in listed["elements"] if e["id"] == run_id]
    assert element == {"id": run_id, "completedOn": None, "rowCount": None,
                       "errorMessage": None, "dsName": "InvoiceItem"}  # fmt: skip
    assert rs.runs(s.h).cancel(ADMIN, run_id) == service.WAS_CANCELED
    assert s.h.files_of(run_id) == []
    assert s.h.disk_files() == set()
    assert s.h.partial_files() == []


@pytest.mark.parametrize("final", ["COMPLETED", "INVALID"])
def test_finished_runs_cannot_be_cancelled(make_server: ServerFactory, final: str) -> None:
    s = rs.stepped(make_server)
    report_id = rs.save_report(s.h, DETAIL)
    run_id = rs.start_run(s.h, report_id, "Detail" if final == "COMPLETED" else "Summary")
    while s.step(run_id) not in {RS.COMPLETED, RS.INVALID}:
        pass
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).cancel(ADMIN, run_id)
    assert rs.status_of(refused.value) == 400
    assert refused.value.message == (
        f"The report run {run_id} is already {final} and cannot be canceled."
    )
    assert rs.runs(s.h).get(ADMIN, run_id)["status"] == final


@pytest.mark.parametrize("run_id", ["0" * 32, "None", "not-an-id"])
def test_unknown_runs_do_not_exist(make_server: ServerFactory, run_id: str) -> None:
    h = make_server(workers=1, start=False)
    message = f"The report run with id {run_id} does not exist."
    for call in (
        lambda: rs.runs(h).cancel(ADMIN, run_id),
        lambda: rs.runs(h).get(ADMIN, run_id),
        lambda: rs.runs(h).data(ADMIN, run_id, "1", "10"),
    ):
        with pytest.raises(ReportingError) as refused:
            call()
        assert (rs.status_of(refused.value), refused.value.message) == (404, message)
    with pytest.raises(ReportingError) as refused:
        rs.runs(h).export(ADMIN, run_id, None)
    assert (rs.status_of(refused.value), refused.value.message) == (404, service.EXPORT_FAILED)


def test_only_the_starter_or_an_admin_may_cancel(make_server: ServerFactory) -> None:
    s = rs.stepped(make_server)
    report_id = rs.save_report(s.h, DETAIL)
    mine = rs.start_run(s.h, report_id)
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).cancel(NINA, mine)
    assert rs.status_of(refused.value) == 403
    assert rs.runs(s.h).get(ADMIN, mine)["status"] == "STARTED"
    hers = rs.start_run(s.h, report_id, who=NINA)
    assert rs.runs(s.h).cancel(NINA, hers) == service.HAS_BEEN_CANCELED
    assert rs.runs(s.h).cancel(ADMIN, mine) == service.HAS_BEEN_CANCELED


def test_results_are_refused_until_completed_and_after_they_expire(
    make_server: ServerFactory,
) -> None:
    s = rs.stepped(make_server)
    report_id = rs.save_report(s.h, DETAIL)
    run_id = rs.start_run(s.h, report_id)
    s.step(run_id)
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).data(ADMIN, run_id, "1", "10")
    assert refused.value.message == (
        f"The report run {run_id} is QUERYDATA; its results exist once it is COMPLETED."
    )
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).export(ADMIN, run_id, None)
    assert refused.value.message.startswith(service.EXPORT_FAILED)
    s.step(run_id)
    s.step(run_id)
    assert rs.runs(s.h).data(ADMIN, run_id, "1", "2")["size"] == 2
    for record in s.h.files_of(run_id):
        path = s.h.srv.results.local_path(record.path)
        assert path is not None
        path.unlink()
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).data(ADMIN, run_id, "1", "2")
    assert "no longer kept" in refused.value.message


@pytest.mark.parametrize(
    ("offset", "size", "message"),
    [
        (None, "10", "Required int parameter 'offset' is not present."),
        ("1", None, "Required int parameter 'pageSize' is not present."),
        ("x", "10", "offset must be an integer, not 'x'."),
        ("-1", "10", "offset must be at least 0; it is -1."),
        ("1", "0", "pageSize must be between 1 and 10,000; it is 0."),
        ("1", "10001", "pageSize must be between 1 and 10,000; it is 10001."),
        # int() took these (the fuzz tier's finding); Spring refuses them.
        (" 1", "10", "offset must be an integer, not ' 1'."),
        ("1_0", "10", "offset must be an integer, not '1_0'."),
        ("\u0661", "10", "offset must be an integer, not '\u0661'."),
        ("1", "9" * 19, f"pageSize must be an integer, not '{'9' * 19}'."),
    ],
)
def test_bad_report_data_paging_is_refused(
    make_server: ServerFactory, offset: str | None, size: str | None, message: str
) -> None:
    s = rs.stepped(make_server)
    run_id = rs.start_run(s.h, rs.save_report(s.h, DETAIL))
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).data(ADMIN, run_id, offset, size)
    assert (rs.status_of(refused.value), refused.value.message) == (400, message)


def test_report_data_pages_follow_the_documented_offsets(make_server: ServerFactory) -> None:
    s = rs.stepped(make_server)
    run_id = rs.start_run(s.h, rs.save_report(s.h, DETAIL))
    for _ in range(3):
        s.step(run_id)
    service_ = rs.runs(s.h)
    everything = rs.all_rows(s.h, run_id)
    first = service_.data(ADMIN, run_id, "1", "100")
    assert (first["size"], first["offset"], first["total"]) == (100, 1, len(everything))
    assert first["page"] == everything[:100]
    assert service_.data(ADMIN, run_id, "0", "100")["page"] == everything[:100]
    assert service_.data(ADMIN, run_id, "101", "100")["page"] == everything[100:200]
    beyond = service_.data(ADMIN, run_id, str(len(everything) + 5), "100")
    assert beyond["page"] == [] and beyond["total"] == len(everything)


def test_last_completed_run_is_the_callers_own(make_server: ServerFactory) -> None:
    s = rs.stepped(make_server)
    report_id = rs.save_report(s.h, DETAIL)
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).latest(ADMIN, report_id)
    assert refused.value.message == service.NOT_RUN_YET
    older = rs.start_run(s.h, report_id)
    newer = rs.start_run(s.h, report_id)
    pending = rs.start_run(s.h, report_id)
    theirs = rs.start_run(s.h, report_id, who=NINA)
    for run_id in (older, newer, theirs):
        while s.step(run_id) != RS.COMPLETED:
            pass
    found = rs.runs(s.h).latest(ADMIN, report_id)
    assert found["id"] == newer and found["status"] == "COMPLETED"
    assert rs.runs(s.h).latest(NINA, report_id)["id"] == theirs
    assert rs.runs(s.h).get(ADMIN, pending)["status"] == "STARTED"
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).latest(ADMIN, "f" * 32)
    assert rs.status_of(refused.value) == 404


# -- Idempotency-Key -----------------------------------------------------------------------


def test_an_idempotency_key_answers_the_run_it_started(make_server: ServerFactory) -> None:
    """Two Run a Report requests with one key start one run [DEV-RUN]; the key is bound to the
    report and view for 24 hours (Zuora's idempotent requests), whatever the body says."""
    clock = testing.FakeClock()
    s = rs.stepped(make_server, clock=clock)
    service_ = rs.runs(s.h)
    report_id = rs.save_report(s.h, BOTH)
    first = service_.run(ADMIN, report_id, "Summary", None, "key-1")
    again = service_.run(ADMIN, report_id, "summary", [], "key-1")
    assert again == first
    assert s.runner.wakes == 1
    listed = service_.list_runs(ADMIN, [], {})
    assert [e["id"] for e in listed["elements"]] == [first["reportRunId"]]
    other = service_.run(ADMIN, report_id, "Summary", None, "key-2")
    assert other != first
    for view, report in (("Detail", report_id), ("Summary", rs.save_report(s.h, BOTH))):
        with pytest.raises(ReportingError) as refused:
            service_.run(ADMIN, report, view, None, "key-1")
        assert rs.status_of(refused.value) == 422
        assert "Idempotency-Key was used" in refused.value.message
    with pytest.raises(ReportingError) as too_long:
        service_.run(ADMIN, report_id, "Summary", None, "k" * 256)
    assert rs.status_of(too_long.value) == 400
    # A refused request records nothing: its key is free for the next one.
    with pytest.raises(ReportingError):
        service_.run(ADMIN, "0" * 32, "Summary", None, "key-3")
    assert service_.run(ADMIN, report_id, "Summary", None, "key-3") != first
    clock.advance(hours=24, seconds=1)
    assert service_.run(ADMIN, report_id, "Summary", None, "key-1") != first
