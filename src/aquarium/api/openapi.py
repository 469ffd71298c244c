"""The committed ``openapi.json``: generated from the application, kept current by a test.

``python -m aquarium.api.openapi [PATH]`` rewrites it (``make openapi``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aquarium.api import app as api_app

DEFAULT_PATH = Path("openapi.json")


def document() -> dict[str, Any]:
    """The OpenAPI document of the HTTP API (no services needed to describe it), with the
    bodies and answers the routers cannot declare (``api/schemas/``)."""
    return api_app.create_app(None).openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
