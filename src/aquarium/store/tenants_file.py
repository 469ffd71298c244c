"""The legacy tenants file, ``DATA_DIR/tenants.json``, imported once into the metadata database.

Releases before the tenants tables kept every tenant in that file (format 1, described by
:class:`~aquarium.store.tenants_models.LegacyFile`). Nothing reads or writes it any more except
:func:`import_once`, which :func:`aquarium.store.database.open_metadata` runs every time a data
dir's metadata store is opened:

1. No ``tenants.json``: nothing to do.
2. Read and hash it (SHA-256), then parse and validate all of it. Any problem is one
   :class:`~aquarium.domain.errors.TenantsFileError` naming the file and the entry
   (``.../tenants.json: tenants.demo.users[0].name: ...``); nothing is imported and the file
   stays where it is, to be fixed.
3. One transaction: count a tenants change (which waits for any other tenants writer), and
   unless ``tenant_imports`` already holds this SHA-256, store every tenant of the file whole
   (``tenants_repo.put_tenant``: a tenant row of the same name, such as a placeholder made for
   the jobs that name it, is replaced, and its jobs stay its own) and record the import (time,
   SHA-256, path, number of tenants).
4. Rename the file to ``tenants.json.imported`` (``tenants.json.imported.1``, ... when that
   exists): the backup stays, and nobody edits a file that is no longer read.

Two processes opening one data dir at once: step 3 runs in one of them after the other, and the
second finds the record and imports nothing; whichever renames first moves the file, the other
finds it gone. A file whose content was imported before (restored from its backup, or left by a
crash between steps 3 and 4) is only moved aside. On a PostgreSQL store shared by nodes with
their own data dirs, each different file is imported once, later ones replacing tenants of the
same name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pydantic
import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import errors, tenancy
from aquarium.store import tenants_models, tenants_repo

TENANTS_FILE = "tenants.json"
BACKUP_SUFFIX = ".imported"

log = observability.logger(__name__)


@dataclass(frozen=True)
class ImportOutcome:
    """What :func:`import_once` found and did."""

    sha256: str  #: of the file's bytes
    imported: int | None  #: tenants imported; ``None`` when this content was imported before
    backup: Path | None  #: where the file is now; ``None`` when another process moved it


class _AlreadyImported(Exception):
    """Rolls back the import transaction: this content is in the database already."""


def import_once(engine: sa.Engine, data_dir: Path) -> ImportOutcome | None:
    """Import ``data_dir/tenants.json`` unless it was imported before, then move it aside.

    ``None`` when there is no such file. Raises ``TenantsFileError`` (nothing imported, the file
    left in place) for a file that cannot be read, is malformed, or names a user or client id
    that a tenant outside the file already has.
    """
    path = data_dir / TENANTS_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise errors.TenantsFileError(f"{path}: {exc.strerror or exc}") from exc
    sha256 = hashlib.sha256(raw).hexdigest()
    tenants = read(path, raw)
    try:
        with engine.begin() as conn:
            _store(conn, path, sha256, tenants)
        imported: int | None = len(tenants)
    except _AlreadyImported:
        imported = None
    backup = _move_aside(path)
    event = "tenants file imported" if imported is not None else "tenants file imported before"
    log.info(event, path=str(path), tenants=imported, backup=str(backup) if backup else None)
    return ImportOutcome(sha256, imported, backup)


def read(path: Path, raw: bytes) -> dict[str, tenancy.Tenant]:
    """Every tenant of a legacy tenants file's bytes ``raw``, by name, validated.

    Raises ``TenantsFileError`` naming ``path`` and the offending entry.
    """
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise errors.TenantsFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise errors.TenantsFileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    try:
        return tenants_models.LegacyFile.model_validate(document).to_domain()
    except pydantic.ValidationError as exc:
        raise errors.TenantsFileError(f"{path}: {tenants_models.describe(exc)}") from None


def _store(
    conn: sa.Connection, path: Path, sha256: str, tenants: dict[str, tenancy.Tenant]
) -> None:
    if tenants_repo.import_recorded(conn, sha256):  # the common case: no lock needed to see it
        raise _AlreadyImported()
    at = dt.datetime.now(dt.UTC)
    # Counting the change first makes a concurrent importer wait here until this one commits;
    # then it sees the record below.
    tenants_repo.count_change(conn, at)
    if tenants_repo.import_recorded(conn, sha256):
        raise _AlreadyImported()
    for name, tenant in tenants.items():
        try:
            tenants_repo.put_tenant(conn, tenant, at=at)
        except errors.TenancyError as exc:
            raise errors.TenantsFileError(f"{path}: tenants.{name}: {exc.reason}") from None
    tenants_repo.record_import(conn, sha256=sha256, source=str(path), tenants=len(tenants), at=at)


def _move_aside(path: Path) -> Path | None:
    """Rename ``path`` to the first free ``<name>.imported[.N]``; ``None`` if it is gone."""
    attempt = 0
    while True:
        backup = path.with_name(path.name + BACKUP_SUFFIX + (f".{attempt}" if attempt else ""))
        attempt += 1
        if backup.exists():
            continue
        try:
            path.rename(backup)
        except FileNotFoundError:
            return None  # another process opening the data dir moved it first
        return backup
