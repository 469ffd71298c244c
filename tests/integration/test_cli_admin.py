"""``aquarium tenant|user|client ...`` through Typer's runner, on a temporary data directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from aquarium.cli import admin as cli_admin
from aquarium.services import auth
from aquarium.store import tenants_file

PGP_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGZ0\n-----END PGP PUBLIC KEY BLOCK-----\n"


def _app() -> typer.Typer:
    """The sub-apps mounted the way ``aquarium.cli`` mounts them."""
    app = typer.Typer()
    app.add_typer(cli_admin.tenant_app, name="tenant")
    app.add_typer(cli_admin.user_app, name="user")
    client_app = typer.Typer()
    client_app.command("add")(cli_admin.client_add)
    app.add_typer(client_app, name="client")
    return app


APP = _app()
Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    runner = CliRunner(env={"COLUMNS": "200"})

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(APP, [*args, "--data-dir", str(tmp_path)], input=stdin)

    return invoke


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _error(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def test_tenant_add_and_list(run: Run, tmp_path: Path) -> None:
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
    assert tenants_file.tenant_names(tmp_path) == ["acme", "globex"]


def test_tenant_add_errors(run: Run) -> None:
    _ok(run("tenant", "add", "acme"))
    assert "already exists" in _error(run("tenant", "add", "acme"))
    assert "Unknown time zone 'Mars/Base'" in _error(
        run("tenant", "add", "other", "--time-zone", "Mars/Base")
    )
    assert "must be 1-40 lowercase" in _error(run("tenant", "add", "Bad-Name"))


def test_user_add_with_prompt(run: Run, tmp_path: Path) -> None:
    _ok(run("tenant", "add", "acme"))
    result = run("user", "add", "--tenant", "acme", "bob", stdin="hunter2\nhunter2\n")
    assert "user bob added to tenant acme" in _ok(result)
    assert "hunter2" not in result.stdout  # hidden input is not echoed
    authenticator = auth.Authenticator(tenants_file.load(tmp_path), b"s" * 32)
    principal = authenticator.basic("bob", "hunter2")
    assert principal is not None and not principal.admin


def test_user_add_prompt_mismatch_asks_again(run: Run, tmp_path: Path) -> None:
    _ok(run("tenant", "add", "acme"))
    result = run("user", "add", "--tenant", "acme", "bob", stdin="one\ntwo\nthree\nthree\n")
    _ok(result)
    authenticator = auth.Authenticator(tenants_file.load(tmp_path), b"s" * 32)
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


def test_client_add_generates_id_and_secret(run: Run, tmp_path: Path) -> None:
    _ok(run("tenant", "add", "acme"))
    output = _ok(run("client", "add", "--tenant", "acme"))
    fields = dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)
    client_id, secret = fields["client_id"], fields["client_secret"]
    assert len(client_id) == 36 and len(secret) >= 40
    stored = tenants_file.load(tmp_path)["acme"].clients
    assert [c.client_id for c in stored] == [client_id]
    authenticator = auth.Authenticator(tenants_file.load(tmp_path), b"s" * 32)
    assert authenticator.issue_token(client_id, secret, now=dt.datetime.now(dt.UTC))
    assert secret not in (tmp_path / tenants_file.TENANTS_FILE).read_text()


def test_client_add_with_given_secret_does_not_echo_it(run: Run) -> None:
    _ok(run("tenant", "add", "acme"))
    output = _ok(run("client", "add", "--tenant", "acme", "--client-id", "c1", "--secret", "xyz"))
    assert "client_id: c1" in output and "xyz" not in output
    assert "already exists" in _error(
        run("client", "add", "--tenant", "acme", "--client-id", "c1", "--secret", "xyz")
    )


def test_set_limit(run: Run, tmp_path: Path) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("tenant", "set-limit", "acme", "file_retention_s", "60"))
    _ok(run("tenant", "set-limit", "acme", "max-stateless-jobs", "2"))
    limits = tenants_file.load(tmp_path)["acme"].limits
    assert (limits.file_retention_s, limits.max_stateless_jobs) == (60, 2)
    assert "Unknown limit 'colour'" in _error(run("tenant", "set-limit", "acme", "colour", "1"))
    assert "at least 1" in _error(run("tenant", "set-limit", "acme", "segment_rows", "0"))
    assert run("tenant", "set-limit", "acme", "segment_rows", "many").exit_code == 2


def test_set_pgp_key(run: Run, tmp_path: Path) -> None:
    _ok(run("tenant", "add", "acme"))
    key_file = tmp_path / "key.asc"
    key_file.write_text(PGP_KEY)
    _ok(run("tenant", "set-pgp-key", "acme", str(key_file)))
    assert tenants_file.load(tmp_path)["acme"].pgp_public_key == PGP_KEY
    not_a_key = tmp_path / "note.txt"
    not_a_key.write_text("hello")
    assert "PGP public key" in _error(run("tenant", "set-pgp-key", "acme", str(not_a_key)))
    assert "Cannot read" in _error(run("tenant", "set-pgp-key", "acme", str(tmp_path / "nope")))


def test_set_partners(run: Run, tmp_path: Path) -> None:
    _ok(run("tenant", "add", "acme"))
    _ok(run("tenant", "set-partners", "acme", "stitch", "fivetran"))
    assert tenants_file.load(tmp_path)["acme"].partners == ("stitch", "fivetran")
    assert "any" in _ok(run("tenant", "set-partners", "acme"))
    assert tenants_file.load(tmp_path)["acme"].partners == ()


def test_malformed_tenants_file_is_one_line(run: Run, tmp_path: Path) -> None:
    (tmp_path / tenants_file.TENANTS_FILE).write_text("{")
    line = _error(run("tenant", "list"))
    assert "The tenants file is malformed." in line and "not valid JSON" in line
