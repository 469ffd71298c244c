"""``GET /v1/describe`` and ``/v1/describe/{Object}``: the catalogue as Zuora's describe XML.

Element order follows CONTRACT.md: ``name, label, fields, related-objects``; each field has
``name, label, type, options (picklists), contexts, selectable, required``; related objects carry
an ``href`` ending in ``/<TargetObject>``.
"""

from __future__ import annotations

from xml.etree import ElementTree

from aquarium.catalog import model
from aquarium.domain import errors


def _text(parent: ElementTree.Element, tag: str, value: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    element.text = value
    return element


def _field(parent: ElementTree.Element, field: model.Field) -> None:
    element = ElementTree.SubElement(parent, "field")
    _text(element, "name", field.name)
    _text(element, "label", field.label)
    _text(element, "type", field.type.value)
    if field.options:
        options = ElementTree.SubElement(element, "options")
        for option in field.options:
            _text(options, "option", option)
    contexts = ElementTree.SubElement(element, "contexts")
    for context in sorted(field.contexts):
        _text(contexts, "context", context)
    _text(element, "selectable", str(field.selectable).lower())
    _text(element, "required", str(field.required).lower())


def object_xml(catalog: model.Catalog, name: str, base_url: str) -> bytes:
    """The describe document of one object; NotFound for an unknown name."""
    obj = catalog.object(name)
    if obj is None:
        raise errors.NotFound(f"no object {name!r}")
    root = ElementTree.Element("object")
    _text(root, "name", obj.name)
    _text(root, "label", obj.label)
    fields = ElementTree.SubElement(root, "fields")
    for field in obj.fields:
        _field(fields, field)
    related = ElementTree.SubElement(root, "related-objects")
    for relation in obj.related:
        element = ElementTree.SubElement(
            related, "object", href=f"{base_url}/v1/describe/{relation.object}"
        )
        _text(element, "name", relation.name)
        _text(element, "label", relation.label)
    return _document(root)


def objects_xml(catalog: model.Catalog, base_url: str) -> bytes:
    """The list of objects, each with a link to its own describe document."""
    root = ElementTree.Element("objects")
    for obj in sorted(catalog, key=lambda o: o.name):
        element = ElementTree.SubElement(root, "object", href=f"{base_url}/v1/describe/{obj.name}")
        _text(element, "name", obj.name)
        _text(element, "label", obj.label)
    return _document(root)


def _document(root: ElementTree.Element) -> bytes:
    ElementTree.indent(root)
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
