"""tap-zuora (Singer's Zuora tap, from PyPI, unchanged) discovers Aquarium's whole data model.

Its discovery reads ``GET /v1/describe``, every ``GET /v1/describe/{Object}``, and probes each
object with a stateful ``select * from X limit 1`` job that it cancels at once; an object whose
probe fails is dropped from the catalog. So every object must be listed, described, and
queryable, with the types it maps (text, picklist, boolean, integer, decimal, date, datetime)
and its joins (``<Join>Id`` properties).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aquarium.catalog import model
from tests.acceptance import support
from tests.acceptance.conftest import DEMO_PARTNERS
from tests.clients import venvs

TAP_VERSION = "1.6.1"
DRIVER = Path(__file__).resolve().parents[1] / "clients" / "tap_zuora_discover.py"
DISCOVERY_TIMEOUT_S = 900
#: Types tap-zuora's discovery maps the describe XML's types to (tap_zuora.discover.TYPE_MAP).
TAP_TYPES = {
    model.FieldType.TEXT: "string",
    model.FieldType.PICKLIST: "string",
    model.FieldType.BOOLEAN: "boolean",
    model.FieldType.INTEGER: "integer",
    model.FieldType.DECIMAL: "number",
}


def discover(server: support.RunningServer, **config: str) -> dict[str, dict[str, Any]]:
    """The tap's discovered streams by name."""
    python = venvs.python_of("tap-zuora", TAP_VERSION)
    settings = {
        "username": "demo",
        "password": "demo",
        "partner_id": DEMO_PARTNERS[1],
        "api_type": "AQUA",
        "start_date": "2021-01-01T00:00:00Z",
        **config,
    }
    finished = subprocess.run(
        [str(python), str(DRIVER), server.base_url + "/", json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=DISCOVERY_TIMEOUT_S,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    return {stream["stream"]: stream for stream in json.loads(finished.stdout)}


@pytest.fixture(scope="module")
def streams(server: support.RunningServer) -> dict[str, dict[str, Any]]:
    return discover(server)


def test_discovery_lists_every_object(streams: dict[str, dict[str, Any]]) -> None:
    assert sorted(streams) == sorted(obj.name for obj in model.default())


@pytest.mark.parametrize("name", sorted(obj.name for obj in model.default()))
def test_each_stream_has_the_objects_fields_types_and_joins(
    streams: dict[str, dict[str, Any]], name: str
) -> None:
    obj = model.default().require(name)
    stream = streams[name]
    properties = stream["schema"]["properties"]
    for field in obj.export_fields:
        declared = properties[field.name]["type"]
        if field.type in TAP_TYPES:
            assert declared == [TAP_TYPES[field.type], "null"], field.name
        else:
            assert declared == ["string", "null"] and properties[field.name]["format"] == (
                "date-time"
            ), field.name
    for relation in obj.related:
        assert f"{relation.name}Id" in properties, relation.name
    # The probe has no deleted section, so a probe that runs makes Deleted available.
    assert "Deleted" in properties
    assert stream["key_properties"] == ["Id"]
    assert stream["replication_key"] == "UpdatedDate"
