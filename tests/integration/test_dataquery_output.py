"""Data Query result files written by real engines: every format and compression, values rendered
as docs/data-query.md says, the same bytes from DuckDB and PostgreSQL, encryption, cancel."""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from aquarium.dataquery import output
from aquarium.domain import errors
from aquarium.engines import base, duckdb_engine, naming, postgres_engine
from aquarium.export import writer

TENANT = "outs"
LA = "America/Los_Angeles"
# Test-only SQL: a tiny billing table holding every kind of value a file must render.
ROWS_SQL = """
INSERT INTO {table} VALUES
 ('A1', 'plain', 230.0, TIMESTAMPTZ '2018-06-14 18:40:51+00', DATE '2018-05-16', true, 1, NULL),
 ('A2', 'a "quoted", comma', 345.4, TIMESTAMPTZ '2018-01-14 18:40:51.123+00', DATE '2019-12-31',
  false, -2, ''),
 ('A3', 'line
break|pipe	tab;semi', 395.63, TIMESTAMPTZ '2018-06-14 07:00:00.000999+00', NULL, NULL, NULL,
  'x'),
 ('A4', 'unicode é ☃ 日本', -0.5, NULL, DATE '2018-01-01', true, 12345678901234,
  '99999999999999.9999')
"""
TABLE_SQL = (
    'CREATE TABLE {table} ("Id" VARCHAR, "Name" VARCHAR, "Balance" {decimal}, '
    '"CreatedDate" TIMESTAMPTZ, "Day" DATE, "Flag" BOOLEAN, "Count" BIGINT, "Note" VARCHAR)'
)
SELECT_SQL = (
    'SELECT "Id" AS id, "Name" AS name, "Balance" AS balance, "CreatedDate" AS createddate, '
    '"Day" AS day, "Flag" AS flag, "Count" AS count, "Note" AS note '
    'FROM "tenant_{tenant}"."Account" ORDER BY "Id"'
)
EXPECTED_JSON = [
    '{"id":"A1","name":"plain","balance":230.0,"createddate":"2018-06-14T11:40:51-07:00",'
    '"day":"2018-05-16","flag":true,"count":1,"note":null}',
    '{"id":"A2","name":"a \\"quoted\\", comma","balance":345.4,'
    '"createddate":"2018-01-14T10:40:51.123-08:00","day":"2019-12-31","flag":false,'
    '"count":-2,"note":""}',
    '{"id":"A3","name":"line\\nbreak|pipe\\ttab;semi","balance":395.63,'
    '"createddate":"2018-06-14T00:00:00-07:00","day":null,"flag":null,"count":null,'
    '"note":"x"}',
    '{"id":"A4","name":"unicode é ☃ 日本","balance":-0.5,"createddate":null,'
    '"day":"2018-01-01","flag":true,"count":12345678901234,"note":"99999999999999.9999"}',
]
EXPECTED_CSV = (
    "id,name,balance,createddate,day,flag,count,note\n"
    "A1,plain,230.0,2018-06-14T11:40:51-07:00,2018-05-16,true,1,\n"
    'A2,"a ""quoted"", comma",345.4,2018-01-14T10:40:51.123-08:00,2019-12-31,false,-2,""\n'
    'A3,"line\nbreak|pipe\ttab;semi",395.63,2018-06-14T00:00:00-07:00,,,,x\n'
    "A4,unicode é ☃ 日本,-0.5,,2018-01-01,true,12345678901234,99999999999999.9999\n"
)


def _duck_tenant(path: Path) -> duckdb_engine.DuckDbEngine:
    connection = duckdb.connect(str(path))
    table = f'"{naming.schema_name(TENANT)}"."Account"'
    connection.execute(f'CREATE SCHEMA "{naming.schema_name(TENANT)}"')
    connection.execute(TABLE_SQL.format(table=table, decimal="DECIMAL(18, 4)"))
    connection.execute(ROWS_SQL.format(table=table))
    connection.close()
    return duckdb_engine.DuckDbEngine(path)


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb_engine.DuckDbEngine]:
    engine = _duck_tenant(tmp_path_factory.mktemp("dqout") / "billing.duckdb")
    yield engine
    engine.close()


@pytest.fixture
def pg(pg_dsn: str, pg_schema: str) -> tuple[postgres_engine.PostgresEngine, str]:
    import psycopg

    table = f'"{naming.schema_name(pg_schema)}"."Account"'
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{naming.schema_name(pg_schema)}"'.encode())
        conn.execute(TABLE_SQL.format(table=table, decimal="NUMERIC(18, 4)").encode())
        conn.execute(ROWS_SQL.format(table=table).encode())
    return postgres_engine.PostgresEngine(pg_dsn), pg_schema


def _write(
    engine: base.QueryEngine,
    tenant: str,
    spec: output.OutputSpec,
    path: Path,
    sql: str | None = None,
) -> writer.WrittenFile:
    with engine.snapshot(tenant) as snapshot:
        return output.write_query(
            snapshot, sql or SELECT_SQL.format(tenant=tenant), spec, path, entry_name="job-1"
        )


def _plain(written: writer.WrittenFile, spec: output.OutputSpec) -> bytes:
    """The file's rows, unpacked; checks what a client is told about the file."""
    data = written.path.read_bytes()
    assert written.size == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.content_type == spec.content_type()
    if spec.compression is output.Compression.GZIP:
        return gzip.decompress(data)
    if spec.compression is output.Compression.ZIP:
        with zipfile.ZipFile(written.path) as archive:
            (entry,) = archive.infolist()
            assert entry.filename == f"job-1.{output.EXTENSIONS[spec.format]}"
            return archive.read(entry)
    return data


def _leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


@pytest.mark.parametrize("compression", list(output.Compression))
def test_json_lines_render_every_value_as_documented(
    duck: duckdb_engine.DuckDbEngine, compression: output.Compression, tmp_path: Path
) -> None:
    spec = output.OutputSpec(output.OutputFormat.JSON, compression, time_zone=LA)
    written = _write(duck, TENANT, spec, tmp_path / "out")
    assert written.record_count == 4
    assert _plain(written, spec).decode("utf-8").split("\n") == [*EXPECTED_JSON, ""]
    assert _leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("compression", list(output.Compression))
def test_csv_quotes_only_when_needed_and_leaves_nulls_empty(
    duck: duckdb_engine.DuckDbEngine, compression: output.Compression, tmp_path: Path
) -> None:
    spec = output.OutputSpec(output.OutputFormat.CSV, compression, time_zone=LA)
    written = _write(duck, TENANT, spec, tmp_path / "out")
    assert written.record_count == 4
    assert _plain(written, spec).decode("utf-8") == EXPECTED_CSV


@pytest.mark.parametrize(
    ("file_format", "separator"),
    [
        (output.OutputFormat.TSV, None),
        (output.OutputFormat.DSV, "|"),
        (output.OutputFormat.DSV, ";"),
    ],
)
def test_tsv_and_dsv_quote_values_holding_their_separator(
    duck: duckdb_engine.DuckDbEngine,
    file_format: output.OutputFormat,
    separator: str | None,
    tmp_path: Path,
) -> None:
    spec = output.OutputSpec(file_format, column_separator=separator, time_zone=LA)
    text = _plain(_write(duck, TENANT, spec, tmp_path / "out"), spec).decode("utf-8")
    delimiter = spec.delimiter()
    header, first, second, third = text.split("\n")[:4]
    assert header == delimiter.join(["id", "name", "balance", "createddate", "day", "flag"]) + (
        delimiter + delimiter.join(["count", "note"])
    )
    assert first == delimiter.join(
        ["A1", "plain", "230.0", "2018-06-14T11:40:51-07:00", "2018-05-16", "true", "1", ""]
    )
    # A comma needs no quotes outside CSV; the quote always does.
    assert second.split(delimiter)[1] == '"a ""quoted"", comma"'
    assert third == "A3" + delimiter + '"line'  # the value holding a line feed is quoted


def test_timestamps_follow_the_time_zone_asked_for(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    sql = (
        'SELECT "CreatedDate" AS c FROM "tenant_outs"."Account" '
        'WHERE "CreatedDate" IS NOT NULL ORDER BY "Id"'
    )
    found = {}
    for zone in ("UTC", "Asia/Kolkata", "America/St_Johns", LA):
        spec = output.OutputSpec(output.OutputFormat.CSV, time_zone=zone)
        text = _plain(_write(duck, TENANT, spec, tmp_path / zone.replace("/", "_"), sql), spec)
        found[zone] = text.decode().split("\n")[1:4]
    assert found["UTC"] == [
        "2018-06-14T18:40:51+00:00",
        "2018-01-14T18:40:51.123+00:00",
        "2018-06-14T07:00:00+00:00",  # 999 microseconds: no millisecond to show
    ]
    assert found["Asia/Kolkata"][0] == "2018-06-15T00:10:51+05:30"
    assert found["America/St_Johns"][:2] == [
        "2018-06-14T16:10:51-02:30",
        "2018-01-14T15:10:51.123-03:30",
    ]
    assert found[LA][1] == "2018-01-14T10:40:51.123-08:00"


@pytest.mark.parametrize("file_format", list(output.OutputFormat))
@pytest.mark.parametrize("compression", list(output.Compression))
def test_an_empty_result_is_a_header_or_nothing(
    duck: duckdb_engine.DuckDbEngine,
    file_format: output.OutputFormat,
    compression: output.Compression,
    tmp_path: Path,
) -> None:
    separator = "^" if file_format is output.OutputFormat.DSV else None
    spec = output.OutputSpec(file_format, compression, column_separator=separator)
    sql = 'SELECT "Id" AS id, "Name" AS name FROM "tenant_outs"."Account" WHERE false'
    written = _write(duck, TENANT, spec, tmp_path / "out", sql)
    assert written.record_count == 0
    expected = b"" if file_format is output.OutputFormat.JSON else f"id{spec.delimiter()}name\n"
    assert _plain(written, spec) == (expected if isinstance(expected, bytes) else expected.encode())


def test_decimals_are_exact_in_delimited_files_and_doubles_in_json(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    sql = (
        "SELECT CAST('99999999999999.9999' AS DECIMAL(18, 4)) AS a, "
        "CAST('99999999999.9999' AS DECIMAL(18, 4)) AS b, CAST('0.0001' AS DECIMAL(18, 4)) AS c, "
        "CAST('12.5000000000000000001' AS DECIMAL(38, 19)) AS d, CAST(7 AS DECIMAL(10, 0)) AS e, "
        "CAST('-1234.5600' AS DECIMAL(30, 8)) AS f"
    )
    spec = output.OutputSpec(output.OutputFormat.CSV)
    text = _plain(_write(duck, TENANT, spec, tmp_path / "csv", sql), spec).decode()
    assert (
        text.split("\n")[1]
        == "99999999999999.9999,99999999999.9999,0.0001,12.5000000000000000001,7,-1234.56"
    )
    spec = output.OutputSpec(output.OutputFormat.JSON)
    text = _plain(_write(duck, TENANT, spec, tmp_path / "json", sql), spec).decode()
    # Up to 15 significant digits a double is exact; beyond, the nearest double.
    assert text == (
        '{"a":100000000000000.0,"b":99999999999.9999,"c":0.0001,"d":12.5,"e":7,"f":-1234.56}\n'
    )


def _key_pair() -> tuple[str, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode(), pem


@pytest.mark.parametrize("compression", list(output.Compression))
def test_an_encrypted_file_decrypts_to_the_plain_one(
    duck: duckdb_engine.DuckDbEngine, compression: output.Compression, tmp_path: Path
) -> None:
    public, private = _key_pair()
    plain_spec = output.OutputSpec(output.OutputFormat.CSV, compression, time_zone=LA)
    spec = output.OutputSpec(
        output.OutputFormat.CSV, compression, encryption_key=public, time_zone=LA
    )
    written = _write(duck, TENANT, spec, tmp_path / "secret")
    assert written.content_type == "application/octet-stream"
    assert written.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()
    assert b"plain" not in written.path.read_bytes()
    opened = output.decrypt_file(written.path, private)
    (tmp_path / "opened").write_bytes(opened)
    unpacked = _plain(
        writer.WrittenFile(
            tmp_path / "opened",
            4,
            len(opened),
            hashlib.sha256(opened).hexdigest(),
            plain_spec.content_type(),
        ),
        plain_spec,
    )
    assert unpacked.decode() == EXPECTED_CSV
    assert _leftovers(tmp_path / "secret") == ["opened"]
    _, other = _key_pair()
    with pytest.raises(ValueError, match="another key"):
        output.decrypt_file(written.path, other)


def test_an_unusable_key_fails_the_file_and_leaves_nothing(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    spec = output.OutputSpec(output.OutputFormat.CSV, encryption_key="not a key!")
    with pytest.raises(errors.EncryptionFailed, match="not valid base64"):
        _write(duck, TENANT, spec, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def _interrupted(engine: base.QueryEngine, tenant: str, sql: str, tmp_path: Path) -> None:
    """Start a COPY that would run for hours; interrupt it until it stops: it raises
    QueryInterrupted and leaves no file."""
    outcome: list[BaseException | None] = []
    spec = output.OutputSpec(output.OutputFormat.JSON, output.Compression.GZIP)
    with engine.snapshot(tenant) as snapshot:

        def run() -> None:
            try:
                output.write_query(snapshot, sql, spec, tmp_path / "out", entry_name="x")
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        while worker.is_alive():
            snapshot.interrupt()
            worker.join(0.05)
    assert len(outcome) == 1
    assert isinstance(outcome[0], errors.QueryInterrupted)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_stops_a_long_copy_on_duckdb(
    duck: duckdb_engine.DuckDbEngine, tmp_path: Path
) -> None:
    sql = "SELECT a.range * b.range AS n FROM range(1000000) a, range(1000000) b"
    _interrupted(duck, TENANT, sql, tmp_path)


@pytest.mark.parametrize("file_format", [output.OutputFormat.JSON, output.OutputFormat.CSV])
def test_repeated_labels_are_made_unique(
    duck: duckdb_engine.DuckDbEngine, file_format: output.OutputFormat, tmp_path: Path
) -> None:
    spec = output.OutputSpec(file_format)
    sql = "SELECT 1 AS x, 2 AS x, 3 AS x_1, 4 AS x"
    text = _plain(_write(duck, TENANT, spec, tmp_path / "out", sql), spec).decode()
    if file_format is output.OutputFormat.JSON:
        assert text == '{"x":1,"x_1":2,"x_1_1":3,"x_2":4}\n'
    else:
        assert text == "x,x_1,x_1_1,x_2\n1,2,3,4\n"


# PostgreSQL: the same bytes ------------------------------------------------------------


def _specs() -> list[output.OutputSpec]:
    specs = []
    for file_format in output.OutputFormat:
        separator = "|" if file_format is output.OutputFormat.DSV else None
        for compression in output.Compression:
            specs.append(output.OutputSpec(file_format, compression, separator, time_zone=LA))
    return specs


@pytest.mark.postgres
@pytest.mark.parametrize("spec", _specs(), ids=lambda s: s.file_extension())
def test_postgres_writes_the_same_rows_as_duckdb(
    duck: duckdb_engine.DuckDbEngine,
    pg: tuple[postgres_engine.PostgresEngine, str],
    spec: output.OutputSpec,
    tmp_path: Path,
) -> None:
    engine, tenant = pg
    from_duck = _write(duck, TENANT, spec, tmp_path / "duck")
    from_pg = _write(engine, tenant, spec, tmp_path / "pg")
    assert from_pg.record_count == from_duck.record_count == 4
    assert _plain(from_pg, spec) == _plain(from_duck, spec)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "expression",
    [
        "CAST('99999999999999.9999' AS DECIMAL(18, 4))",
        "CAST('12.5000000000000000001' AS DECIMAL(38, 19))",
        "CAST(7 AS DECIMAL(10, 0))",
        "CAST(0 AS DECIMAL(18, 4))",
        "CAST(2.0 AS DOUBLE PRECISION)",
        "CAST(0.1 AS DOUBLE PRECISION)",
        "CAST('NaN' AS DOUBLE PRECISION)",
        "TIMESTAMP '2018-06-14 18:40:51.5'",
        "TIMESTAMPTZ '1850-06-14 18:40:51+00'",
        "CAST('x' AS VARCHAR) || chr(10) || '\"'",
        "CAST(NULL AS VARCHAR)",
        "'50% {x} $1'",
        "chr(1) || chr(31) || chr(11) || chr(127) || '/é☃\\'",
        "CAST('' AS VARCHAR)",
    ],
)
@pytest.mark.parametrize("file_format", [output.OutputFormat.JSON, output.OutputFormat.CSV])
def test_postgres_renders_each_value_as_duckdb_does(
    duck: duckdb_engine.DuckDbEngine,
    pg: tuple[postgres_engine.PostgresEngine, str],
    expression: str,
    file_format: output.OutputFormat,
    tmp_path: Path,
) -> None:
    engine, tenant = pg
    spec = output.OutputSpec(file_format, time_zone=LA)
    sql = f"SELECT {expression} AS v, 1 AS v"  # a repeated label too
    duck_sql = sql.replace("DOUBLE PRECISION", "DOUBLE")
    from_duck = _plain(_write(duck, TENANT, spec, tmp_path / "duck", duck_sql), spec)
    from_pg = _plain(_write(engine, tenant, spec, tmp_path / "pg", sql), spec)
    assert from_pg == from_duck


@pytest.mark.postgres
def test_an_interrupt_stops_a_long_copy_on_postgres(
    pg: tuple[postgres_engine.PostgresEngine, str], tmp_path: Path
) -> None:
    engine, tenant = pg
    sql = "SELECT a * b AS n FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b"
    _interrupted(engine, tenant, sql, tmp_path)


@pytest.mark.postgres
@pytest.mark.parametrize("file_format", [output.OutputFormat.JSON, output.OutputFormat.DSV])
def test_postgres_writes_awkward_labels_as_duckdb_does(
    duck: duckdb_engine.DuckDbEngine,
    pg: tuple[postgres_engine.PostgresEngine, str],
    file_format: output.OutputFormat,
    tmp_path: Path,
) -> None:
    engine, tenant = pg
    spec = output.OutputSpec(file_format, column_separator=",")
    sql = 'SELECT 1 AS "a""b", 2 AS "c,d", 3 AS "é ☃", 4 AS "Table"'
    from_duck = _plain(_write(duck, TENANT, spec, tmp_path / "duck", sql), spec)
    from_pg = _plain(_write(engine, tenant, spec, tmp_path / "pg", sql), spec)
    assert from_pg == from_duck
    expected = (
        '{"a\\"b":1,"c,d":2,"é ☃":3,"Table":4}\n'
        if file_format is output.OutputFormat.JSON
        else '"a""b","c,d",é ☃,Table\n1,2,3,4\n'
    )
    assert from_duck.decode() == expected
