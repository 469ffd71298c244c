"""The report run list (``POST /reportruns``) over a few hundred runs in every status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from aquarium.domain import tenancy
from aquarium.domain.reporting_errors import ReportingError
from aquarium.services import report_run_list
from tests.integration import report_support as rs
from tests.integration import test_runner_support as support
from tests.integration.report_support import ADMIN, NINA, RS

billing_file = support.billing_file
PRODUCTS = {"selectedFields": [{"id": "Product.Name"}, {"id": "Product.SKU"}]}
STRANGER = tenancy.Principal(tenant="other", name="olga", admin=True, how=tenancy.AuthMethod.BASIC)


@pytest.fixture(scope="module")
def listed(
    billing_file: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[rs.Stepped, dict[str, str]]]:
    """300 runs: 30 COMPLETED, 10 INVALID, 60 CANCELLED (NINA started 20 of them), 200 STARTED."""
    import shutil

    from aquarium import server
    from aquarium.engines import naming
    from aquarium.settings import Settings

    data_dir = tmp_path_factory.mktemp("list") / "data"
    data_dir.mkdir()
    shutil.copyfile(billing_file, data_dir / naming.DUCKDB_FILE)
    srv = server.build(Settings(data_dir=data_dir, workers=1))
    h = support.Harness(data_dir, srv)

    def make(**kwargs: Any) -> support.Harness:
        return h

    s = rs.stepped(make)
    report_id = rs.save_report(s.h, PRODUCTS, ds="Product", name="Products")
    status_of: dict[str, str] = {}
    for index in range(300):
        who = NINA if index % 10 == 3 and index % 30 != 3 else ADMIN
        view = "Summary" if index % 30 == 1 else "Detail"
        run_id = rs.start_run(s.h, report_id, view, who=who)
        if index % 10 == 0 or view == "Summary":
            while s.step(run_id) not in {RS.COMPLETED, RS.INVALID}:
                pass
        elif index % 10 in {2, 3}:
            rs.runs(s.h).cancel(ADMIN, run_id)
        status_of[run_id] = rs.runs(s.h).get(ADMIN, run_id)["status"]
    yield s, status_of
    h.stop()


def _list(s: rs.Stepped, statuses: list[str] | None = None, **body: Any) -> dict[str, Any]:
    found: dict[str, Any] = rs.runs(s.h).list_runs(ADMIN, statuses or [], body)
    return found


def test_the_fixture_has_runs_in_every_status(listed: tuple[rs.Stepped, dict[str, str]]) -> None:
    _, status_of = listed
    assert Counter(status_of.values()) == {
        "STARTED": 200,
        "CANCELLED": 60,
        "COMPLETED": 30,
        "INVALID": 10,
    }


def test_the_documented_in_progress_query(listed: tuple[rs.Stepped, dict[str, str]]) -> None:
    s, status_of = listed
    # The body of the Cancel page's example, its blank column included.
    found = _list(
        s,
        ["STARTED", "QUERYDATA", "PROCESSINGDATA"],
        columns=[
            "reportId",
            "startedOn",
            "reportType",
            "createdByUserProfile.username",
            "status",
            " ",
        ],
        pagination={"currentPage": 1, "pageSize": 250},
        sort=[{"field": "startedOn", "direction": "desc", "priority": 0}],
    )
    assert (found["totalCount"], found["totalPage"], found["currentPage"], found["pageSize"]) == (
        200,
        1,
        1,
        250,
    )
    elements = found["elements"]
    assert {e["id"] for e in elements} == {i for i, st in status_of.items() if st == "STARTED"}
    assert set(elements[0]) == {
        "id",
        "reportId",
        "startedOn",
        "reportType",
        "createdByUserProfile",
        "status",
    }
    assert elements[0]["createdByUserProfile"]["username"] in {"demo", "nina"}
    started = [e["startedOn"] for e in elements]
    assert started == sorted(started, reverse=True)


@pytest.mark.parametrize("spelling", ["CANCELLED", "CANCELED", "cancelled"])
def test_status_filters_accept_both_spellings(
    listed: tuple[rs.Stepped, dict[str, str]], spelling: str
) -> None:
    s, _ = listed
    assert _list(s, [spelling])["totalCount"] == 60


def test_several_statuses_and_no_status(listed: tuple[rs.Stepped, dict[str, str]]) -> None:
    s, _ = listed
    assert _list(s, ["COMPLETED", "INVALID"])["totalCount"] == 40
    assert _list(s)["totalCount"] == 300


def test_pages_cover_every_run_once_in_sort_order(
    listed: tuple[rs.Stepped, dict[str, str]],
) -> None:
    s, _ = listed
    seen: list[dict[str, Any]] = []
    sort = [
        {"field": "status", "direction": "asc", "priority": 0},
        {"field": "startedOn", "direction": "asc", "priority": 1},
    ]
    first = _list(
        s, pagination={"currentPage": 1, "pageSize": 7}, sort=sort, columns=["status", "startedOn"]
    )
    assert first["totalPage"] == 43  # ceil(300 / 7)
    for page in range(1, 44):
        found = _list(
            s,
            pagination={"currentPage": page, "pageSize": 7},
            sort=sort,
            columns=["status", "startedOn"],
        )
        assert len(found["elements"]) == (7 if page < 43 else 300 - 42 * 7)
        seen += found["elements"]
    assert [e["id"] for e in seen] and len({e["id"] for e in seen}) == 300
    keys = [(e["status"], e["startedOn"]) for e in seen]
    assert keys == sorted(keys)
    assert _list(s, pagination={"currentPage": 44, "pageSize": 7})["elements"] == []


def test_filters_narrow_the_list(listed: tuple[rs.Stepped, dict[str, str]]) -> None:
    s, _ = listed
    summaries = _list(s, filters=[{"field": "reportType", "operator": "=", "value": "Summary"}])
    assert summaries["totalCount"] == 10
    named = _list(s, filters=[{"field": "reportName", "operator": "contains", "value": "PROD"}])
    assert named["totalCount"] == 300
    counted = _list(s, filters=[{"field": "rowCount", "operator": ">", "value": 0}])
    assert counted["totalCount"] == 30
    listed_in = _list(
        s, filters=[{"field": "status", "operator": "in", "value": ["INVALID", "CANCELED"]}]
    )
    assert listed_in["totalCount"] == 70


def test_columns_filters_and_sorts_read_the_values_the_answer_shows(
    listed: tuple[rs.Stepped, dict[str, str]],
) -> None:
    """Every column shows what Get Report Run shows (null where it has nothing), and a filter
    on a column matches exactly the runs whose shown value matches: dsName is never null,
    and what a run hides (a cancelled run's end time, rows counted before a cancel, the cancel's
    message) neither matches a filter nor orders a sort."""
    s, status_of = listed
    columns = [c for c in report_run_list.LIST_COLUMNS if c != "id"]
    shown = _list(s, columns=columns, pagination={"pageSize": 1000})["elements"]
    assert len(shown) == 300
    by_status: dict[str, dict[str, Any]] = {}
    for element in shown:
        by_status.setdefault(status_of[element["id"]], element)
    for status, element in by_status.items():
        document = rs.runs(s.h).get(ADMIN, element["id"])
        for column in columns:
            if column == "createdByUserProfile.username":
                assert element["createdByUserProfile"] == document["createdByUserProfile"]
                continue
            expected = document.get(column, "Product" if column == "dsName" else None)
            assert element[column] == expected, (status, column)
        assert element["dsName"] == "Product"
        assert (element["completedOn"] is not None) == (status in {"COMPLETED", "INVALID"})
        assert (element["rowCount"] is not None) == (status == "COMPLETED")
        assert (element["errorMessage"] is not None) == (status == "INVALID"), status
    for column in ("dsName", "completedOn", "startedOn", "rowCount", "errorMessage", "reportType"):
        values = Counter(
            e[column] for e in shown if e[column] is not None
        )  # what the answer shows, run by run
        for value, count in list(values.items())[:3]:
            found = _list(s, filters=[{"field": column, "operator": "=", "value": value}])
            assert found["totalCount"] == count, (column, value)
    hidden = _list(
        s, filters=[{"field": "errorMessage", "operator": "contains", "value": "cancel"}]
    )
    assert hidden["totalCount"] == 0
    ordered = _list(
        s,
        statuses=["CANCELLED", "COMPLETED"],
        columns=["completedOn", "status"],
        sort=[{"field": "completedOn", "direction": "desc"}],
        pagination={"pageSize": 1000},
    )["elements"]
    stamps = [e["completedOn"] for e in ordered if e["completedOn"] is not None]
    assert stamps == sorted(stamps, reverse=True)
    assert {e["status"] for e in ordered if e["completedOn"] is None} == {"CANCELLED"}


def test_a_user_who_is_not_an_admin_lists_only_their_runs(
    listed: tuple[rs.Stepped, dict[str, str]],
) -> None:
    s, _ = listed
    found = rs.runs(s.h).list_runs(NINA, [], {"columns": ["createdByUserProfile.username"]})
    assert found["totalCount"] == 20
    assert {e["createdByUserProfile"]["username"] for e in found["elements"]} == {"nina"}


def test_another_tenant_sees_none_of_the_runs(listed: tuple[rs.Stepped, dict[str, str]]) -> None:
    s, status_of = listed
    from tests import tenants_setup

    tenants_setup.add_tenant(s.h.srv, "other", time_zone="UTC")
    assert rs.runs(s.h).list_runs(STRANGER, [], {})["totalCount"] == 0
    run_id = next(iter(status_of))
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).get(STRANGER, run_id)
    assert rs.status_of(refused.value) == 404
    with pytest.raises(ReportingError):
        rs.runs(s.h).cancel(STRANGER, run_id)
    assert rs.runs(s.h).get(ADMIN, run_id)["status"] == status_of[run_id]


@pytest.mark.parametrize(
    ("statuses", "body", "message"),
    [
        (["RUNNING"], {}, "Unknown report run status 'RUNNING'"),
        ([], {"columns": ["reportId", "colour"]}, "Unknown column 'colour'"),
        ([], {"columns": "reportId"}, "columns must be an array"),
        ([], {"sort": [{"field": "size"}]}, "Unknown sort field 'size'"),
        ([], {"sort": [{"field": "status", "direction": "up"}]}, "sort direction 'up'"),
        ([], {"sort": {"field": "status"}}, "sort must be an array"),
        ([], {"pagination": {"currentPage": 0}}, "pagination.currentPage must be between 1"),
        ([], {"pagination": {"pageSize": 1001}}, "pagination.pageSize must be between 1 and 1,000"),
        ([], {"pagination": {"pageSize": "many"}}, "pagination.pageSize must be an integer"),
        ([], {"pagination": 5}, "pagination must be an object"),
        # Found by the fuzz tier: a falsy member of the wrong type was taken as absent.
        ([], {"pagination": False}, "pagination must be an object"),
        ([], {"pagination": []}, "pagination must be an object"),
        ([], {"pagination": 0}, "pagination must be an object"),
        (
            [],
            {"filters": [{"field": "startedOn", "operator": ">", "value": "yesterday"}]},
            "needs an ISO timestamp",
        ),
        ([], {"filters": [{"field": "status", "operator": "~", "value": "x"}]}, "operator '~'"),
        (
            [],
            {"filters": [{"field": "rowCount", "operator": "contains", "value": 1}]},
            "'contains' needs a text column",
        ),
        ([], [], "The request body must be a JSON object."),
    ],
)
def test_bad_list_requests_are_refused(
    listed: tuple[rs.Stepped, dict[str, str]], statuses: list[str], body: Any, message: str
) -> None:
    s, _ = listed
    with pytest.raises(ReportingError) as refused:
        rs.runs(s.h).list_runs(ADMIN, statuses, body)
    assert rs.status_of(refused.value) == 400
    assert message in refused.value.message
