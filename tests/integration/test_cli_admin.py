"""``aquarium tenant|user|client ...`` through Typer's runner, writing to the metadata store of a
temporary data directory (SQLite) or to PostgreSQL (``--database-url``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner, Result

from aquarium.cli import admin as cli_admin
from aquarium.domain import tenancy
from aquarium.services import auth
from aquarium.store import database, tables, tenants_file, tenants_repo
from tests.integration import test_store_migrations as support

PGP_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGZ0\n-----END PGP PUBLIC KEY BLOCK-----\n"


def _app() -> typer.Typer:
    """The sub-apps mounted the way ``aquarium.cli`` mounts them."""
    app = typer.Typer()
    app.add_typer(cli_admin.tenant_app, name="tenant")
    app.add_typer(cli_admin.user_app, name="user")
    app.add_typer(cli_admin.client_app, name="client")
    return app


APP = _app()
Run = Callable[..., Result]


@pytest.fixture(params=support.BACKENDS)
def url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Where the commands write: ``None`` (the data dir's SQLite) or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        with support.pg_database(request.getfixturevalue("pg_dsn")) as made:
            yield made


@pytest.fixture
def run(tmp_path: Path, url: str | None) -> Run:
    runner = CliRunner(env={"COLUMNS": "200", cli_admin.METADATA_URL_ENV: None})

    def invoke(*args: str, stdin: str | None = None) -> Result:
        where = ["--data-dir", str(tmp_path)] + (["--database-url", url] if url else [])
        return runner.invoke(APP, [*args, *where], input=stdin)

    return invoke


@pytest.fixture
def load(tmp_path: Path, url: str | None) -> Callable[[], dict[str, tenancy.Tenant]]:
    """The tenants as the commands stored them."""

    def tenants() -> dict[str, tenancy.Tenant]:
        with database.opened(url, tmp_path) as engine, engine.connect() as conn:
            return tenants_repo.all_tenants(conn)

    return tenants


Load = Callable[[], dict[str, tenancy.Tenant]]


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _error(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def test_tenant_add_and_list(run: Run, load: Load) -> None:
    assert "tenant acme created (Europe/Berlin)" in _ok(
        run("tenant", "add", "acme", "--time-zone", "Europe/Berlin")
    )
    _ok(run("tenant", "add", "globex"))
    _ok(run("user", "add", "--tenant", "acme", "alice", "--password", "pw", "--admin"))
    _ok(run("client", "add", "--tenant", "acme", "--client-id", "acme-cid", "--secret", "s"))
    _ok(run("tenant", "set-segmentation", "acme", "--on"))
    listing = _ok(run("tenant", "list"))
    for text in ("acme", "Europe/Berlin", "alice (admin)", "acme-cid", "on", "globex"):
        assert text in listing
    assert "America/Los_Angeles" in listing  # the default time zone
    assert sorted(load()) == ["acme", "globex"]


def test_tenant_add_errors(run: Run) -> None:
    _ok(run("tenant", "add", "acme"))
    assert "already exists" in _error(run("tenant", "add", "acme"))
    assert "Unknown time zone 'Mars/Base'" in _error(
        run("tenant", "add", "other", "--time-zone", "Mars/Base")
    )
    assert "must be 1-40 lowercase" in _error(run("tenant", "add", "Bad-Name"))


def test_user_add_with_prompt(run: Run, load: Load) -> None:
    _ok(run("tenant", "add", "acme"))
    result = run("user", "add", "--tenant", "acme", "bob", stdin="hunter2\nhunter2\n")
    assert "user bob added to tenant acme" in _ok(result)
    assert "hunter2" not in result.stdout  # hidden input is not echoed
    authenticator = auth.Authenticator(load(), b"s" * 32)
    principal = authenticator.basic("bob", "hunter2")
    assert principal is not None and not principal.admin


def test_user_add_prompt_mismatch_asks_again(run: Run, load: Load) -> None:
    _ok(run("tenant", "add", "acme"))
    result = run("user", "add", "--tenant", "acme", "bob", stdin="one\ntwo\nthree\nthree\n")
    _ok(result)
    authenticator = auth.Authenticator(load(), b"s" * 32)
    assert authenticator.basic("bob", "three") is not None


def test_user_add_errors(run: Run) -> None:
    assert "Unknown tenant 'ghost'" in _error(
        run("user", "add", "--tenant", "ghost", "bob", "--password", "pw")
    )
    _ok(run("tenant", "add", "acme"))
    _ok(run("tenant", "add", "globex"))
    _ok(run("user", "add", "--tenant", "acme", "bob", "--password", "pw"))
    assert "already exists (tenant 'acme')" in _error(
        run("user", "add", "--tenant", "globex", "bob", "--password", "pw")
    )


def test_client_add_generates_id_and_secret(
    run: Run, load: Load, tmp_path: Path, url: str | None
) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("user", "add", "alice", "--tenant", "acme", "--password", "pw", "--admin"))
    output = _ok(run("client", "add", "--tenant", "acme"))
    assert "acting as user alice (admin)" in output
    fields = dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)
    client_id, secret = fields["client_id"], fields["client_secret"]
    assert len(client_id) == 36 and len(secret) >= 40
    stored = load()["acme"].clients
    assert [c.client_id for c in stored] == [client_id]
    authenticator = auth.Authenticator(load(), b"s" * 32)
    assert authenticator.issue_token(client_id, secret, now=dt.datetime.now(dt.UTC))
    with database.opened(url, tmp_path) as engine, engine.connect() as conn:
        rows = conn.execute(sa.select(tables.tenant_clients)).all()
    assert len(rows) == 1 and secret not in repr(rows)  # only its hash


def test_client_add_with_given_secret_does_not_echo_it(run: Run) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("user", "add", "alice", "--tenant", "acme", "--password", "pw"))
    output = _ok(run("client", "add", "--tenant", "acme", "--client-id", "c1", "--secret", "xyz"))
    assert "client_id: c1" in output and "xyz" not in output
    assert "already exists" in _error(
        run("client", "add", "--tenant", "acme", "--client-id", "c1", "--secret", "xyz")
    )


def test_a_client_acts_as_the_user_it_is_given(run: Run, load: Load) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("tenant", "add", "globex"))
    assert "has no user for the client to act as" in _error(
        run("client", "add", "--tenant", "acme", "--client-id", "c0", "--secret", "s")
    )
    _ok(run("user", "add", "alice", "--tenant", "acme", "--password", "pw", "--admin"))
    _ok(run("user", "add", "bob", "--tenant", "acme", "--password", "pw"))
    _ok(run("user", "add", "gus", "--tenant", "globex", "--password", "pw"))
    added = _ok(run("client", "add", "--tenant", "acme", "--client-id", "c1", "--secret", "s",
                    "--user", "bob"))  # fmt: skip
    assert "client added to tenant acme, acting as user bob" in added
    assert "no user of tenant 'acme'" in _error(
        run("client", "add", "--tenant", "acme", "--client-id", "c2", "--secret", "s",
            "--user", "gus")
    )  # fmt: skip
    assert [(c.client_id, c.user) for c in load()["acme"].clients] == [("c1", "bob")]
    listing = _ok(run("client", "list"))
    assert "c1" in listing and "user bob" in listing and "acme" in listing
    assert "now acts as user alice (admin)" in _ok(
        run("client", "set-user", "c1", "--user", "alice")
    )
    assert "alice (admin)" in _ok(run("client", "list", "--tenant", "acme"))
    assert "Unknown tenant 'ghost'" in _error(run("client", "list", "--tenant", "ghost"))
    assert "c1 (as alice)" in _ok(run("tenant", "list"))


def test_removing_a_clients_user_leaves_it_acting_as_nobody(run: Run, load: Load) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("user", "add", "alice", "--tenant", "acme", "--password", "pw", "--admin"))
    _ok(run("client", "add", "--tenant", "acme", "--client-id", "c1", "--secret", "s"))
    grant = auth.Authenticator(load(), b"s" * 32).issue_token(
        "c1", "s", now=dt.datetime.now(dt.UTC)
    )
    assert grant is not None
    removed = run("user", "remove", "alice")
    assert "user alice removed from tenant acme" in _ok(removed)
    assert "c1 acts as nobody now" in removed.stderr
    assert load()["acme"].clients[0].user is None
    authenticator = auth.Authenticator(load(), b"s" * 32)
    assert authenticator.bearer(grant.access_token, now=dt.datetime.now(dt.UTC)) is None
    assert authenticator.issue_token("c1", "s", now=dt.datetime.now(dt.UTC)) is None
    assert "nobody" in _ok(run("client", "list"))
    assert "Unknown user 'alice'" in _error(run("user", "remove", "alice"))
    assert "client c1 removed from tenant acme" in _ok(run("client", "remove", "c1"))
    assert load()["acme"].clients == ()
    assert "Unknown client 'c1'" in _error(run("client", "remove", "c1"))


def test_set_limit(run: Run, load: Load) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("tenant", "set-limit", "acme", "file_retention_s", "60"))
    _ok(run("tenant", "set-limit", "acme", "max-stateless-jobs", "2"))
    limits = load()["acme"].limits
    assert (limits.file_retention_s, limits.max_stateless_jobs) == (60, 2)
    assert "Unknown limit 'colour'" in _error(run("tenant", "set-limit", "acme", "colour", "1"))
    assert "at least 1" in _error(run("tenant", "set-limit", "acme", "segment_rows", "0"))
    assert run("tenant", "set-limit", "acme", "segment_rows", "many").exit_code == 2


def test_set_pgp_key(run: Run, load: Load, tmp_path: Path) -> None:
    _ok(run("tenant", "add", "acme"))
    key_file = tmp_path / "key.asc"
    key_file.write_text(PGP_KEY)
    _ok(run("tenant", "set-pgp-key", "acme", str(key_file)))
    assert load()["acme"].pgp_public_key == PGP_KEY
    not_a_key = tmp_path / "note.txt"
    not_a_key.write_text("hello")
    assert "PGP public key" in _error(run("tenant", "set-pgp-key", "acme", str(not_a_key)))
    assert "Cannot read" in _error(run("tenant", "set-pgp-key", "acme", str(tmp_path / "nope")))


def test_set_partners(run: Run, load: Load) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("tenant", "set-partners", "acme", "stitch", "fivetran"))
    assert load()["acme"].partners == ("stitch", "fivetran")
    assert "any" in _ok(run("tenant", "set-partners", "acme"))
    assert load()["acme"].partners == ()


def test_malformed_tenants_file_is_one_line(run: Run, tmp_path: Path) -> None:
    (tmp_path / tenants_file.TENANTS_FILE).write_text("{")
    line = _error(run("tenant", "list"))
    assert "The tenants file is malformed." in line and "not valid JSON" in line


def test_a_legacy_tenants_file_is_imported_before_the_change(
    run: Run, load: Load, tmp_path: Path
) -> None:
    legacy = {"tenants": {"acme": {"time_zone": "Europe/Paris"}}}
    (tmp_path / tenants_file.TENANTS_FILE).write_text(json.dumps(legacy))
    _ok(run("user", "add", "--tenant", "acme", "alice", "--password", "pw"))
    acme = load()["acme"]
    assert acme.time_zone == "Europe/Paris" and [u.name for u in acme.users] == ["alice"]
    assert (tmp_path / f"{tenants_file.TENANTS_FILE}.imported").exists()


@pytest.mark.postgres
def test_the_database_url_may_come_from_the_environment(pg_dsn: str, tmp_path: Path) -> None:
    with support.pg_database(pg_dsn) as url:
        runner = CliRunner(env={"COLUMNS": "200", cli_admin.METADATA_URL_ENV: url})
        result = runner.invoke(APP, ["tenant", "add", "acme", "--data-dir", str(tmp_path)])
        _ok(result)
        with database.opened(url, tmp_path) as engine, engine.connect() as conn:
            assert tenants_repo.names(conn) == ["acme"]
    assert not (tmp_path / database.METADATA_FILE).exists()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://nobody@127.0.0.1:1/nothing"])
def test_a_metadata_database_that_cannot_be_opened_is_one_line(tmp_path: Path, url: str) -> None:
    runner = CliRunner(env={cli_admin.METADATA_URL_ENV: None})
    result = runner.invoke(
        APP, ["tenant", "list", "--data-dir", str(tmp_path), "--database-url", url]
    )
    assert _error(result).startswith("error: cannot open the metadata database: ")
