"""Fault rules (domain/faults.py) and the control service's state (services/control.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from aquarium.domain import errors, faults, tenancy, tenancy_errors
from aquarium.services import control
from aquarium.testing import FakeClock

RATE_LIMITED = {"type": "http", "status": 429}


def _rule(**members: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "match": {"endpoint": "GET /v1/batch-query/jobs/*"},
        "action": RATE_LIMITED,
        "count": 1,
    }
    found.update(members)
    return found


# -- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "method", "path", "expected"),
    [
        ("GET /v1/batch-query/jobs/*", "GET", "/v1/batch-query/jobs/" + "a" * 32, True),
        ("GET /v1/batch-query/jobs/*", "DELETE", "/v1/batch-query/jobs/" + "a" * 32, False),
        ("get /v1/batch-query/jobs/*", "GET", "/v1/batch-query/jobs/x", True),
        # one * stays within a segment; ** crosses them
        ("GET /v1/batch-query/jobs/*", "GET", "/v1/batch-query/jobs/partner/p/project/q", False),
        ("GET /v1/batch-query/**", "GET", "/v1/batch-query/jobs/partner/p/project/q", True),
        ("* /v1/files/*", "HEAD", "/v1/files/abc", True),
        ("GET /v1/files/*", "GET", "/v1/file/abc", False),
        # the pattern is normalised as the server normalises paths
        ("POST /v1/batch-query/", "POST", "/v1/batch-query", True),
        ("POST //v1//batch-query", "POST", "/v1/batch-query", True),
        # regex characters in a pattern are literal
        ("GET /query/jobs.json", "GET", "/query/jobsXjson", False),
        ("GET /query/jobs.json", "GET", "/query/jobs.json", True),
    ],
)
def test_endpoint_patterns(endpoint: str, method: str, path: str, expected: bool) -> None:
    assert faults.Endpoint.parse(endpoint).matches(method, path) is expected


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/v1/batch-query", faults.Kind.AQUA),
        ("/apps/api/batch-query/jobs/x", faults.Kind.AQUA),
        ("/v1/files/abc", faults.Kind.AQUA),
        ("/apps/api/file/abc", faults.Kind.AQUA),
        ("/api/rest/v1/reportruns/x", faults.Kind.REPORT),
        ("/reporting/api/rest/v1/reports", faults.Kind.REPORT),
        ("/query/jobs", faults.Kind.DATAQUERY),
        ("/v1/describe", None),
        ("/oauth/token", None),
        ("/v1/batch-queryx", None),
    ],
)
def test_kind_of_a_path(path: str, kind: faults.Kind | None) -> None:
    assert faults.kind_of(path) is kind


def test_a_kind_alone_or_with_an_endpoint_narrows_the_match() -> None:
    by_kind = faults.parse_rule(_rule(match={"kind": "dataquery"}))
    assert by_kind.match.matches("POST", "/query/jobs")
    assert not by_kind.match.matches("POST", "/v1/batch-query")
    both = faults.parse_rule(_rule(match={"kind": "report", "endpoint": "GET /**"}))
    assert both.match.matches("GET", "/api/rest/v1/reportruns/x")
    assert not both.match.matches("GET", "/v1/batch-query/jobs/x")


def test_a_rule_reads_back_as_its_document() -> None:
    given = _rule(
        match={"endpoint": "GET /v1/files/*", "kind": "aqua"},
        action={"type": "http", "status": 503, "message": "down", "retryAfterSeconds": 7},
        count=None,
        durationSeconds=2.5,
    )
    given.pop("count")
    assert faults.document(faults.parse_rule(given)) == given
    disconnect = _rule(action={"type": "disconnect"})
    assert faults.document(faults.parse_rule(disconnect)) == disconnect
    refuse = _rule(
        match={"endpoint": "POST /v1/batch-query", "kind": "aqua"},
        action={"type": "refuse", "errorCode": "90028", "message": "Too many jobs."},
    )
    assert faults.document(faults.parse_rule(refuse)) == refuse
    abort = _rule(
        match={"kind": "aqua"}, action={"type": "abort", "batch": 2, "message": "disk full"}
    )
    assert faults.document(faults.parse_rule(abort)) == abort
    runs = [
        _rule(
            match={"kind": "aqua", "partner": "p", "project": "q", "query": r"from\s+Account"},
            action={"type": "latency", "milliseconds": 250},
        ),
        _rule(
            match={"kind": "report"}, action={"type": "fail", "phase": "QUERYDATA", "message": "x"}
        ),
        _rule(match={"kind": "dataquery", "query": "select"}, action={"type": "hang"}),
    ]
    for run in runs:
        assert faults.document(faults.parse_rule(run)) == run


def _step(kind: str = "aqua", phase: str = "batch", **members: Any) -> faults.Step:
    return faults.Step(faults.Kind(kind), "r1", phase, **members)


@pytest.mark.parametrize(
    ("match", "step", "expected"),
    [
        ({"kind": "aqua"}, _step(batch=1), True),
        ({"kind": "report"}, _step(batch=1), False),
        ({"kind": "aqua", "partner": "p"}, _step(batch=1, partner="p", project="q"), True),
        ({"kind": "aqua", "partner": "p"}, _step(batch=1, partner="P"), False),  # as written
        ({"kind": "aqua", "partner": "p"}, _step(batch=1), False),  # a stateless job
        ({"kind": "aqua", "project": "q"}, _step(batch=1, partner="p", project="q"), True),
        ({"kind": "aqua", "project": "q"}, _step(batch=1, partner="p", project="x"), False),
        # the query is searched: a substring matches anywhere, case as written
        ({"kind": "aqua", "query": "Account"}, _step(texts=("select Id from Account",)), True),
        ({"kind": "aqua", "query": "account"}, _step(texts=("select Id from Account",)), False),
        ({"kind": "aqua", "query": "(?i)account"}, _step(texts=("select Id from Account",)), True),
        ({"kind": "aqua", "query": "^from"}, _step(texts=("select Id from Account",)), False),
        # a report run matches by its report's name or its data source
        (
            {"kind": "report", "query": "^Invoice$"},
            _step("report", "QUERYDATA", texts=("Monthly", "Invoice")),
            True,
        ),
        (
            {"kind": "report", "query": "Month"},
            _step("report", "QUERYDATA", texts=("Monthly", "Invoice")),
            True,
        ),
        (
            {"kind": "dataquery", "query": "Usage"},
            _step("dataquery", "in_progress", texts=("SELECT 1",)),
            False,
        ),
    ],
)
def test_a_run_rule_matches_by_kind_partner_project_and_query(
    match: dict[str, str], step: faults.Step, expected: bool
) -> None:
    action = {"type": "latency", "milliseconds": 1}
    rule = faults.parse_rule(_rule(match=match, action=action))
    assert rule.match.matches_step(step) is expected


def test_each_run_action_applies_to_its_own_steps() -> None:
    abort = faults.Abort(2, "x")
    assert faults.applies(abort, _step(batch=2)) and not faults.applies(abort, _step(batch=1))
    fail = faults.Fail("PROCESSINGDATA", "x")
    assert faults.applies(fail, _step("report", "PROCESSINGDATA"))
    assert not faults.applies(fail, _step("report", "QUERYDATA"))
    for every in (faults.Latency(5), faults.Hang()):
        assert faults.applies(every, _step(batch=7))
        assert faults.applies(every, _step("dataquery", "in_progress"))
    assert not faults.applies(faults.HttpFault(429), _step(batch=1))


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "the rule"),
        (_rule(extra=1), "extra"),
        ({"action": RATE_LIMITED, "count": 1}, "match"),
        (_rule(match={}), "match"),
        (_rule(match={"endpoint": "GET"}), "match.endpoint"),
        (_rule(match={"endpoint": "FETCH /v1/files/*"}), "match.endpoint"),
        (_rule(match={"endpoint": "GET v1/files"}), "match.endpoint"),
        (_rule(match={"endpoint": 5}), "match.endpoint"),
        (_rule(match={"kind": "soap"}), "match.kind"),
        (_rule(match={"kind": "aqua", "tenant": "x"}), "match.tenant"),
        (_rule(action=None), "action"),
        (_rule(action={"type": "explode"}), "action.type"),
        (_rule(action={"type": "http", "status": 404}), "action.status"),
        (_rule(action={"type": "http", "status": "429"}), "action.status"),
        (_rule(action={"type": "http", "status": True}), "action.status"),
        (_rule(action={"type": "http", "status": 429, "message": ""}), "action.message"),
        (_rule(action={"type": "http", "status": 500, "message": "x"}), "action.message"),
        (
            _rule(action={"type": "http", "status": 429, "retryAfterSeconds": -1}),
            "action.retryAfterSeconds",
        ),
        (_rule(action={"type": "disconnect", "status": 500}), "action.status"),
        (_rule(action={"type": "http", "status": 429, "errorCode": "1"}), "action.errorCode"),
        (
            _rule(match={"kind": "aqua"}, action={"type": "refuse", "message": "x"}),
            "action.errorCode",
        ),
        (
            _rule(match={"kind": "aqua"}, action={"type": "refuse", "errorCode": "90028"}),
            "action.message",
        ),
        (
            _rule(action={"type": "refuse", "errorCode": "90028", "message": "x"}),
            "match.kind",  # refuse answers in AQuA's body: AQuA rules only
        ),
        (_rule(match={"kind": "aqua"}, action={"type": "abort", "message": "x"}), "action.batch"),
        (
            _rule(match={"kind": "aqua"}, action={"type": "abort", "batch": 51, "message": "x"}),
            "action.batch",
        ),
        (_rule(match={"kind": "aqua"}, action={"type": "abort", "batch": 1}), "action.message"),
        (
            _rule(match={"kind": "report"}, action={"type": "abort", "batch": 1, "message": "x"}),
            "match.kind",
        ),
        (
            # an abort matches jobs, not requests
            _rule(
                match={"kind": "aqua", "endpoint": "POST /v1/batch-query"},
                action={"type": "abort", "batch": 1, "message": "x"},
            ),
            "match.endpoint",
        ),
        (_rule(match={"kind": "aqua", "query": "("}), "match.query"),  # a request action
        (_rule(match={"kind": "aqua", "partner": "p"}), "match.partner"),
        (
            _rule(match={"kind": "aqua", "query": "("}, action={"type": "hang"}),
            "match.query",  # not a regular expression
        ),
        (_rule(match={"kind": "aqua", "query": ""}, action={"type": "hang"}), "match.query"),
        (_rule(match={"kind": "aqua", "query": 5}, action={"type": "hang"}), "match.query"),
        (_rule(match={"kind": "aqua", "project": ""}, action={"type": "hang"}), "match.project"),
        (_rule(match={"kind": "report", "partner": "p"}, action={"type": "hang"}), "match.partner"),
        (_rule(match={"endpoint": "GET /query/**"}, action={"type": "hang"}), "match.endpoint"),
        (
            _rule(match={"kind": "aqua"}, action={"type": "hang", "milliseconds": 1}),
            "action.milliseconds",
        ),
        (_rule(match={"kind": "aqua"}, action={"type": "latency"}), "action.milliseconds"),
        (
            _rule(match={"kind": "aqua"}, action={"type": "latency", "milliseconds": 0}),
            "action.milliseconds",
        ),
        (
            _rule(match={"kind": "aqua"}, action={"type": "latency", "milliseconds": 600_001}),
            "action.milliseconds",
        ),
        (
            _rule(match={"kind": "aqua"}, action={"type": "latency", "milliseconds": 1.5}),
            "action.milliseconds",
        ),
        (
            _rule(
                match={"kind": "aqua"},
                action={"type": "fail", "phase": "QUERYDATA", "message": "x"},
            ),
            "match.kind",  # AQuA jobs fail by 'abort' at a batch
        ),
        (
            _rule(
                match={"kind": "report"},
                action={"type": "fail", "phase": "in_progress", "message": "x"},
            ),
            "action.phase",
        ),
        (
            _rule(
                match={"kind": "dataquery"},
                action={"type": "fail", "phase": "QUERYDATA", "message": "x"},
            ),
            "action.phase",
        ),
        (
            _rule(
                match={"kind": "report"},
                action={"type": "fail", "phase": "COMPLETED", "message": "x"},
            ),
            "action.phase",
        ),
        (
            _rule(match={"kind": "report"}, action={"type": "fail", "phase": "QUERYDATA"}),
            "action.message",
        ),
        (_rule(count=0), "count"),
        (_rule(count=1.5), "count"),
        (_rule(count=True), "count"),
        (_rule(durationSeconds=3), "count"),  # both
        ({"match": {"kind": "aqua"}, "action": RATE_LIMITED}, "count"),  # neither
        ({"match": {"kind": "aqua"}, "action": RATE_LIMITED, "durationSeconds": 0}, "duration"),
        (
            {"match": {"kind": "aqua"}, "action": RATE_LIMITED, "durationSeconds": "1"},
            "duration",
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(document: object, field: str) -> None:
    with pytest.raises(errors.InvalidControlRequest) as refused:
        faults.parse_rule(document)
    named = field if field == "the rule" else f"'{field}"
    assert refused.value.reason.startswith(named), refused.value.reason


# -- the service ---------------------------------------------------------------------------------


def _service() -> tuple[control.ControlService, FakeClock]:
    clock = FakeClock()
    return control.ControlService(clock.now), clock


def test_a_counted_rule_fires_that_many_times_then_stays_listed_inactive() -> None:
    service, _ = _service()
    added = service.add_fault("t", _rule(count=2))
    path = "/v1/batch-query/jobs/x"
    fired = [service.fire("t", "GET", path, "") for _ in range(3)]
    assert [f.rule_id if f else None for f in fired] == [added["id"], added["id"], None]
    [listed] = service.faults("t")
    assert (listed["fired"], listed["remaining"], listed["active"]) == (2, 0, False)
    assert [entry["ruleId"] for entry in service.firings("t")] == [added["id"]] * 2


def test_a_timed_rule_fires_until_its_time_is_up() -> None:
    service, clock = _service()
    rule = _rule(durationSeconds=10)
    rule.pop("count")
    service.add_fault("t", rule)
    assert service.fire("t", "GET", "/v1/batch-query/jobs/x", "") is not None
    clock.advance(seconds=9.9)
    assert service.fire("t", "GET", "/v1/batch-query/jobs/x", "") is not None
    clock.advance(seconds=0.1)
    assert service.fire("t", "GET", "/v1/batch-query/jobs/x", "") is None
    [listed] = service.faults("t")
    assert (listed["fired"], listed["remaining"], listed["active"]) == (2, None, False)


def test_rules_are_the_tenants_own_and_the_oldest_matching_fires_first() -> None:
    service, _ = _service()
    first = service.add_fault("a", _rule())
    second = service.add_fault("a", _rule(action={"type": "disconnect"}))
    assert service.fire("b", "GET", "/v1/batch-query/jobs/x", "") is None
    assert service.faults("b") == []
    one = service.fire("a", "GET", "/v1/batch-query/jobs/x", "")
    two = service.fire("a", "GET", "/v1/batch-query/jobs/x", "")
    assert one is not None and two is not None
    assert (one.rule_id, two.rule_id) == (first["id"], second["id"])
    assert isinstance(two.action, faults.Disconnect)


def test_removing_rules() -> None:
    service, _ = _service()
    first = service.add_fault("a", _rule())
    service.add_fault("a", _rule())
    with pytest.raises(errors.NotFound):
        service.remove_fault("b", first["id"])  # another tenant's id is unknown
    service.remove_fault("a", first["id"])
    assert len(service.faults("a")) == 1
    assert len(service.firings("a")) == 0
    service.fire("a", "GET", "/v1/batch-query/jobs/x", "")
    assert len(service.firings("a")) == 1
    service.remove_faults("a")
    assert service.faults("a") == []
    assert service.firings("a") == []
    assert service.fire("a", "GET", "/v1/batch-query/jobs/x", "") is None


def _seen(path: str) -> control.SeenRequest:
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return control.SeenRequest("GET", path, "", 200, "0" * 64, 0, moment, 1.0)


def test_requests_seen_are_the_last_n_oldest_first_and_bounded() -> None:
    service, _ = _service()
    for number in range(control.REQUESTS_KEPT + 5):
        service.record("a", _seen(f"/p{number}"))
    service.record("b", _seen("/other"))
    kept = service.requests("a", control.REQUESTS_KEPT)
    assert len(kept) == control.REQUESTS_KEPT
    assert kept[0]["path"] == "/p5"
    assert [seen["path"] for seen in service.requests("a", 2)] == [
        f"/p{control.REQUESTS_KEPT + 3}",
        f"/p{control.REQUESTS_KEPT + 4}",
    ]
    assert len(service.requests("a")) == control.DEFAULT_REQUESTS_LIMIT
    for bad in (0, control.REQUESTS_KEPT + 1):
        with pytest.raises(errors.InvalidControlRequest):
            service.requests("a", bad)
    service.clear_requests("a")
    assert service.requests("a") == []
    assert [seen["path"] for seen in service.requests("b")] == ["/other"]


def test_only_administrators_use_it() -> None:
    admin = tenancy.Principal("a", "boss", True, tenancy.AuthMethod.BASIC)
    user = tenancy.Principal("a", "user", False, tenancy.AuthMethod.BASIC)
    assert control.ControlService.admin_tenant(admin) == "a"
    with pytest.raises(tenancy_errors.AdminRequired):
        control.ControlService.admin_tenant(user)


def test_an_abort_rule_fires_for_its_batch_only_and_never_on_a_request() -> None:
    service, _ = _service()
    rule = _rule(match={"kind": "aqua"}, action={"type": "abort", "batch": 2, "message": "boom"})
    added = service.add_fault("a", {**rule, "count": 1})
    assert service.fire("a", "POST", "/v1/batch-query", "") is None
    assert service.run_fault("b", _step(batch=2)) is None  # another tenant's job
    assert service.run_fault("a", _step(batch=1)) is None
    assert service.run_fault("a", _step(batch=2)) == faults.Abort(2, "boom")
    assert service.run_fault("a", faults.Step(faults.Kind.AQUA, "j2", "batch", 2)) is None
    [firing] = service.firings("a")
    assert (firing["ruleId"], firing["jobId"], firing["batch"]) == (added["id"], "r1", 2)
    assert firing["method"] is None


def test_a_counted_run_rule_counts_runs_and_keeps_applying_to_the_runs_it_took() -> None:
    service, _ = _service()
    added = service.add_fault(
        "a", _rule(match={"kind": "report"}, action={"type": "latency", "milliseconds": 5})
    )
    first = faults.Step(faults.Kind.REPORT, "run1", "QUERYDATA")
    assert service.run_fault("a", first) == faults.Latency(5)
    # the same run's next phase still waits; another run does not (count 1: one run)
    later = faults.Step(faults.Kind.REPORT, "run1", "PROCESSINGDATA")
    assert service.run_fault("a", later) == faults.Latency(5)
    assert service.run_fault("a", faults.Step(faults.Kind.REPORT, "run2", "QUERYDATA")) is None
    [listed] = service.faults("a")
    assert (listed["fired"], listed["remaining"], listed["active"]) == (2, 0, False)
    phases = [(f["ruleId"], f["jobId"], f["phase"], f["action"]) for f in service.firings("a")]
    assert phases == [
        (added["id"], "run1", "QUERYDATA", "latency"),
        (added["id"], "run1", "PROCESSINGDATA", "latency"),
    ]


def test_a_run_rule_never_fires_on_a_request_nor_a_request_rule_on_a_run() -> None:
    service, _ = _service()
    service.add_fault("a", _rule(match={"kind": "dataquery"}, action={"type": "hang"}))
    service.add_fault("a", _rule(match={"kind": "aqua"}))  # 429 on AQuA requests
    assert service.fire("a", "POST", "/query/jobs", "") is None
    assert service.run_fault("a", _step(batch=1)) is None
    assert service.run_fault("a", _step("dataquery", "in_progress")) == faults.Hang()
