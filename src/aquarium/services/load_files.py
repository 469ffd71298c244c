"""What ``aquarium load`` makes of a directory, before any file is read: which object each file
holds, and which field each column header names. No I/O beyond listing the directory.

A file is ``<Object>.csv``, ``<Object>.csv.gz`` or ``<Object>.parquet``, the object spelt as the
catalogue spells it (``InvoiceItem.csv``). A column header names a field of that object in any of
the ways AQuA writes it: ``InvoiceItem.Id`` (``useQueryLabels`` true), ``Invoice Item: ID`` (the
label style), or the bare ``Id``; names match in any letter case. A header that names no field is
*unknown*: a :class:`errors.LoadError`, or with ``--add-fields`` a new custom field, if it is
spelt as an API name (``Region__c`` or ``Account.Region__c``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aquarium.catalog import model
from aquarium.domain import errors


class FileFormat(enum.StrEnum):
    """How a file is read."""

    CSV = "csv"  #: AQuA's CSV, plain or gzip-compressed
    PARQUET = "parquet"  #: a Parquet file, typed or text columns


#: File name endings, longest first so ``.csv.gz`` wins over a bare ``.gz``.
SUFFIXES: tuple[tuple[str, FileFormat], ...] = (
    (".csv.gz", FileFormat.CSV),
    (".csv", FileFormat.CSV),
    (".parquet", FileFormat.PARQUET),
)
LABEL_SEPARATOR = ": "


@dataclass(frozen=True)
class ObjectFile:
    """One file to load: the object it replaces and how to read it."""

    path: Path
    object: model.ObjectDef
    format: FileFormat


@dataclass(frozen=True)
class Column:
    """One column of a file: its position, its header, and the field it fills (``None``: an
    unknown header, which ``new_field_name`` may turn into a custom field)."""

    index: int
    header: str
    field: model.Field | None
    new_field_name: str | None = None


def object_files(directory: Path, catalog: model.Catalog) -> list[ObjectFile]:
    """The files of ``directory`` (subdirectories and hidden files left aside), by name; a
    :class:`errors.LoadError` for a file that is not an object's, or two files of one object."""
    if not directory.is_dir():
        raise errors.LoadError(f"{directory} is not a directory")
    found: dict[str, ObjectFile] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        item = object_file(path, catalog)
        if item.object.name in found:
            other = found[item.object.name].path.name
            raise errors.LoadError(f"{path.name}: {item.object.name} is in {other} already")
        found[item.object.name] = item
    if not found:
        raise errors.LoadError(
            f"{directory} holds no files to load (<Object>.csv, .csv.gz or .parquet)"
        )
    return list(found.values())


def object_file(path: Path, catalog: model.Catalog) -> ObjectFile:
    """The object and format of one file, by its name; a :class:`errors.LoadError` otherwise."""
    suffix = next(((s, f) for s, f in SUFFIXES if path.name.endswith(s)), None)
    if suffix is None:
        raise errors.LoadError(f"{path.name}: not <Object>.csv, <Object>.csv.gz or .parquet")
    name = path.name[: -len(suffix[0])]
    obj = catalog.object(name)
    if obj is None:
        raise errors.LoadError(f"{path.name}: there is no object {name!r}")
    if obj.name != name:
        raise errors.LoadError(f"{path.name}: the object is spelt {obj.name!r}")
    return ObjectFile(path, obj, suffix[1])


def _label_headers(obj: model.ObjectDef) -> dict[str, model.Field | None]:
    """``label header (lower case) -> field``; ``None`` where two fields share a label."""
    found: dict[str, model.Field | None] = {}
    for f in obj.fields:
        key = f"{obj.label}{LABEL_SEPARATOR}{f.label}".lower()
        found[key] = None if key in found else f
    return found


def field_for(obj: model.ObjectDef, header: str) -> model.Field | None:
    """The field ``header`` names (API name, ``Object.Name`` or ``Object Label: Label``)."""
    prefix = f"{obj.name}.".lower()
    name = header[len(prefix) :] if header.lower().startswith(prefix) else header
    found = obj.field(name)
    if found is not None:
        return found
    return _label_headers(obj).get(header.lower())


def _new_field_name(obj: model.ObjectDef, header: str) -> str | None:
    """The API name an unknown header would give a custom field; ``None`` for a label."""
    if LABEL_SEPARATOR in header:
        return None
    prefix = f"{obj.name}.".lower()
    return header[len(prefix) :] if header.lower().startswith(prefix) else header


def columns(item: ObjectFile, headers: Sequence[str], *, add_fields: bool) -> list[Column]:
    """The columns of ``item`` with the fields they fill; a :class:`errors.LoadError` for a
    header named twice (in any style), a missing ``Id`` column, or an unknown header (unless
    ``add_fields``, when it is an API name)."""
    found: list[Column] = []
    seen: dict[str, str] = {}
    for index, header in enumerate(headers):
        field = field_for(item.object, header)
        key = (field.name if field else _new_field_name(item.object, header) or header).lower()
        if key in seen:
            raise errors.LoadError(
                f"{item.path.name}: columns {seen[key]!r} and {header!r} name the same field"
            )
        seen[key] = header
        if field is not None:
            found.append(Column(index, header, field))
            continue
        found.append(_unknown(item, index, header, add_fields=add_fields))
    if not any(c.field is not None and c.field.name == "Id" for c in found):
        raise errors.LoadError(f"{item.path.name}: there is no Id column (it is required)")
    return found


def _unknown(item: ObjectFile, index: int, header: str, *, add_fields: bool) -> Column:
    where = f"{item.path.name}: column {header!r}"
    if not add_fields:
        raise errors.LoadError(
            f"{where} is no field of {item.object.name} "
            "(--add-fields makes such columns custom fields)"
        )
    name = _new_field_name(item.object, header)
    if name is None:
        raise errors.LoadError(
            f"{where} is no field of {item.object.name}, and a label-style header cannot "
            "become a custom field: head it with its API name (Name__c)"
        )
    return Column(index, header, None, new_field_name=name)
