"""The tenant's entity (multi-entity): one Entity row, and the ``EntityId`` of every record of
the core and operations objects (all belong to it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from aquarium.datagen import columns as col
from aquarium.datagen import world as w

#: The objects whose records carry the (hidden) ``EntityId`` key of their Entity join.
OBJECTS = (
    "Account",
    "Contact",
    "PaymentMethod",
    "Product",
    "ProductRatePlan",
    "ProductRatePlanCharge",
    "Subscription",
    "Amendment",
    "RatePlan",
    "RatePlanCharge",
    "RatePlanChargeTier",
    "Invoice",
    "InvoiceItem",
    "InvoiceItemAdjustment",
    "InvoiceAdjustment",
    "Payment",
    "InvoicePayment",
    "Refund",
    "CreditBalanceAdjustment",
    "AccountingPeriod",
    "AccountingCode",
    "Usage",
    "BillingRun",
    "PaymentRun",
    "CommunicationProfile",
    "PaymentMethodSnapshot",
    "PaymentTransactionLog",
    "RefundTransactionLog",
    "PaymentMethodTransactionLog",
    "UpdaterBatch",
    "UpdaterDetail",
    "StoredCredentialProfile",
    "AchNocEventLog",
    "PaymentReconciliationJob",
    "PaymentReconciliationLog",
    "PaymentGatewayReconciliationEventLog",
    "SmartPreventionAudit",
    "HpmCaptchaValidationResult",
    "EmailHistory",
    "CalloutHistory",
    "Export",
    "Import",
)


def plan(world: w.World) -> None:
    """One entity, set up when the tenant started."""
    created = np.array([w.START_DAY * col.US_PER_DAY + 8 * 3600 * 1_000_000], dtype=np.int64)
    world.plans["Entity"] = {"created": created, "updated": created}


def build_entity(world: w.World) -> dict[str, Any]:
    """Entity columns: the tenant's company."""
    return {
        "Name": pa.array(["Aquarium Inc."]),
        "DisplayName": pa.array(["Aquarium"]),
        "Email": pa.array(["finance@aquarium.example"]),
        "Address1": pa.array(["1 Harbour Street"]),
        "Address2": pa.array(["Suite 100"]),
        "City": pa.array(["San Francisco"]),
        "State": pa.array(["California"]),
        "PostalCode": pa.array(["94105"]),
        "Country": pa.array(["United States"]),
    }


def _entity_of(name: str) -> w.Builder:
    def build(world: w.World) -> dict[str, Any]:
        n = world.count(name)
        return {"EntityId": world.fk("Entity", np.zeros(n, dtype=np.int64))}

    return build


BUILDERS: dict[str, w.Builder] = {"Entity": build_entity}
#: ``EntityId`` of every record of :data:`OBJECTS`.
COLUMNS: dict[str, w.Builder] = {name: _entity_of(name) for name in OBJECTS}
