"""What every command shares: the one error line, exit codes, the data dir, connection options.

Every command ends either in success or in one line ``error: ...`` on stderr (:func:`fail`; a
ZOQL error adds its caret excerpt) and one of these exit codes, for scripts:

====  =====================================================================================
0     success
1     failed: the job or report run ended other than completed (aborted, cancelled, error,
      invalid), the server refused the request, or the data command could not do its work
2     usage error: bad options or settings, or no usable credentials / config file
3     authentication failed (the message says so and nothing more)
4     not found: no such job, run, report or file (or another tenant's)
5     the server cannot be reached
70    an unexpected error inside Aquarium (a bug): the line says where the details are
130   interrupted by Ctrl-C (after asking whether to cancel the job or run on the server)
====  =====================================================================================

Client commands (``aquarium aqua ...``, ``aquarium report ...``) take the same connection
options, added to each command by :func:`with_connection`: ``--url``, ``--user``,
``--password``, ``--client-id``, ``--client-secret`` and ``--config`` (see
:mod:`aquarium.client.config` for how options, ``AQUARIUM_*`` variables and the TOML file
combine). Results go to stdout, progress and errors to stderr.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from aquarium import client, settings
from aquarium.cli import client_view as view
from aquarium.client import config
from aquarium.domain import errors

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_UNREACHABLE = 5
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

EXIT_BY_ERROR: tuple[tuple[type[client.ClientError], int], ...] = (
    (client.ConfigError, EXIT_USAGE),
    (client.NotAuthenticated, EXIT_AUTH),
    (client.NotFound, EXIT_NOT_FOUND),
    (client.ServerUnreachable, EXIT_UNREACHABLE),
    (client.ClientError, EXIT_FAILED),
)

Command = TypeVar("Command", bound=Callable[..., Any])


def fail(
    problem: str | errors.AquariumError, code: int = EXIT_FAILED, *, excerpt: str | None = None
) -> typer.Exit:
    """Print ``error: <problem>`` on stderr, then the caret ``excerpt`` of a ZOQL error (taken
    from the error itself when it is one), and return the :class:`typer.Exit` to raise:
    ``raise fail(...) from None``."""
    if isinstance(problem, errors.AquariumError):
        position = getattr(problem, "position", None)
        if excerpt is None and isinstance(position, errors.SourcePosition):
            excerpt = position.excerpt
        problem = errors.operator_words(problem)
    # typer.echo, not rich: rich wraps long lines, and scripts read one line per error.
    typer.echo(f"error: {problem}", err=True)
    if excerpt:
        typer.echo(excerpt, err=True)
    return typer.Exit(code)


# -- the data dir ----------------------------------------------------------------------------------


def typed(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed the option ``name`` (not a default, not from the environment)."""
    # By name: Typer ships its own copy of click, whose ParameterSource is not click's.
    return getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"


def resolve_data_dir(ctx: typer.Context, param: typer.CallbackParam, value: Path) -> Path:
    """``--data-dir`` as typed, else ``AQUARIUM_DATA_DIR``, else the config file, else
    ``.aquarium`` (the same precedence as ``aquarium serve``'s settings)."""
    if param.name and typed(ctx, param.name):
        return value
    try:
        return settings.load().data_dir
    except settings.SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None


DEFAULT_DATA_DIR = Path(".aquarium")
DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        help="Where Aquarium keeps its files \\[env AQUARIUM_DATA_DIR].",
        callback=resolve_data_dir,
    ),
]


# -- options added to commands ---------------------------------------------------------------------


def inject(
    target: str,
    options: Sequence[inspect.Parameter],
    build: Callable[[typer.Context, dict[str, Any]], Any],
) -> Callable[[Command], Command]:
    """A decorator replacing the command's parameter ``target`` by ``options`` (Typer
    parameters, shown in ``--help`` where ``target`` stood); the command receives
    ``build(context, {option name: value})`` as ``target``."""

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        if target not in signature.parameters:
            raise TypeError(f"{command.__name__} has no parameter {target!r} to inject into")
        context = inspect.Parameter(
            "_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
        )
        parameters = [context]
        for name, parameter in signature.parameters.items():
            found = options if name == target else [parameter]
            parameters += [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in found]

        def command_with_options(**values: Any) -> Any:
            ctx = values.pop("_context")
            given = {option.name: values.pop(option.name) for option in options}
            return command(**values, **{target: build(ctx, given)})

        functools.update_wrapper(command_with_options, command, updated=())
        # inspect.signature (and so Typer) stops at a __signature__ before following __wrapped__
        command_with_options.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=parameters
        )
        return command_with_options  # type: ignore[return-value]

    return decorate


def typed_options(ctx: typer.Context, values: dict[str, Any]) -> dict[str, Any]:
    """The options the user typed on the command line (not defaults, not environment)."""
    return {name: value for name, value in values.items() if typed(ctx, name)}


def _option(name: str, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )


# -- connection options of the client commands -----------------------------------------------------


@dataclass(frozen=True)
class Options:
    """The connection options of one command, as typed (``None`` = not given)."""

    url: str | None = None
    user: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    config: Path | None = None


#: The default of a command's ``options`` parameter, which :func:`with_connection` replaces.
NO_OPTIONS = Options()

CONNECTION_OPTIONS = (
    _option(
        "url",
        Annotated[
            str | None,
            typer.Option("--url", help="Server URL \\[env AQUARIUM_URL; default local 8080]."),
        ],
    ),
    _option(
        "user",
        Annotated[str | None, typer.Option("--user", help="User (HTTP Basic) [AQUARIUM_USER].")],
    ),
    _option(
        "password", Annotated[str | None, typer.Option("--password", help="[AQUARIUM_PASSWORD]")]
    ),
    _option(
        "client_id", Annotated[str | None, typer.Option("--client-id", help="OAuth client id.")]
    ),
    _option(
        "client_secret",
        Annotated[str | None, typer.Option("--client-secret", help="OAuth secret.")],
    ),
    _option(
        "config",
        Annotated[
            Path | None,
            typer.Option(
                "--config", help="TOML settings \\[default ~/.config/aquarium/client.toml]."
            ),
        ],
    ),
)


def with_connection(command: Command) -> Command:
    """Give a client command the connection options; it receives them as ``options``."""
    return inject("options", CONNECTION_OPTIONS, lambda ctx, values: Options(**values))(command)


Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
JobId = Annotated[str, typer.Argument(help="The AQuA job id.")]
RunId = Annotated[str, typer.Argument(help="The report run id.")]


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
