"""Zuora's describe documents (``GET /v1/describe`` and ``/v1/describe/{Object}``), parsed.

Both answer XML (services/describe.py writes Aquarium's; Zuora's has the same elements): the
list names each object, an object's document lists its fields with ``name``, ``label``,
``type``, ``options`` (picklists), ``contexts``, ``selectable`` and ``required``. Elements this
module does not know are ignored; a document that is not such XML raises
:class:`~aquarium.client.errors.ClientError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

from aquarium.client import errors

EXPORT_CONTEXT = "export"  #: the context of fields an AQuA export can select


@dataclass(frozen=True)
class DescribedField:
    """One field of a described object."""

    name: str
    label: str
    type: str  #: Zuora's type word: text, picklist, decimal, integer, boolean, date, datetime
    options: tuple[str, ...] = ()  #: a picklist's values, in order
    contexts: tuple[str, ...] = ()
    selectable: bool = True

    @property
    def exportable(self) -> bool:
        """Whether an AQuA export may select it (selectable, in the ``export`` context)."""
        return self.selectable and (not self.contexts or EXPORT_CONTEXT in self.contexts)

    @property
    def custom(self) -> bool:
        """A tenant's custom field: Zuora names them ``Name__c``."""
        return self.name.endswith("__c")


@dataclass(frozen=True)
class DescribedObject:
    """One object's describe document."""

    name: str
    label: str
    fields: tuple[DescribedField, ...]


def _root(document: bytes, what: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(document)
    except ElementTree.ParseError as exc:
        raise errors.ClientError(f"unexpected answer to describe {what}: not XML ({exc})") from None


def _text(element: ElementTree.Element, tag: str) -> str:
    return (element.findtext(tag) or "").strip()


def parse_objects(document: bytes) -> list[str]:
    """The object names of ``GET /v1/describe``, in the document's order."""
    root = _root(document, "objects")
    names = [_text(obj, "name") for obj in root.iter("object")]
    return [name for name in names if name]


def parse_object(document: bytes) -> DescribedObject:
    """An object's describe document (``GET /v1/describe/{Object}``)."""
    root = _root(document, "object")
    name = _text(root, "name")
    if not name:
        raise errors.ClientError("unexpected answer to describe: an object without a name")
    fields = tuple(
        DescribedField(
            name=_text(field, "name"),
            label=_text(field, "label") or _text(field, "name"),
            type=_text(field, "type").lower(),
            options=tuple((o.text or "").strip() for o in field.iterfind("options/option")),
            contexts=tuple((c.text or "").strip() for c in field.iterfind("contexts/context")),
            selectable=_text(field, "selectable").lower() != "false",
        )
        for field in root.iterfind("fields/field")
        if _text(field, "name")
    )
    return DescribedObject(name, _text(root, "label") or name, fields)
