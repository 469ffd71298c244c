"""Properties of path and query parameters through the app in-process: ids, filters, cursors,
paging and sort words taken anywhere (edge dates, huge numbers, ``..``, slashes, NUL, lone
surrogates, any text) are answered in each family's envelope, never with a 5xx or an engine's
words. The JSON bodies' properties: ``test_hostile_body_properties.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aquarium.web import sessions
from tests.integration import test_hostile_body_properties as bodies

App = bodies.App


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from bodies.serving_app(tmp_path_factory, "hostile-params")


def jobs_answer(response: httpx.Response) -> None:
    """The job API: a document, or ``{"error": {"code", "message"}}`` (400, 404, 409)."""
    assert response.status_code in {200, 400, 403, 404, 409}, response.text
    document = response.json()
    if response.status_code != 200:
        assert set(document) == {"error"} and set(document["error"]) == {"code", "message"}
        assert document["error"]["code"] != "internal_error", document


def aqua_get_answer(response: httpx.Response) -> None:
    """A job, a refusal in Zuora's body (200), or an unknown file (404)."""
    assert response.status_code in {200, 404}, response.text
    document = response.json()
    if response.status_code == 404:
        assert set(document) in ({"status", "message"}, {"id", "status", "errorCode", "message"})
    elif "errorCode" in document:
        assert document["errorCode"] != "90010", document


def reporting_answer(response: httpx.Response) -> None:
    """A file from an export is no JSON; anything else is the Reporting envelope."""
    if response.status_code == 200 and "text/csv" in response.headers["content-type"]:
        return
    bodies.reporting_answer(response)


EDGE_WORDS = [
    "", " ", "..", "../..", "%2e%2e", "/", "//", "None", "null", "0" * 32, "f" * 33, "-1", "0",
    "9" * 31, "9" * 5000, "1e400", "NaN", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
    "9999-12-31", "0000-00-00", "-createdAt", "--createdAt", "Detail", "summary", "true", "yes",
    "\x00", "\ud800", "a\r\nX-Evil: 1", "'; drop table runs; --", "\U0001f600", "x" * 3000,
    base64.urlsafe_b64encode(b"[" * 1000 + b"]" * 1000).decode(),
    base64.urlsafe_b64encode(json.dumps([1, "x", None]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"v": "9999-12-31", "id": 1}).encode()).decode(),
]  # fmt: skip
WORDS = st.sampled_from(EDGE_WORDS) | st.text(max_size=12)
CURSOR_PARTS = st.none() | st.integers() | st.sampled_from(EDGE_WORDS[:25]) | st.lists(st.none())
#: Cursors as the server gives them out (base64 of a JSON list: sort, value, id), forged.
CURSORS = st.tuples(
    st.sampled_from(["createdAt", "status", "kind", "name", "x"]) | CURSOR_PARTS,
    CURSOR_PARTS,
    CURSOR_PARTS,
).map(lambda parts: base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("="))


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {} where the drawn path segment goes
    params: tuple[str, ...]  # query parameters drawn
    check: bodies.Check

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


R = "/api/rest/v1"
ROUTES = [
    Route("GET", "/aquarium/api/v1/jobs", ("kind", "status", "partner", "project", "createdBy",
                                           "since", "until", "sort", "limit", "cursor"),
          jobs_answer),
    Route("GET", "/aquarium/api/v1/jobs/{}", (), jobs_answer),
    Route("DELETE", "/aquarium/api/v1/jobs/{}", (), jobs_answer),
    Route("GET", "/v1/batch-query/jobs/{}", (), aqua_get_answer),
    Route("DELETE", "/apps/api/batch-query/jobs/{}", (), aqua_get_answer),
    Route("GET", "/v1/batch-query/jobs/partner/{}/project/p", (), aqua_get_answer),
    Route("GET", "/v1/file/{}", (), aqua_get_answer),
    Route("GET", "/v1/object/Account/{}", (), bodies.crud_answer),
    Route("DELETE", "/v1/object/{}/0123", (), bodies.crud_answer),
    Route("GET", R + "/reports/search", ("query", "searchStart", "orderBy"), reporting_answer),
    Route("GET", R + "/reports/report/{}", (), reporting_answer),
    Route("POST", R + "/reports/copy", ("from", "labelIds", "name"), reporting_answer),
    Route("POST", R + "/reports/{}/reportrun", ("viewType",), reporting_answer),
    Route("GET", R + "/reportruns/reportdata/{}", ("offset", "pageSize"), reporting_answer),
    Route("GET", R + "/reportruns/export/{}", ("pivoted",), reporting_answer),
    Route("POST", R + "/reportruns", ("status",), reporting_answer),
    Route("GET", R + "/reports/reportlabels/{}/report-details", ("paging", "orderBy"),
          reporting_answer),
    Route("GET", R + "/reportlabels/{}/reportlabels", (), reporting_answer),
]  # fmt: skip


@pytest.mark.parametrize("route", ROUTES, ids=[str(route) for route in ROUTES])
@bodies._settings(examples=60)
@given(data=st.data())
def test_any_parameters_are_answered_in_the_family_envelope(
    app: App, route: Route, data: st.DataObject
) -> None:
    # Dots too are escaped: a client would resolve a '..' segment before sending it.
    drawn = data.draw(WORDS, label="segment").encode("utf-8", "surrogatepass")
    segment = quote(drawn, safe="").replace(".", "%2E")
    # A few parameters at a time: one bad value refused first would hide what the others reach.
    names = (
        data.draw(st.lists(st.sampled_from(route.params), max_size=3), label="names")
        if route.params
        else []
    )
    params = [
        (name, quote(value.encode("utf-8", "surrogatepass"), safe=""))
        for name in names
        for value in [data.draw(CURSORS if name == "cursor" else WORDS, label=name)]
    ]
    query = "&".join(f"{name}={value}" for name, value in params)
    url = route.path.replace("{}", segment) + (f"?{query}" if query else "")
    response = app.request(route.method, url)
    if response.status_code == 405:  # an empty or dot segment moved the request to another route
        assert "Method Not Allowed" in response.text and response.headers["Allow"], response.text
    else:
        route.check(response)
    bodies._no_engine_words(response, unquote(url))


SORT_WORDS = ("createdAt", "-createdAt", "status", "-status", "kind", "name")
CURSOR_VALUES = (
    st.none()
    | st.integers()
    | st.floats()
    | st.sampled_from(EDGE_WORDS)
    | st.lists(st.none(), max_size=1)
)
#: A cursor is the client's to keep, so a client may forge one: base64 of a JSON list of a sort
#: word, a value and an id, each of any type.
FORGED = st.tuples(
    st.sampled_from([word.lstrip("-") for word in SORT_WORDS]) | CURSOR_VALUES,
    CURSOR_VALUES,
    CURSOR_VALUES,
)


@bodies._settings(examples=150)
@given(parts=FORGED, sort=st.none() | st.sampled_from(SORT_WORDS))
def test_a_forged_job_list_cursor_is_refused_in_the_job_api_envelope(
    app: App, parts: tuple[object, object, object], sort: str | None
) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")
    params = {"cursor": cursor, **({"sort": sort} if sort else {})}
    response = app.request("GET", "/aquarium/api/v1/jobs", params=params)
    jobs_answer(response)
    bodies._no_engine_words(response, json.dumps(parts))


# -- form bodies: OAuth and the sign-in form -------------------------------------------------------

FORM_VALUES = st.sampled_from(
    [*EDGE_WORDS, "client_credentials", "demo", "/jobs", "//evil.example"]
)


@bodies._settings(examples=80)
@given(
    raw=st.binary(max_size=80)
    | st.dictionaries(
        st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "x"]),
        FORM_VALUES | st.text(max_size=8),
    ).map(lambda form: urlencode(form, encoding="utf-8", errors="surrogatepass").encode()),
    basic=st.none() | st.sampled_from(["Basic ", "Basic %%%", "Basic ZGVtbzpkZW1v", "Bearer x"]),
)
def test_any_oauth_token_request_is_answered_as_oauth_does(
    app: App, raw: bytes, basic: str | None
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic is not None:
        headers["Authorization"] = basic
    answer = app.request("POST", "/oauth/token", content=raw, headers=headers)
    assert answer.status_code in {200, 400, 401}, answer.text
    document = answer.json()
    if answer.status_code == 200:
        assert document["token_type"] == "bearer" and document["access_token"], document
    else:
        assert set(document) >= {"error"} or set(document) == {
            "id", "status", "errorCode", "message"}, document  # fmt: skip


@bodies._settings(examples=40)
@given(
    form=st.fixed_dictionaries(
        {},
        optional={name: FORM_VALUES | st.text(max_size=8) for name in ("user", "password", "next")},
    ),
    token=st.sampled_from(["same", "other", "none"]),
)
def test_any_sign_in_form_is_answered_with_a_page(
    app: App, form: dict[str, str], token: str
) -> None:
    cookie = {"Cookie": f"{sessions.LOGIN_COOKIE}=t0k3n"} if token != "none" else {}
    data = {**form, sessions.CSRF_FIELD: "t0k3n" if token == "same" else "forged"}
    raw = urlencode(data, encoding="utf-8", errors="surrogatepass").encode()
    headers = {**cookie, "Content-Type": "application/x-www-form-urlencoded"}
    answer = app.request("POST", "/login", content=raw, headers=headers)
    assert answer.status_code in {200, 303, 403}, answer.text
    if answer.status_code == 303:  # signed in: only to a path of this site
        assert answer.headers["location"].startswith("/")
        assert not answer.headers["location"].startswith(("//", "/\\"))
    else:
        assert "text/html" in answer.headers["content-type"]


NEXTS = st.sampled_from(
    ["//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
     "/jobs", "/login?next=//evil.example", "/\r\nSet-Cookie: x=1", "", "jobs"]
) | st.text(max_size=12)  # fmt: skip


@bodies._settings(examples=40)
@given(next_url=NEXTS)
def test_after_signing_in_only_a_path_of_this_site_is_followed(app: App, next_url: str) -> None:
    form = {"user": "demo", "password": "demo", "next": next_url, sessions.CSRF_FIELD: "t0k3n"}
    raw = urlencode(form, encoding="utf-8", errors="surrogatepass").encode()
    headers = {
        "Cookie": f"{sessions.LOGIN_COOKIE}=t0k3n",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    answer = app.request("POST", "/login", content=raw, headers=headers)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert not any(ord(c) < 0x20 for c in location), location
