"""The object list of ``docs/catalog.md``, written from the catalogue so it never drifts.

``python -m aquarium.catalog.listing docs/catalog.md`` rewrites the part of the file between
:data:`BEGIN` and :data:`END`; a unit test keeps the committed file current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aquarium.catalog import model

BEGIN = "<!-- objects: written by `python -m aquarium.catalog.listing docs/catalog.md` -->"
END = "<!-- end of objects -->"


def table(catalog: model.Catalog) -> str:
    """One Markdown row per object, by name: fields, joins, deleted export, feature, source."""
    lines = [
        f"{len(catalog)} objects.",
        "",
        "| object | fields | joins | deleted records | tenant feature | Zuora's documentation |",
        "|---|---|---|---|---|---|",
    ]
    for obj in sorted(catalog, key=lambda o: o.name):
        feature = obj.feature or ""
        if obj.deprecated_by:
            feature = f"legacy with {obj.deprecated_by}"
        joins = ", ".join(relation.name for relation in obj.related)
        lines.append(
            f"| {obj.name} | {len(obj.export_fields)} | {joins} | "
            f"{'yes' if obj.deleted_export else 'no'} | {feature} | {obj.source} |"
        )
    return "\n".join(lines)


def rewrite(text: str, catalog: model.Catalog) -> str:
    """``text`` with the part between the markers replaced by :func:`table`."""
    head, found, rest = text.partition(BEGIN)
    if not found or END not in rest:
        raise ValueError(f"the file has no {BEGIN!r} ... {END!r} section")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table(catalog)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m aquarium.catalog.listing docs/catalog.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(rewrite(path.read_text("utf-8"), model.default()), "utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover - a command
    raise SystemExit(main(sys.argv[1:]))
