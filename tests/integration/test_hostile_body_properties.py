"""Properties of every JSON endpoint, end to end through the app in-process (issue 11: "any input
gives the documented error shape, never an exception").

Each endpoint that reads a JSON body gets three kinds of body: any JSON value, its documented
request body mutated (a member dropped, replaced by a value of an odd type or at an edge, an
unknown member added) and raw text that is not JSON or breaks a limit of ``json_input``. Whatever
it gets, the answer is never a failure of ours: no 5xx but Zuora's documented Reporting 500 for
JSON it cannot read (``Could not read JSON: ...``, ``Required request body content is missing``),
and every refusal is in the endpoint's family envelope, without an engine's words.

The app is built over a real data dir (SQLite metadata, DuckDB billing data) without workers:
submitted jobs and runs stay queued, so the property judges what the request path does.
Example counts are bounded so the module runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquarium.services import report_labels
from tests.integration.demo_server import demo_server

DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
HEX32 = re.compile(r"[0-9a-f]{32}")
#: Words of engines and of Python that must never reach a client.
ENGINE_WORDS = ("Binder", "Conversion", "Catalog Error", "DuckDB", "duckdb", "sqlite",
                "Traceback", "MiB", "OverflowError", "RecursionError")  # fmt: skip
EXAMPLES = 100  # any JSON body, per endpoint
MUTATIONS = 200  # mutations of the documented body, per endpoint: about 5,000 requests in all


def _settings(examples: int = EXAMPLES) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written into the working tree
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class App:
    """Requests to the app in-process over one event loop; an exception the app raises becomes
    its 500 answer, as a server's would."""

    def __init__(self, app: Any) -> None:
        self.runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://test")

    def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        sent = {**DEMO, **(headers or {})}
        return self.runner.run(self.client.request(method, url, headers=sent, **kwargs))

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.close()


@dataclass(frozen=True)
class Ids:
    account: str
    report: str
    label: str


def serving_app(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[App]:
    """The application over a demo tenant (scale 0.02) and no workers, for a fixture."""
    with demo_server(tmp_path_factory, name) as built:
        found = App(built.app())
        try:
            yield found
        finally:
            found.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from serving_app(tmp_path_factory, "hostile-properties")


@pytest.fixture(scope="module")
def ids(app: App) -> Ids:
    account = app.request("POST", "/v1/object/Account", json=ACCOUNT)
    report = app.request("POST", "/api/rest/v1/reports", json=REPORT)
    label = app.request("POST", "/api/rest/v1/reportlabels", json={"name": "fixture"})
    for answer in (account, report, label):
        assert answer.status_code == 200, answer.text
    return Ids(
        account=account.json()["Id"],
        report=report.json()["response"]["id"],
        label=label.json()["response"]["id"],
    )


# -- each family's answer --------------------------------------------------------------------------


def _no_engine_words(response: httpx.Response, sent: str) -> None:
    """No engine's words in the answer, but those the request itself held (echoed back)."""
    found = [word for word in ENGINE_WORDS if word in response.text and word not in sent]
    assert not found, response.text
    assert "Internal Server Error" not in response.text, response.text


def aqua_answer(response: httpx.Response) -> None:
    """A job (200, no errorCode) or Zuora's refusal: 200 for a refused job, 400 for a body that
    is not a JSON object or breaks a limit, 413 for size."""
    assert response.status_code in {200, 400, 413}, response.text
    document = response.json()
    if response.status_code == 200 and "errorCode" not in document:
        assert HEX32.fullmatch(document["id"]) and document["status"] == "submitted", document
        return
    assert set(document) == {"id", "status", "errorCode", "message"}, document
    assert document["id"] is None and document["status"] == "error", document
    assert document["errorCode"] != "90010" and document["message"], document


def crud_answer(response: httpx.Response) -> None:
    """``{"Success": true, "Id"}`` or the CRUD refusal (400, 404), never UNKNOWN_ERROR."""
    assert response.status_code in {200, 400, 404, 413}, response.text
    document = response.json()
    if response.status_code == 200:
        assert document["Success"] is True and HEX32.fullmatch(document["Id"]), document
        return
    assert set(document) == {"Success", "Errors"} and document["Success"] is False, document
    assert document["Errors"], document
    for problem in document["Errors"]:
        assert set(problem) == {"Code", "Message"} and problem["Message"], problem
        assert problem["Code"] != "UNKNOWN_ERROR", problem


#: Zuora's documented 500s of the Reporting API: JSON it cannot read, a missing body.
DOCUMENTED_500 = ("Could not read JSON: ", report_labels.BODY_MISSING)


def reporting_answer(response: httpx.Response) -> None:
    """``{"success": true, "response"}`` or the Reporting refusal; a 500 only as documented."""
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.status_code in {200, 400, 403, 404, 413, 422, 500}, response.text
    document = response.json()
    if response.status_code == 200:
        assert set(document) >= {"success", "response"} and document["success"] is True
        return
    assert set(document) == {"success", "response", "links"}, document
    assert document["success"] is False and document["links"] is None, document
    inner = json.loads(document["response"])
    assert set(inner) == {"errorId", "message", "errorCode"} and inner["message"], inner
    if response.status_code == 500:
        assert inner["errorCode"] == "ZAN-REST-ERROR", inner
        assert inner["message"].startswith(DOCUMENTED_500), inner


# -- the endpoints and their documented bodies -----------------------------------------------------

QUERY = "select Id, Name, Balance from Account where CreatedDate > '2020-01-01'"
JOB = {
    "format": "csv",
    "version": "1.1",
    "name": "properties",
    "encrypted": "none",
    "useQueryLabels": "true",
    "dateTimeUtc": "true",
    "partner": "p",
    "project": "q",
    "incrementalTime": "2020-01-01 00:00:00",
    "offset": 60,
    "nullReplacement": "NULL",
    "notifyUrl": "https://example.com/done?job=${JOBID}",
    "queries": [
        {"name": "accounts", "query": QUERY, "type": "zoqlexport"},
        {"name": "items", "query": "select Id, ChargeAmount from InvoiceItem", "deleted": {
            "column": "IsDeleted", "format": "Boolean"}},
    ],
}  # fmt: skip
ACCOUNT = {"Name": "Properties", "Currency": "USD", "BillCycleDay": 1, "AutoPay": False}
DEFINITION = {
    "selectedFields": [
        {"id": "Account.Name", "sortDir": "ASC", "sortPriority": 0},
        {"id": "Account.Balance"},
        {"id": "Account.CreatedDate"},
    ],
    "rowFields": [{"id": "Account.CreatedDate", "dateOptions": {"groupBy": "CM"}}],
    "valFields": [{"id": "Account.Balance", "aggregation": "SUM"}],
    "detailFilters": [
        {"field": {"id": "Account.Status"}, "operator": {"value": "="}, "value": "Active"},
        {"field": {"id": "Account.Balance"}, "operator": {"value": ">"}, "value": 10},
    ],
}
REPORT = {"name": "properties", "dsName": "Account", "definition": DEFINITION}
RUN_FILTERS = [
    {"field": {"id": "Account.CreatedDate"}, "operator": {"value": "is during"},
     "value": {"start": "2020-01-01", "end": "2024-12-31"}},
]  # fmt: skip
RUN_LIST = {
    "columns": ["reportName", "status", "rowCount", "dsName", "startedOn"],
    "pagination": {"currentPage": 1, "pageSize": 25},
    "sort": [
        {"field": "startedOn", "direction": "DESC", "priority": 1},
        {"field": "reportName", "direction": "ASC", "priority": 2},
    ],
    "filters": [
        {"field": "rowCount", "operator": ">", "value": 0},
        {"field": "startedOn", "operator": ">", "value": "2020-01-01T00:00:00Z"},
    ],
}

Check = Callable[[httpx.Response], None]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {account}, {report}, {label}
    body: Callable[[Ids], object]
    check: Check

    def url(self, ids: Ids) -> str:
        return self.path.format(account=ids.account, report=ids.report, label=ids.label)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("POST", "/v1/batch-query/", lambda _: JOB, aqua_answer),
    Endpoint("POST", "/apps/api/batch-query/", lambda _: JOB, aqua_answer),
    Endpoint("POST", "/v1/object/Account", lambda _: ACCOUNT, crud_answer),
    Endpoint("PUT", "/v1/object/Account/{account}", lambda _: ACCOUNT, crud_answer),
    Endpoint("POST", "/api/rest/v1/reports", lambda _: REPORT, reporting_answer),
    Endpoint(
        "POST",
        "/reporting/api/rest/v1/reports",
        lambda _: {**REPORT, "definition": json.dumps(DEFINITION)},
        reporting_answer,
    ),
    Endpoint("POST", "/api/rest/v1/reports/{report}", lambda _: REPORT, reporting_answer),
    Endpoint(
        "POST",
        "/api/rest/v1/reportlabels",
        lambda i: {"name": "L", "parentId": i.label},
        reporting_answer,
    ),
    Endpoint(
        "POST",
        "/api/rest/v1/reports/{report}/reportlabels",
        lambda i: {"labelIds": [i.label]},
        reporting_answer,
    ),
    Endpoint(
        "DELETE",
        "/api/rest/v1/reports/{report}/reportlabels",
        lambda i: {"labelIds": [i.label]},
        reporting_answer,
    ),
    Endpoint(
        "POST",
        "/api/rest/v1/reports/{report}/reportrun?viewType=Detail",
        lambda _: RUN_FILTERS,
        reporting_answer,
    ),
    Endpoint(
        "POST",
        "/reporting/api/rest/v1/reports/{report}/reportrun?viewType=Summary",
        lambda _: {"filters": RUN_FILTERS},
        reporting_answer,
    ),
    Endpoint("POST", "/api/rest/v1/reportruns", lambda _: RUN_LIST, reporting_answer),
    Endpoint(
        "POST",
        "/api/rest/v1/settings",
        lambda _: {"emailDomains": ["example.com"]},
        reporting_answer,
    ),
    Endpoint(
        "POST",
        "/api/rest/v1/reports/transfer-ownership",
        lambda i: {"reportIds": [i.report], "newOwnerUserId": "demo"},
        reporting_answer,
    ),
]


def _send(app: App, ids: Ids, endpoint: Endpoint, raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    response = app.request(endpoint.method, endpoint.url(ids), content=raw, headers=headers)
    endpoint.check(response)
    _no_engine_words(response, raw.decode("utf-8", "replace"))


def test_the_documented_bodies_are_accepted(app: App, ids: Ids) -> None:
    """Each endpoint's unmutated body succeeds: the mutations start from something that works."""
    for endpoint in ENDPOINTS:
        raw = json.dumps(endpoint.body(ids)).encode()
        response = app.request(endpoint.method, endpoint.url(ids), content=raw)
        assert response.status_code == 200, (str(endpoint), response.text)
        assert "errorCode" not in response.json() and '"success": false' not in response.text


# -- bodies ----------------------------------------------------------------------------------------

#: Strings at the edges: of the calendar, of numbers, of lengths, of what a CSV or a header holds.
EDGE_STRINGS = st.sampled_from(
    ["", " ", "9999-12-31", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
     "9999-12-31 23:59:59", "0001-01-01 00:00:00", "2024-02-30 25:61:61",
     "0000-00-00", "2024-02-30", "today - 99999999 days", "9" * 51, "-" + "9" * 31, "1e400", "NaN",
     "a\nb", ",", '"', "\r\nX-Evil: 1", "file:///etc/passwd", "javascript:alert(1)", ".Name",
     "Account.", "Account.Nope", "x" * 300, "b" * 100_000, "select", "' or 1=1 --", "%", "\\",
     "=cmd|' /C calc'!A0", "😀", "\u202e", "CANCELED", "null", "true", "DESC", "Detail"]
)  # fmt: skip
EDGE_NUMBERS = st.sampled_from(
    [0, -1, 1, 2**31, 2**63 - 1, -(2**63), 0.5, -0.0, 1e308, -1e-308, 3.14159]
)
SCALARS = st.none() | st.booleans() | EDGE_NUMBERS | EDGE_STRINGS | st.text(max_size=8)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=10,
)  # fmt: skip


def _places(document: object) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of ``document``, the whole document as ``([doc], 0)``."""
    places: list[tuple[Any, Any]] = []
    stack: list[tuple[Any, Any]] = [([document], 0)]
    while stack:
        parent, slot = stack.pop()
        places.append((parent, slot))
        node = parent[slot]
        if isinstance(node, dict | list):
            stack.extend(
                (node, key) for key in (node if isinstance(node, dict) else range(len(node)))
            )
    return places


@st.composite
def mutated(draw: st.DrawFn, document: object) -> object:
    """``document`` with one to three changes, each at a place drawn from all its places alike:
    a member or item dropped or replaced by any JSON value, or a member added to an object."""
    holder = [json.loads(json.dumps(document))]  # a copy
    # Mostly one change: a body with one fault reaches the checks of every other member.
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        places = _places(holder[0])
        places[0] = (holder, 0)
        parent, slot = draw(st.sampled_from(places))
        node = parent[slot]
        action = draw(st.sampled_from(["drop", "replace", "replace", "add"]))
        if action == "drop" and parent is not holder:
            del parent[slot]
        elif action == "add" and isinstance(node, dict):
            key = draw(st.text(max_size=8) | st.sampled_from(sorted(node) or ["x"]))
            node[key] = draw(JSON_VALUES)
        else:
            parent[slot] = draw(JSON_VALUES)
    return holder[0]


#: Text that is not JSON, or JSON beyond a limit of json_input.
RAW = st.one_of(
    st.binary(max_size=60),
    st.sampled_from(
        [b"", b" ", b"{", b"[1,]", b"nope", b"'x'", b'{"a": 1} x', b"\xff\xfe", b'"\\ud800"',
         b'{"name": "\\u0000"}', b"[" * 1000 + b"]" * 1000, b"9" * 5000, b"1e400", b"NaN",
         b"[" * 100_000 + b"]" * 100_000, b"[-Infinity]", b'{"offset": ' + b"9" * 31 + b"}",
         b"\xef\xbb\xbf{}"]
    ),
)  # fmt: skip
IDS = [str(endpoint) for endpoint in ENDPOINTS]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@_settings()
@given(body=JSON_VALUES)
def test_any_json_body_is_answered_in_the_family_envelope(
    app: App, ids: Ids, endpoint: Endpoint, body: object
) -> None:
    _send(app, ids, endpoint, json.dumps(body).encode())


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@_settings(examples=MUTATIONS)
@given(data=st.data())
def test_a_mutated_documented_body_is_answered_in_the_family_envelope(
    app: App, ids: Ids, endpoint: Endpoint, data: st.DataObject
) -> None:
    body = data.draw(mutated(endpoint.body(ids)), label="body")
    _send(app, ids, endpoint, json.dumps(body).encode())


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@_settings(examples=40)
@given(raw=RAW)
def test_text_that_is_no_acceptable_json_is_answered_in_the_family_envelope(
    app: App, ids: Ids, endpoint: Endpoint, raw: bytes
) -> None:
    _send(app, ids, endpoint, raw)
