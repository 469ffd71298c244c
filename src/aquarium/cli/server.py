"""``aquarium serve``: the HTTP server with in-process workers; ``aquarium worker``: a worker
process of a scale-out deployment (``serve --database-url DSN --no-workers`` is its API node).

Its options are the fields of :class:`aquarium.settings.Settings`, made by
:func:`with_settings`; only options the user typed override the environment and the config file
(``AQUARIUM_PORT=9000 aquarium serve`` binds 9000). A later ``aquarium worker`` takes its subset
of the same settings the same way.

While it serves, ``DATA_DIR/server.json`` tells the data commands on the same data dir where to
find it (:mod:`aquarium.cli.local`); it is written once the server is ready and removed when it
stops cleanly.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import psycopg
import typer

from aquarium import settings as settings_module
from aquarium.cli import common, data, local
from aquarium.domain import errors
from aquarium.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

#: The settings ``aquarium serve`` takes as options: all of them.
SERVE_SETTINGS = tuple(Settings.model_fields)
#: Other names of a setting's option.
OPTION_ALIASES: dict[str, tuple[str, ...]] = {}
GRACEFUL_SHUTDOWN_S = 5  # seconds running requests get when the server stops


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def settings_options(names: Sequence[str]) -> list[inspect.Parameter]:
    """One Typer option per setting, ``--data-dir`` for ``data_dir`` (and the names of
    :data:`OPTION_ALIASES`), with the setting's description and default as help; a list setting
    is a repeated option, a bool a flag."""
    options = []
    for name in names:
        field = Settings.model_fields[name]
        shown = field.get_default(call_default_factory=True)
        help_text = f"{field.description} \\[env {settings_module.ENV_PREFIX}{name.upper()}]"
        kind: Any = field.annotation
        default: Any = shown
        if kind == list[str]:
            kind, default = list[str] | None, None
        hidden = shown is None or shown is False or shown in ("", [])
        names = (option_name(name), *OPTION_ALIASES.get(name, ()))
        option = typer.Option(*names, help=help_text, show_default=not hidden)
        annotation = Annotated[kind, option]
        options.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    return options


def _load(ctx: typer.Context, values: dict[str, Any]) -> Settings:
    try:
        return settings_module.load(common.typed_options(ctx, values))
    except settings_module.SettingsError as exc:
        raise common.fail(str(exc), common.EXIT_USAGE) from None


def with_settings(names: Sequence[str]) -> Callable[[common.Command], common.Command]:
    """Give a command the options of ``names`` settings; it receives the resolved
    :class:`Settings` as ``settings``."""
    return common.inject("settings", settings_options(names), _load)


def local_url(host: str, port: int) -> str:
    """Where a process on this machine reaches a server bound to ``host``."""
    if host in {"", "0.0.0.0"}:
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, not listening yet; a port in use is one line, exit 1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family=family)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise common.fail(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; another server may be "
            "using it: stop it, or choose another --port"
        ) from None
    listener.set_inheritable(True)
    return listener


def _announced(app: FastAPI, listener: socket.socket, data_dir: Path, url: str, token: str) -> None:
    """Publish the discovery file once the server has started, withdraw it before it stops.

    Inside the application's lifespan: uvicorn re-raises a SIGTERM after its graceful shutdown,
    which ends the process before any code after ``uvicorn.Server.run`` would run.
    """
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with started(application) as state:
            listener.listen()  # calls queue up from here until uvicorn accepts them
            local.publish(data_dir, url, token)
            try:
                yield state
            finally:
                local.withdraw(data_dir, token)

    app.router.lifespan_context = lifespan


@with_settings(SERVE_SETTINGS)
def serve_command(settings: Settings) -> None:
    """Run the HTTP server (AQuA and Reporting APIs, web UI) with in-process job workers.

    Each option may also come from AQUARIUM_<NAME> or a TOML file (--config, AQUARIUM_CONFIG).

    A typed option wins over the environment, the environment over the file.
    """
    import uvicorn

    from aquarium import observability, server

    observability.configure_logging(settings.log_level)
    listener = bind(settings.host, settings.port)
    with _startup_errors(settings):
        built = server.build(settings)
    url = local_url(settings.host, settings.port)
    app = built.app()
    if built.services.local is not None:  # embedded: the data commands find it here
        _announced(app, listener, settings.data_dir, url, built.services.local.token)
    else:
        _listening(app, listener)
    shape = "scale-out API node" if settings.scale_out else "embedded"
    typer.echo(f"Aquarium listening on {url} ({shape}, data in {settings.data_dir}/)", err=True)
    if settings.test_control:
        typer.secho(f"WARNING: {server.TEST_CONTROL_WARNING}", err=True, fg="red", bold=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    uvicorn.Server(config).run(sockets=[listener])


def _listening(app: FastAPI, listener: socket.socket) -> None:
    """Accept calls once the server has started (no discovery file: a scale-out node)."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with started(application) as state:
            listener.listen()
            yield state

    app.router.lifespan_context = lifespan


@contextmanager
def _startup_errors(settings: Settings) -> Iterator[None]:
    """What stops a start, as one line (exit 1): a domain error, a locked DuckDB file, a
    database that cannot be reached."""
    import sqlalchemy as sa

    try:
        yield
    except errors.AquariumError as exc:
        raise common.fail(exc) from None
    except duckdb.IOException as exc:
        raise common.fail(data.locked(settings.data_dir, exc, serving=True)) from None
    except (sa.exc.OperationalError, psycopg.OperationalError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise common.fail(f"cannot reach the database: {reason}") from None


#: The settings ``aquarium worker`` takes as options.
WORKER_SETTINGS = (
    "config",
    "data_dir",
    "database_url",
    "results_url",
    "concurrency",
    "heartbeat_s",
    "stale_after_s",
    "demo_scale",
    "log_level",
)


@with_settings(WORKER_SETTINGS)
def worker_command(settings: Settings) -> None:
    """Run a worker of a scale-out deployment: it runs the jobs API nodes accept.

    Each option may also come from AQUARIUM_<NAME> or a TOML file (--config, AQUARIUM_CONFIG).
    SIGTERM (or Ctrl-C) hands the jobs it runs back to the other workers and stops it.
    """
    from aquarium import observability, worker

    if not settings.scale_out:
        raise common.fail(
            "a worker needs the deployment's PostgreSQL: give --database-url (or "
            "AQUARIUM_DATABASE_URL); 'aquarium serve' alone runs jobs in its own process",
            common.EXIT_USAGE,
        )
    observability.configure_logging(settings.log_level)
    typer.echo(
        f"Aquarium worker running jobs of {_safe_url(settings.database_url)} "
        f"(data in {settings.data_dir}/)",
        err=True,
    )
    with _startup_errors(settings):
        worker.run(settings)


def _safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)
