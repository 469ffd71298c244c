"""The ``aquarium`` command line (Typer): one app, and :func:`main`, which never ends in a
traceback.

Commands by module: :mod:`.server` (``serve``), :mod:`.data` (``datagen``, ``simulate``,
``query``, ``demo``), :mod:`.load` (``load``), :mod:`.clone` (``clone``), :mod:`.admin`
(``tenant``, ``user``, ``client``), :mod:`.client_aqua`, :mod:`.client_report`,
:mod:`.client_dataquery` and :mod:`.client_control` (``aqua``, ``report``, ``dq``,
``control``: a running server over HTTP; :mod:`.control_clock` is ``control clock``,
:mod:`.control_reset` ``control reset``).
:mod:`.common` holds the one error line, the exit codes and the options every command of a kind
shares.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Sequence

import typer

from aquarium.cli import (
    admin,
    client_aqua,
    client_control,
    client_dataquery,
    client_report,
    clone,
    common,
    control_clock,
    control_reset,
    data,
    load,
    server,
)
from aquarium.cli import fields as _fields  # noqa: F401  (its commands join ``tenant``)

#: Set to 1 to see the traceback of an unexpected error on stderr.
DEBUG_ENV = "AQUARIUM_DEBUG"

app = typer.Typer(
    name="aquarium",
    help="Aquarium: Zuora's AQuA, Reporting and Data Query APIs, self-hosted.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(server.serve_command)
app.command("worker")(server.worker_command)
app.command("datagen")(data.datagen_command)
app.command("simulate")(data.simulate_command)
app.command("query")(data.query_command)
app.command("load")(load.load_command)
app.command("clone")(clone.clone_command)
app.command("demo")(data.demo_command)
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.client_app, name="client")
app.add_typer(client_aqua.app, name="aqua")
app.add_typer(client_report.app, name="report")
app.add_typer(client_dataquery.app, name="dq")
client_control.app.add_typer(control_clock.app, name="clock")
client_control.app.add_typer(control_reset.app, name="reset")
app.add_typer(client_control.app, name="control")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``aquarium`` console script (and ``python -m aquarium``).

    Commands report their own errors (:func:`common.fail`); whatever escapes them still ends
    in one line and an exit code: an operating-system error (a file that cannot be read or
    written) as itself, exit 1; anything else as a bug, exit 70, its traceback saved to a file
    the line names (or printed, with ``AQUARIUM_DEBUG=1``).
    """
    try:
        app(args=None if argv is None else list(argv), prog_name="aquarium")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(common.EXIT_INTERRUPTED)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        typer.echo(f"error: {exc.strerror or exc}{where}", err=True)
        sys.exit(common.EXIT_FAILED)
    except Exception as exc:
        sys.exit(unexpected(exc))


def unexpected(exc: Exception) -> int:
    """Report an error no command expected in one line; returns the exit code."""
    if os.environ.get(DEBUG_ENV, "") not in {"", "0"}:
        traceback.print_exception(exc, file=sys.stderr)
        return common.EXIT_INTERNAL
    saved = _save_traceback(exc)
    details = f"details in {saved}" if saved else "no details could be saved"
    summary = str(exc).splitlines()[0] if str(exc) else ""
    typer.echo(
        f"error: unexpected {type(exc).__name__}{': ' if summary else ''}{summary} "
        f"(a bug in Aquarium; {details}; {DEBUG_ENV}=1 shows them here; please report it)",
        err=True,
    )
    return common.EXIT_INTERNAL


def _save_traceback(exc: Exception) -> str | None:
    try:
        descriptor, path = tempfile.mkstemp(prefix="aquarium-error-", suffix=".txt")
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(f"aquarium {' '.join(sys.argv[1:])}\n\n")
            traceback.print_exception(exc, file=out)
    except OSError:
        return None
    return path
