"""The demo tenant's starter reports (``demo_reports.json``), saved on a first start.

Six reports that show what the Reporting API does over the generated data: a summary by month
and currency, open invoices, recent payments, MRR by product, accounts by status and usage by
account. Each carries both a Detail and a Summary view where that makes sense.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from aquarium.domain import tenancy
from aquarium.services import reports

DEMO_FILE = "demo_reports.json"


def definitions() -> list[dict[str, Any]]:
    """The reports as Create a Report bodies (``definition`` as a JSON string)."""
    text = resources.files("aquarium.services").joinpath(DEMO_FILE).read_text(encoding="utf-8")
    return [
        {**entry, "datasource": entry["dsName"], "definition": json.dumps(entry["definition"])}
        for entry in json.loads(text)
    ]


def ensure(service: reports.ReportService, owner: tenancy.Principal) -> int:
    """Save the starter reports for ``owner`` unless its tenant has reports already; how many
    were saved."""
    if service.has_reports(owner.tenant):
        return 0
    made = [service.create(owner, body) for body in definitions()]
    return len(made)
