"""What every command of the command-line client shares: connection options, errors, exit codes.

The commands live in :mod:`aquarium.cli_client_aqua` (``aquarium aqua ...``) and
:mod:`aquarium.cli_client_report` (``aquarium report ...``), their output in
:mod:`aquarium.cli_client_view`; all of them speak to the server through :mod:`aquarium.client`.

Every command takes ``--url``, ``--user``, ``--password``, ``--client-id``, ``--client-secret``
and ``--config`` (see :mod:`aquarium.client.config` for how options, ``AQUARIUM_*`` variables and
the TOML file combine) and ``--json`` (one JSON document on stdout, nothing else there). Results
go to stdout, progress and errors to stderr; an error is one line ``error: ...``.

Exit codes, for scripts:

====  =====================================================================================
0     success
1     the job or report run ended other than completed (aborted, cancelled, error, invalid),
      or the server refused the request (its message on stderr)
2     usage error: bad options, or no usable credentials / config file
3     authentication failed (the message says so and nothing more)
4     not found: no such job, run, report or file (or another tenant's)
5     the server cannot be reached
130   interrupted by Ctrl-C (after asking whether to cancel the job or run on the server)
====  =====================================================================================
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from aquarium import client
from aquarium.cli import client_view as view
from aquarium.client import config

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_UNREACHABLE = 5
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

EXIT_BY_ERROR: tuple[tuple[type[client.ClientError], int], ...] = (
    (client.ConfigError, EXIT_USAGE),
    (client.NotAuthenticated, EXIT_AUTH),
    (client.NotFound, EXIT_NOT_FOUND),
    (client.ServerUnreachable, EXIT_UNREACHABLE),
    (client.ClientError, EXIT_FAILED),
)

Url = Annotated[
    str | None, typer.Option("--url", help="Server URL [env AQUARIUM_URL; default local 8080].")
]
User = Annotated[str | None, typer.Option("--user", help="User (HTTP Basic) [AQUARIUM_USER].")]
Password = Annotated[str | None, typer.Option("--password", help="[AQUARIUM_PASSWORD]")]
ClientId = Annotated[str | None, typer.Option("--client-id", help="OAuth client id.")]
ClientSecret = Annotated[str | None, typer.Option("--client-secret", help="OAuth secret.")]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings [default ~/.config/aquarium/client.toml]."),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
JobId = Annotated[str, typer.Argument(help="The AQuA job id.")]
RunId = Annotated[str, typer.Argument(help="The report run id.")]


@dataclass(frozen=True)
class Options:
    """The connection options of one command, as typed (``None`` = not given)."""

    url: str | None
    user: str | None
    password: str | None
    client_id: str | None
    client_secret: str | None
    config: Path | None


def exit_code_for(error: client.ClientError) -> int:
    """The documented exit code of an error (see the module docstring)."""
    return next(code for kind, code in EXIT_BY_ERROR if isinstance(error, kind))


def error_line(error: client.ClientError, url: str) -> str:
    """The one line shown for an error; a refused login says only that."""
    if isinstance(error, client.NotAuthenticated):
        return (
            f"error: authentication failed at {url}: check the user and password "
            "(or the OAuth client id and secret)"
        )
    if isinstance(error, client.NotFound):
        return f"error: not found: {error.message}"
    return f"error: {error}"


def connection(options: Options, environ: dict[str, str] | None = None) -> config.Connection:
    """Resolve the connection from the options, the environment and the config file."""
    given = {
        "url": options.url,
        "user": options.user,
        "password": options.password,
        "client_id": options.client_id,
        "client_secret": options.client_secret,
    }
    return config.resolve(
        given,
        config.from_environment(os.environ if environ is None else environ),
        config.read_config_file(options.config),
    )


@contextlib.contextmanager
def connected(options: Options) -> Iterator[client.Client]:
    """A client for the command; client errors and Ctrl-C become the documented exits."""
    url = options.url or client.DEFAULT_URL
    try:
        resolved = connection(options)
        url = resolved.url
        with client.Client(resolved.url, resolved.credentials) as api:
            yield api
    except client.ClientError as exc:
        typer.echo(error_line(exc, url), err=True)
        raise typer.Exit(exit_code_for(exc)) from None
    except KeyboardInterrupt:
        view.note("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def ask_to_cancel(what: str) -> bool:
    """Ask on stderr, read the answer from stdin; no answer (EOF, no terminal) means no."""
    typer.echo(f"Cancel {what} on the server? [y/N] ", err=True, nl=False)
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (KeyboardInterrupt, OSError, ValueError):
        answer = ""
    if not answer.endswith("\n"):
        typer.echo("", err=True)
    return answer.strip().lower() in {"y", "yes"}


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_FAILED)
