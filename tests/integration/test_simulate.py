"""``aquarium simulate``: deterministic activity through the write path, references kept intact."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from aquarium import datagen
from aquarium.catalog import model
from aquarium.datagen import activity, simulate
from aquarium.domain import errors
from aquarium.engines import billing_writes, naming

TENANT = "sim"
SCALE = 0.4  # 400 accounts: two touched per simulated day
DAYS = 20
SEED = 1  # a seed whose 20 days include every kind of deletion


class _AfterGeneratedData:
    """The wall clock, moved past the generator's span when the machine's clock is before it
    (so "changed since the start" separates simulated from generated rows)."""

    def __init__(self) -> None:
        floor = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        self.offset = max(dt.timedelta(0), floor - dt.datetime.now(dt.UTC))

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def _fresh(directory: Path) -> Path:
    datagen.generate_into(directory, TENANT, scale=SCALE, seed=3, time_zone="Europe/Paris")
    return directory


@pytest.fixture(scope="module")
def simulated(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, simulate.SimulationReport]:
    directory = _fresh(tmp_path_factory.mktemp("sim"))
    clock = _AfterGeneratedData()
    return directory, simulate.simulate_into(directory, TENANT, days=DAYS, seed=SEED, clock=clock)


def _connect(directory: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(directory / naming.DUCKDB_FILE), read_only=True)


def test_the_same_data_and_seed_give_the_same_activity(
    simulated: tuple[Path, simulate.SimulationReport], tmp_path: Path
) -> None:
    _, report = simulated
    again = simulate.simulate_into(_fresh(tmp_path), TENANT, days=DAYS, seed=SEED)
    assert again.counts == report.counts
    assert again.changed == report.changed  # ids included
    other_seed = simulate.simulate_into(tmp_path, TENANT, days=2, seed=SEED + 1)
    assert other_seed.changed != report.changed


def test_activity_covers_creates_updates_and_deletes(
    simulated: tuple[Path, simulate.SimulationReport],
) -> None:
    _, report = simulated
    deleted = {obj for obj, operation in report.counts if operation == "delete"}
    assert deleted == {"Usage", "Invoice", "InvoiceItem"}
    for obj in ("Account", "Contact", "Subscription", "Invoice", "InvoiceItem", "Payment"):
        assert report.counts.get((obj, "create"), 0) > 0, obj
    assert report.counts[("Account", "update")] > 0
    # about 0.5% of 400 accounts a day plus new customers: tens of actions, not thousands
    assert 50 < report.total < 2000


def test_volume_grows_with_days(tmp_path: Path) -> None:
    directory = _fresh(tmp_path)
    one = simulate.simulate_into(directory, TENANT, days=1, seed=SEED)
    many = simulate.simulate_into(directory, TENANT, days=10, seed=SEED)
    assert many.total > 3 * one.total


def test_every_reference_of_a_live_row_names_a_live_row(
    simulated: tuple[Path, simulate.SimulationReport],
) -> None:
    directory, _ = simulated
    catalog = model.default()
    schema = naming.schema_name(TENANT)
    dangling = {}
    with _connect(directory) as con:
        for obj in catalog:
            for key, target in billing_writes.references(catalog, obj).items():
                (count,) = con.execute(
                    f'SELECT count(*) FROM "{schema}"."{obj.name}" s '
                    f'WHERE s."_DeletedDate" IS NULL AND s."{key}" IS NOT NULL AND NOT EXISTS '
                    f'(SELECT 1 FROM "{schema}"."{target}" t '
                    f'WHERE t."Id" = s."{key}" AND t."_DeletedDate" IS NULL)'
                ).fetchone() or (0,)
                if count:
                    dangling[f"{obj.name}.{key}"] = count
    assert dangling == {}


def test_exactly_the_rows_written_carry_an_updated_date_after_the_start(
    simulated: tuple[Path, simulate.SimulationReport],
) -> None:
    directory, report = simulated
    schema = naming.schema_name(TENANT)
    since = report.started_at.astimezone(dt.UTC).replace(tzinfo=None)
    found = set()
    with _connect(directory) as con:
        for obj in model.default():
            rows = con.execute(
                f'SELECT "Id", "_DeletedDate" IS NOT NULL FROM "{schema}"."{obj.name}" '
                f"WHERE \"UpdatedDate\" AT TIME ZONE 'UTC' >= ?",
                [since],
            ).fetchall()
            found |= {(obj.name, row[0]) for row in rows}
            deletes = report.counts.get((obj.name, "delete"), 0)
            assert sum(1 for row in rows if row[1]) == deletes, obj.name
    assert found == report.changed


def test_refuses_bad_arguments_and_missing_data(tmp_path: Path) -> None:
    with pytest.raises(errors.DataGenerationError):
        simulate.simulate_into(tmp_path, TENANT, days=0, seed=1)
    with pytest.raises(errors.TenantDataMissing):
        simulate.simulate_into(tmp_path, TENANT, days=1, seed=1)
    with pytest.raises(errors.DataGenerationError):
        simulate.simulate_into(tmp_path, "Bad Name", days=1, seed=1)


def test_the_command_reports_what_it_did(
    simulated: tuple[Path, simulate.SimulationReport],
) -> None:
    directory, _ = simulated
    command = [sys.executable, "-m", "aquarium", "simulate", "--data-dir", str(directory)]
    done = subprocess.run(
        [*command, "--tenant", TENANT, "--days", "1", "--seed", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Account" in done.stdout
    assert "writes in" in done.stdout
    missing = subprocess.run(
        [*command, "--tenant", "nobody", "--days", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ")


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_plays_the_same_activity_as_duckdb(
    tmp_path: Path, pg_dsn: str, pg_schema: str
) -> None:
    """Same data and seed, same writes on both engines (the write path reads rows in the same
    order on both), through the same BillingWrites."""
    duck, pg = tmp_path / "duck", tmp_path / "pg"
    for directory, engine in ((duck, "duckdb"), (pg, "postgres")):
        datagen.generate_into(
            directory, pg_schema, scale=0.1, seed=3, engine=engine, dsn=pg_dsn, time_zone="UTC"
        )
    on_duckdb = simulate.simulate_into(duck, pg_schema, days=3, seed=SEED)
    on_postgres = simulate.simulate_into(
        pg, pg_schema, days=3, seed=SEED, engine="postgres", dsn=pg_dsn
    )
    assert on_postgres.total > 0
    assert on_postgres.counts == on_duckdb.counts
    assert on_postgres.changed == on_duckdb.changed


@pytest.mark.postgres
def test_the_command_simulates_on_postgres(tmp_path: Path, pg_dsn: str, pg_schema: str) -> None:
    datagen.generate_into(tmp_path, pg_schema, scale=0.1, seed=3, engine="postgres", dsn=pg_dsn)
    command = [sys.executable, "-m", "aquarium", "simulate", "--data-dir", str(tmp_path)]
    command += ["--tenant", pg_schema, "--days", "2", "--engine", "postgres"]

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *extra], capture_output=True, text=True, timeout=120, check=False
        )

    done = run("--dsn", pg_dsn)
    assert done.returncode == 0, done.stderr
    assert "writes in" in done.stdout
    schema = naming.schema_name(pg_schema)
    with psycopg.connect(pg_dsn) as conn:
        written = conn.execute(
            f'SELECT count(*) FROM "{schema}"."Account" WHERE "UpdatedById" = ANY(%s)',
            [[billing_writes.actor_id(name) for name in activity.ACTORS]],
        ).fetchone()
    assert written is not None and written[0] > 0
    for extra, words in (
        ((), "needs a DSN"),
        (("--dsn", "postgresql://nobody@127.0.0.1:1/none"), "cannot use the PostgreSQL database"),
    ):
        refused = run(*extra)
        assert refused.returncode == 1
        assert refused.stderr.startswith("error: ") and words in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
