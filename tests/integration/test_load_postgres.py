"""``aquarium load --engine postgres``: files exported from a DuckDB tenant load into PostgreSQL
(``COPY``) so that PostgreSQL exports the same bytes; a failed load leaves the schema as it was."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from aquarium import datagen
from aquarium.domain import errors
from aquarium.engines import naming, postgres_engine
from aquarium.services import bulk_load
from aquarium.store import database
from tests.integration import load_support as support

pytestmark = pytest.mark.postgres

SOURCE = "src"
TIME_ZONE = "Asia/Kolkata"  # a half-hour offset: +0530


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = tmp_path_factory.mktemp("load-pg") / "data"
    datagen.generate_into(found, SOURCE, scale=0.02, seed=5, time_zone=TIME_ZONE)
    return found


def test_every_object_loads_into_postgres_and_exports_the_same_bytes(
    data_dir: Path, pg_dsn: str, pg_schema: str, tmp_path: Path
) -> None:
    objects = [obj.name for obj in support.tenant_catalog(data_dir, SOURCE)[1]]
    before = support.export(data_dir, SOURCE, objects, tmp_path / "files")
    support.add_tenant(data_dir, pg_schema, TIME_ZONE)
    report = support.load(data_dir, pg_schema, tmp_path / "files", dsn=pg_dsn)
    assert set(report.rows) == set(objects) and report.total_rows > 1000
    after = support.export(data_dir, pg_schema, objects, tmp_path / "again", dsn=pg_dsn)
    different = [name for name in objects if before[name] != after[name]]
    assert not different, f"{len(different)} objects differ, e.g. {different[:5]}"


def test_a_failed_load_leaves_postgres_as_it_was(
    data_dir: Path, pg_dsn: str, pg_schema: str, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text("Id,Name\na,first\n")
    support.load(data_dir, pg_schema, files, dsn=pg_dsn)
    (files / "Account.csv").write_text("Id,Name\nb,second\n")
    (files / "Contact.csv").write_text("Id,AccountId\nc,b\nc,b\n")
    with pytest.raises(errors.LoadError, match="Id c is in more than one row"):
        support.load(data_dir, pg_schema, files, dsn=pg_dsn)
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            f'SELECT "Id", "Name" FROM "{naming.schema_name(pg_schema)}"."Account"'
        ).fetchall()
    assert rows == [("a", "first")]


def test_the_postgres_engine_replaces_objects_as_the_command_does(
    data_dir: Path, pg: postgres_engine.PostgresEngine, pg_dsn: str, pg_schema: str, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "Account.csv").write_text("Id,Name,Balance\na,first,1.5\n")
    with database.opened(None, data_dir) as metadata:
        report = bulk_load.load_directory(
            files, pg_schema, metadata=metadata, replace=pg.replace_objects
        )
    assert report.rows == {"Account": 1}
    text = support.export(
        data_dir,
        pg_schema,
        ["Account"],
        tmp_path / "x",
        dsn=pg_dsn,
        zoql="select Id, Balance from {}",
    )
    assert text["Account"] == b"Account.Id,Account.Balance\na,1.5\n"
