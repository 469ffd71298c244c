"""``GET /v1/describe`` and ``/v1/describe/{Object}``: Zuora's describe XML."""

from __future__ import annotations

from xml.etree import ElementTree

import httpx

FIELD_ELEMENTS = ["name", "label", "type", "contexts", "selectable", "required"]


def xml(response: httpx.Response) -> ElementTree.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml"), response.headers
    return ElementTree.fromstring(response.content)


def test_describe_lists_the_objects_with_links(demo: httpx.Client) -> None:
    root = xml(demo.get("/v1/describe"))
    names = [element.findtext("name") for element in root.findall("object")]
    assert {"Account", "Contact", "Invoice", "InvoiceItem", "AccountingCode"} <= set(names)
    for element in root.findall("object"):
        assert element.get("href", "").endswith(f"/v1/describe/{element.findtext('name')}")
        assert element.findtext("label")


def test_describe_account_has_zuora_element_order(demo: httpx.Client) -> None:
    root = xml(demo.get("/v1/describe/Account"))
    assert root.tag == "object"
    assert [child.tag for child in root] == ["name", "label", "fields", "related-objects"]
    assert root.findtext("name") == "Account"
    assert root.findtext("label") == "Account"
    fields = root.find("fields")
    assert fields is not None and len(fields) > 10
    by_name = {}
    for field in fields.findall("field"):
        tags = [child.tag for child in field]
        # picklists add <options> after <type>; the six documented elements keep their order
        assert [tag for tag in tags if tag != "options"] == FIELD_ELEMENTS, tags
        assert field.findtext("selectable") in {"true", "false"}
        assert field.findtext("required") in {"true", "false"}
        contexts = field.find("contexts")
        assert contexts is not None
        assert all(context.tag == "context" for context in contexts)
        by_name[field.findtext("name")] = field
    assert by_name["Id"].findtext("label") == "ID"
    related = root.find("related-objects")
    assert related is not None
    hrefs = {obj.findtext("name"): obj.get("href", "") for obj in related.findall("object")}
    assert hrefs["BillToContact"].endswith("/Contact"), hrefs
    assert hrefs["SoldToContact"].endswith("/Contact"), hrefs


def test_describe_related_object_href_is_followable(demo: httpx.Client) -> None:
    root = xml(demo.get("/v1/describe/Account"))
    related = root.find("related-objects")
    assert related is not None
    href = next(o.get("href", "") for o in related if o.findtext("name") == "BillToContact")
    contact = xml(demo.get(href))
    assert contact.findtext("name") == "Contact"


def test_describe_unknown_object_is_404(demo: httpx.Client) -> None:
    assert demo.get("/v1/describe/NoSuchObject").status_code == 404
