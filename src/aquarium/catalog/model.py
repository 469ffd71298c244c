"""Typed view of the catalogue data file, and its loader.

The catalogue drives ZOQL validation, ``select *``, CSV headers, the describe XML and the data
generator. Lookups are case-insensitive (ZOQL names are) and return the canonical spelling.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aquarium.domain import errors

EXPORT_CONTEXT = "export"
#: Fields every object has, added by the loader where the data file leaves them out.
STANDARD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("CreatedById", "Created By ID", "text"),
    ("CreatedDate", "Created Date", "datetime"),
    ("UpdatedById", "Updated By ID", "text"),
    ("UpdatedDate", "Updated Date", "datetime"),
)


#: How every DECIMAL field is stored: DECIMAL(18, 4) in DuckDB, NUMERIC(18, 4) in PostgreSQL.
DECIMAL_PRECISION = 18
DECIMAL_SCALE = 4


class FieldType(enum.StrEnum):
    """Zuora's field types, values as in the describe XML."""

    TEXT = "text"  #: free text and ids
    PICKLIST = "picklist"  #: one of ``Field.options``
    DECIMAL = "decimal"  #: exact amounts
    INTEGER = "integer"  #: whole numbers
    BOOLEAN = "boolean"  #: true / false
    DATE = "date"  #: a calendar day, no zone
    DATETIME = "datetime"  #: an instant, shown in the tenant's time zone


@dataclass(frozen=True)
class Field:
    """One field of an object."""

    name: str
    label: str
    type: FieldType
    options: tuple[str, ...] = ()
    contexts: frozenset[str] = frozenset({EXPORT_CONTEXT})
    required: bool = False
    selectable: bool = True
    #: a tenant's custom field (``Name__c``), not one of the shipped catalogue
    custom: bool = False

    @property
    def exportable(self) -> bool:
        """Whether Export ZOQL may select or filter on this field."""
        return EXPORT_CONTEXT in self.contexts and self.selectable


@dataclass(frozen=True)
class Relation:
    """A joinable related object of a data source, reached by dot notation.

    The join is ``LEFT JOIN <object> AS <name> ON <name>.Id = <via>.<key>``, where ``via`` is the
    data source itself or another relation of the same data source (multi-hop joins).
    """

    name: str
    object: str
    label: str
    via: str
    key: str


@dataclass(frozen=True)
class ObjectDef:
    """One object (data source) of the catalogue."""

    name: str
    label: str
    fields: tuple[Field, ...]
    related: tuple[Relation, ...] = ()
    deleted_export: bool = True
    description: str = ""
    #: Where Zuora documents this object (a docs URL or reference section).
    source: str = ""
    #: The tenant feature this object needs (e.g. ``InvoiceSettlement``); ``None``: every tenant.
    feature: str | None = None
    #: The tenant feature that makes this object legacy: still exported, no longer written.
    deprecated_by: str | None = None
    _fields_by_key: Mapping[str, Field] = field(default_factory=dict, repr=False, compare=False)
    _related_by_key: Mapping[str, Relation] = field(default_factory=dict, repr=False, compare=False)

    def field(self, name: str) -> Field | None:
        """The field called ``name`` in any letter case, or ``None``."""
        return self._fields_by_key.get(name.lower())

    def relation(self, name: str) -> Relation | None:
        """The related object called ``name`` in any letter case, or ``None``."""
        return self._related_by_key.get(name.lower())

    @property
    def export_fields(self) -> tuple[Field, ...]:
        """The fields ``select *`` returns, in catalogue order."""
        return tuple(f for f in self.fields if f.exportable)


@dataclass(frozen=True)
class Catalog:
    """All objects, looked up case-insensitively."""

    objects: Mapping[str, ObjectDef]
    #: the tenant features this catalogue is a view for (``catalog/views.py``); the shipped
    #: catalogue has none, so it refuses no write of a legacy object
    features: frozenset[str] = frozenset()

    def object(self, name: str) -> ObjectDef | None:
        """The object called ``name`` in any letter case, or ``None``."""
        return self.objects.get(name.lower())

    def __iter__(self) -> Iterator[ObjectDef]:
        return iter(self.objects.values())

    def __len__(self) -> int:
        return len(self.objects)

    def require(self, name: str) -> ObjectDef:
        """The object called ``name``; a :class:`CatalogError` when there is none."""
        found = self.object(name)
        if found is None:
            raise errors.CatalogError(f"no object {name!r} in the catalogue")
        return found

    def read_only(self, obj: ObjectDef) -> bool:
        """Whether ``obj`` is legacy for this catalogue's tenant (a feature that replaces it is
        on): exported, but not written."""
        return obj.deprecated_by is not None and obj.deprecated_by in self.features


def _field(name: str, spec: Mapping[str, Any]) -> Field:
    try:
        field_type = FieldType(spec["type"])
    except (KeyError, ValueError) as exc:
        raise errors.CatalogError(f"field {name!r} has no valid type") from exc
    options = tuple(spec.get("options", ()))
    if field_type is FieldType.PICKLIST and not options:
        raise errors.CatalogError(f"picklist field {name!r} has no options")
    return Field(
        name=name,
        label=spec.get("label", name),
        type=field_type,
        options=options,
        contexts=frozenset(spec.get("contexts", (EXPORT_CONTEXT,))),
        required=bool(spec.get("required", name == "Id")),
        selectable=bool(spec.get("selectable", True)),
    )


def _object(name: str, spec: Mapping[str, Any]) -> ObjectDef:
    raw_fields: Mapping[str, Any] = spec.get("fields", {})
    fields = [_field(fname, fspec) for fname, fspec in raw_fields.items()]
    names = {f.name.lower() for f in fields}
    if "id" not in names:
        fields.insert(0, Field("Id", "ID", FieldType.TEXT, required=True))
    for fname, label, ftype in STANDARD_FIELDS:
        if fname.lower() not in names:
            fields.append(Field(fname, label, FieldType(ftype)))
    related = tuple(
        Relation(
            name=rname,
            object=rspec.get("object", rname),
            label=rspec.get("label", rname),
            via=rspec.get("via", name),
            key=rspec["key"],
        )
        for rname, rspec in spec.get("related", {}).items()
    )
    return ObjectDef(
        name=name,
        label=spec.get("label", name),
        fields=tuple(fields),
        related=related,
        deleted_export=bool(spec.get("deleted_export", True)),
        description=spec.get("description", ""),
        source=spec.get("source", ""),
        feature=spec.get("feature"),
        deprecated_by=spec.get("deprecated_by"),
        _fields_by_key={f.name.lower(): f for f in fields},
        _related_by_key={r.name.lower(): r for r in related},
    )


def _check_relations(catalog: Catalog) -> None:
    for obj in catalog:
        seen = {obj.name}
        for rel in obj.related:
            target = catalog.object(rel.object)
            if target is None:
                raise errors.CatalogError(f"{obj.name}.{rel.name} joins unknown {rel.object!r}")
            if rel.via not in seen:
                raise errors.CatalogError(
                    f"{obj.name}.{rel.name} joins via {rel.via!r}, which is not declared before it"
                )
            via_obj = obj if rel.via == obj.name else catalog.require(obj.relation(rel.via).object)  # type: ignore[union-attr]
            if via_obj.field(rel.key) is None:
                raise errors.CatalogError(
                    f"{obj.name}.{rel.name} joins on {rel.via}.{rel.key}, which is no field"
                )
            seen.add(rel.name)


def parse(*documents: Mapping[str, Any]) -> Catalog:
    """Build and check a catalogue from parsed data files (their objects, in order).

    An object is declared (``[objects.X]``) in one file only. Any file may extend an object
    declared in any file with ``[extend.X.fields]`` and ``[extend.X.related.Alias]``: those
    fields come after the declared ones (before the standard fields the loader adds), those
    joins after the declared joins. Joins may reach objects of any file.
    """
    specs: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for document in documents:
        for name, spec in document.get("objects", {}).items():
            if name.lower() in specs:
                raise errors.CatalogError(f"object {name!r} is declared twice")
            specs[name.lower()] = {**spec, "fields": dict(spec.get("fields", {}))}
            specs[name.lower()]["related"] = dict(spec.get("related", {}))
            names[name.lower()] = name
    for document in documents:
        for name, extension in document.get("extend", {}).items():
            _extend(specs.get(name.lower()), name, extension)
    objects = {key: _object(names[key], spec) for key, spec in specs.items()}
    catalog = Catalog(objects=objects)
    _check_relations(catalog)
    return catalog


def _extend(spec: dict[str, Any] | None, name: str, extension: Mapping[str, Any]) -> None:
    if spec is None:
        raise errors.CatalogError(f"extend.{name}: no object {name!r} is declared")
    for part in ("fields", "related"):
        for key, value in extension.get(part, {}).items():
            if key.lower() in {k.lower() for k in spec[part]}:
                raise errors.CatalogError(f"extend.{name}.{part}: {key!r} is already declared")
            spec[part][key] = value
    unknown = set(extension) - {"fields", "related"}
    if unknown:
        raise errors.CatalogError(f"extend.{name} may add fields and related only, not {unknown}")


def load_file(path: Path) -> Catalog:
    """Load a catalogue from a TOML file."""
    with path.open("rb") as handle:
        return parse(tomllib.load(handle))


#: The data files of the shipped catalogue: ``objects.toml`` (the core objects) first, then
#: ``objects_<family>.toml`` in name order.
DATA_FILES = "objects*.toml"


@functools.cache
def default() -> Catalog:
    """The catalogue that ships with Aquarium (loaded once per process)."""
    package = resources.files("aquarium.catalog")
    names = sorted(
        (entry.name for entry in package.iterdir() if fnmatch.fnmatch(entry.name, DATA_FILES)),
        key=lambda name: (name != "objects.toml", name),
    )
    return parse(*(tomllib.loads(package.joinpath(name).read_text("utf-8")) for name in names))
