"""``aquarium clone``'s reading side against a fake source (httpx.MockTransport) serving
Describe as Aquarium writes it: what the plan copies and skips, the custom fields and their
types, the ``--since`` clause, jobs of at most 50 queries, segments joined into one file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from aquarium import client
from aquarium.catalog import model, views
from aquarium.client import describe as described
from aquarium.domain import tenancy
from aquarium.services import describe, tenant_clone

URL = "http://source.test"
TIER = tenancy.CustomField(
    "Account", "Tier__c", tenancy.CustomFieldType.PICKLIST, "Tier", ("gold", "silver")
)
WIDGET = b"""<?xml version='1.0' encoding='utf-8'?>
<object><name>Widget</name><label>Widget</label><fields/></object>
"""


def _objects_with_widget(catalog: model.Catalog) -> bytes:
    listed = describe.objects_xml(catalog, URL)
    extra = b'<object href="x"><name>Widget</name><label>Widget</label></object></objects>'
    return listed.replace(b"</objects>", extra)


class Source:
    """A fake Zuora-compatible source: Describe of the shipped catalogue with ``Tier__c`` and an
    object we do not know, jobs completed at once, each file a header and one row per segment."""

    def __init__(self, segments: int = 1) -> None:
        shipped = model.default()
        self.catalog = views.tenant_view(shipped, features=None, fields=(TIER,))
        self.segments = segments
        self.submitted: list[list[dict[str, str]]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/describe":
            return httpx.Response(200, content=_objects_with_widget(self.catalog))
        if path.startswith("/v1/describe/"):
            name = path.rsplit("/", 1)[1]
            return httpx.Response(200, content=describe.object_xml(self.catalog, name, URL))
        if request.method == "POST" and path == "/v1/batch-query/":
            self.submitted.append(json.loads(request.content)["queries"])
            return httpx.Response(200, json=self._job(len(self.submitted) - 1, "submitted"))
        if path.startswith("/v1/batch-query/jobs/"):
            return httpx.Response(200, json=self._job(int(path.rsplit("/", 1)[1]), "completed"))
        if path.startswith("/v1/file/"):
            name, number = path.rsplit("/", 1)[1].rsplit("-", 1)
            return httpx.Response(200, content=f"{name}.Id\n{name}-row-{number}\n".encode())
        return httpx.Response(404, json={"message": "no such path"})

    def _job(self, number: int, status: str) -> dict[str, object]:
        batches = [
            {
                "batchId": f"b{n}",
                "name": q["name"],
                "query": q["query"],
                "status": "completed" if status == "completed" else "pending",
                "recordCount": self.segments,
                **(
                    {"segments": [f"{q['name']}-{s}" for s in range(self.segments)]}
                    if self.segments > 1
                    else {"fileId": f"{q['name']}-0"}
                ),
            }
            for n, q in enumerate(self.submitted[number])
        ]
        return {"id": str(number), "status": status, "version": "1.0", "batches": batches}

    def client(self) -> client.Client:
        return client.Client(
            URL,
            client.Credentials.basic("u", "p"),
            transport=httpx.MockTransport(self.handle),
            sleep=lambda seconds: None,
        )


def _plan(source: Source, **options: object) -> tenant_clone.ClonePlan:
    with source.client() as api:
        return tenant_clone.plan(api, catalog=model.default(), **options)  # type: ignore[arg-type]


def test_the_plan_copies_every_known_object_and_the_custom_fields_typed_from_describe() -> None:
    planned = _plan(Source())
    assert planned.skipped == ("Widget",)
    assert planned.custom_fields == (TIER,)
    account = next(one for one in planned.objects if one.name == "Account")
    assert account.fields[0] == "Id" and account.fields[-1] == "Tier__c"
    assert account.query == f"select {', '.join(account.fields)} from Account"
    assert len(planned.objects) == len(Source().catalog)


def test_since_becomes_a_where_clause_and_objects_narrow_the_plan() -> None:
    planned = _plan(Source(), only=["account", "Invoice"], since="2026-01-31")
    assert [one.name for one in planned.objects] == ["Account", "Invoice"]
    assert all(one.query.endswith(" where UpdatedDate >= '2026-01-31'") for one in planned.objects)


def test_an_object_the_source_lacks_is_refused_by_name() -> None:
    with pytest.raises(tenant_clone.CloneFailed, match="no object 'Acount'"):
        _plan(Source(), only=["Acount"])


@pytest.mark.parametrize(
    "since", ["2026-01-31", "2026-01-31T10:00:00", "2026-01-31T10:00:00+01:00"]
)
def test_since_takes_dates_and_datetimes(since: str) -> None:
    assert tenant_clone.check_since(since) == since


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2026-01-31 10:00'"])
def test_since_refuses_anything_else(since: str) -> None:
    with pytest.raises(tenant_clone.CloneFailed, match="--since"):
        tenant_clone.check_since(since)


def test_a_describe_type_unknown_here_becomes_text_with_a_note() -> None:
    field = described.DescribedField("Code__c", "Code", "formula")
    notes: list[str] = []
    made = tenant_clone._custom_field("Account", field, notes)
    assert made.type is tenancy.CustomFieldType.TEXT
    assert notes == ["Account.Code__c: type 'formula' unknown here, made text"]


def _export(source: Source, tmp_path: Path, on: Callable[[str, int], None]) -> None:
    with source.client() as api:
        planned = tenant_clone.plan(api, catalog=model.default())
        tenant_clone.export(api, planned, tmp_path, on_object=on)


def test_export_sends_at_most_50_queries_a_job_and_writes_one_file_per_object(
    tmp_path: Path,
) -> None:
    source, told = Source(), []
    _export(source, tmp_path, lambda name, rows: told.append(name))
    objects = len(source.catalog)
    assert objects > 100
    assert [len(queries) for queries in source.submitted] == [50, 50, objects - 100]
    assert len(told) == objects == len(list(tmp_path.iterdir()))
    assert (tmp_path / "Account.csv").read_text() == "Account.Id\nAccount-row-0\n"


def test_segments_are_joined_with_the_header_once(tmp_path: Path) -> None:
    _export(Source(segments=3), tmp_path, lambda name, rows: None)
    assert (tmp_path / "Invoice.csv").read_text() == (
        "Invoice.Id\nInvoice-row-0\nInvoice-row-1\nInvoice-row-2\n"
    )
    assert all(p.name.count(".") == 1 and "-" not in p.name for p in tmp_path.iterdir())
