"""Every object of the catalogue, end to end over HTTP against a real server (issue 12).

For each object: ``select * from X limit 5`` through AQuA completes with rows whose header is the
object's exportable fields in catalogue order, and ``GET /v1/describe/X`` answers its fields and
joins; ``GET /v1/describe`` lists every object. The demo tenant has Invoice Settlement on, so it
has every object, as the sandbox tenant that tap-zuora's tests describe.

The queries go in jobs of 50 (Zuora's limit per job), submitted once per module.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from aquarium.catalog import model
from tests.acceptance import support

CATALOG = model.default()
OBJECTS = sorted(obj.name for obj in CATALOG)
PER_JOB = 50


@pytest.fixture(scope="module")
def results(demo: httpx.Client) -> dict[str, tuple[dict[str, Any], list[list[str]]]]:
    """Each object's batch document and CSV rows (header first)."""
    found: dict[str, tuple[dict[str, Any], list[list[str]]]] = {}
    for start in range(0, len(OBJECTS), PER_JOB):
        names = OBJECTS[start : start + PER_JOB]
        body = {
            "format": "csv",
            "version": "1.1",
            "useQueryLabels": True,
            "queries": [
                {"name": name, "query": f"select * from {name} limit 5", "type": "zoqlexport"}
                for name in names
            ],
        }
        submitted = support.submit_ok(demo, body)
        done = support.wait_for_job(demo, submitted["id"])
        for batch in done["batches"]:
            rows = (
                support.parse_csv(support.download(demo, batch["fileId"]).content)
                if "fileId" in batch
                else []
            )
            found[batch["name"]] = (batch, rows)
    return found


@pytest.mark.parametrize("name", OBJECTS)
def test_select_star_limit_5_completes_with_rows(
    results: dict[str, tuple[dict[str, Any], list[list[str]]]], name: str
) -> None:
    batch, rows = results[name]
    assert batch["status"] == "completed", batch
    obj = CATALOG.require(name)
    assert rows[0] == [f"{name}.{field.name}" for field in obj.export_fields]
    assert 1 <= len(rows) - 1 <= 5, f"{name} has no rows in the demo tenant"
    assert batch["recordCount"] == len(rows) - 1
    assert all(row[0] for row in rows[1:]), "every row has an Id"


@pytest.mark.parametrize("name", OBJECTS)
def test_describe_answers_every_object(demo: httpx.Client, name: str) -> None:
    response = demo.get(f"/v1/describe/{name}")
    assert response.status_code == 200, response.text
    root = ElementTree.fromstring(response.content)
    obj = CATALOG.require(name)
    assert root.findtext("name") == obj.name
    described = [field.findtext("name") for field in root.iter("field")]
    assert described == [field.name for field in obj.fields]
    joins = [element.findtext("name") for element in root.find("related-objects") or []]
    assert joins == [relation.name for relation in obj.related]


def test_describe_lists_every_object(demo: httpx.Client) -> None:
    response = demo.get("/v1/describe")
    assert response.status_code == 200, response.text
    listed = [element.findtext("name") for element in ElementTree.fromstring(response.content)]
    assert listed == OBJECTS
    assert len(listed) >= 22
