"""Deleted rows in Data Query (reference dataquery.md 8.6): left out by default, only them with
``readDeleted``, both when the query selects the ``deleted`` column; on the scratch server,
whose data tests may change through object CRUD."""

from __future__ import annotations

import uuid

import httpx

from tests.acceptance import dataquery_support as dq


def _ids(client: httpx.Client, query: str, **more: object) -> dict[str, object]:
    job = dq.run(client, dq.body(query, **more))
    return {str(row["id"]): row.get("deleted") for row in dq.json_lines(dq.download(job))}


def test_deleted_rows_by_read_deleted_and_the_deleted_column(scratch: httpx.Client) -> None:
    name = f"DQ deleted {uuid.uuid4().hex[:8]}"
    made = scratch.post(
        "/v1/object/account", json={"Name": name, "Currency": "USD", "BillCycleDay": 1}
    )
    assert made.status_code == 200, made.text
    account = made.json()["Id"]
    kept = scratch.post(
        "/v1/object/account", json={"Name": name, "Currency": "USD", "BillCycleDay": 2}
    ).json()["Id"]
    assert scratch.delete(f"/v1/object/account/{account}").status_code == 200
    query = f"select id from account where name = '{name}'"

    assert set(_ids(scratch, query)) == {kept}
    assert set(_ids(scratch, query, readDeleted=True)) == {account}
    both = _ids(scratch, f"select id, deleted from account where name = '{name}'")
    assert both == {account: True, kept: False}
    only = _ids(scratch, f"select id, deleted from account where name = '{name}' and deleted")
    assert only == {account: True}
