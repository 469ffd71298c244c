"""Issue 11, defects 6 and 8 over real HTTP: what a client reads when the engine fails (batch and
job messages, the job API) is ours and Zuora's, never the engine's; the issue's 2,000-column
query is refused at submit; the server goes on serving. (A report run's errorMessage:
``tests/integration/test_report_runs.py``.)

The widest query the catalogue allows (every field of InvoiceItem and of all it joins, 329
columns) needs more than a memory budget of 160 MB (the default before issue 15; this module's
server runs with it): it used to abort with "Out of Memory Error: ... (152.5 MiB/152.5 MiB
used)".
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from aquarium.catalog import model
from tests.acceptance import support

ENGINE_WORDS = ("Error:", "MiB", "Binder", "Conversion", "Catalog", "DuckDB", "LINE ")
OUT_OF_MEMORY = (
    "The query execution has been aborted. The query needs more memory than the server gives "
    "one query: select fewer columns, or split it into several queries."
)


SMALL_BUDGET = "160MB"  # the widest query needs more: the engine runs out of memory


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client of a server of its own, whose DuckDB budget the widest query exceeds."""
    data_dir = tmp_path_factory.mktemp("engine-words") / "data"
    server = support.start_server(
        "engine-words",
        data_dir,
        demo_scale=0.05,
        # The widest query joins: it would run under the building budget (2GB) otherwise.
        env={
            "AQUARIUM_DUCKDB_MEMORY_LIMIT": SMALL_BUDGET,
            "AQUARIUM_DUCKDB_BUILD_MEMORY_LIMIT": "",
        },
    )
    try:
        with server.client() as client:
            yield client
    finally:
        server.stop()


def _widest() -> str:
    """InvoiceItem with as many of its joins' ``*`` as fit Zuora's 500 columns."""
    catalog = model.default()
    item = catalog.require("InvoiceItem")
    width, stars = len(item.export_fields), []
    for relation in item.related:
        more = len(catalog.require(relation.object).export_fields)
        if width + more <= 500:
            width += more
            stars.append(f"{relation.name}.*")
    return f"select InvoiceItem.*, {', '.join(stars)} from InvoiceItem"


def test_an_aborted_batch_says_what_failed_in_our_words(demo: httpx.Client) -> None:
    submitted = support.submit_ok(demo, support.stateless(_widest(), "select Id from Account"))
    done = support.wait_for_job(demo, submitted["id"])
    assert done["status"] == "aborted", done
    assert [b["status"] for b in done["batches"]] == ["aborted", "cancelled"]
    assert done["batches"][0]["message"] == OUT_OF_MEMORY
    listed = demo.get(f"/aquarium/api/v1/jobs/{submitted['id']}").json()
    assert listed["message"] == OUT_OF_MEMORY
    for text in (json.dumps(done), json.dumps(listed)):
        assert not any(word in text for word in ENGINE_WORDS), text
    # The engine is usable at once.
    support.run_job(demo, support.stateless("select Id, Name from Account"))


def test_the_issues_2000_column_query_is_refused_at_submit(demo: httpx.Client) -> None:
    issue = "select " + ", ".join(["Id"] * 2000) + " from Account"  # 9 KB
    answer = support.assert_error(
        demo.post("/v1/batch-query/", json=support.stateless(issue)), "90005"
    )
    assert answer["message"].endswith(
        "a query selects at most 500 columns; this one selects 2,000"
    ), answer
