"""The Invoice Settlement family: memos, taxation items, applications, refunds, splits.

One family (see :mod:`aquarium.datagen.generate`) made of four modules, planned in order:
``settlement_docs`` (taxation items, payment refunds, debit and credit memos, invoice splits;
the story is told in its docstring), ``settlement_apply`` (document-level applications and the
balances they leave), ``settlement_items`` (application rows and item-level splits) and
``settlement_build`` (builders of the documents).

Contract with later families (journal entries, revenue schedules): for every object X in
:data:`TRANSACTIONS`, ``world.plans[X]`` has

- ``amount``: int64 cents, >= 0 (a memo's ``amount`` includes its tax; an item's excludes it);
- ``account``: index into Account;
- ``created``: µs since the epoch, UTC;

and ``CreditMemoItem`` / ``DebitMemoItem`` also ``charge`` (index into RatePlanCharge, -1 if
none). Further keys: memo items ``memo`` (their memo) and ``item`` (the InvoiceItem they copy),
taxation items ``line`` (their memo item) or ``item`` (their invoice item), applications
``invoice`` / ``debit_memo`` / ``memo`` / ``payment`` / ``refund`` (-1 where not applicable).
"""

from __future__ import annotations

from aquarium.datagen import settlement_apply, settlement_build, settlement_docs, settlement_items
from aquarium.datagen import world as w

TRANSACTIONS = settlement_docs.TRANSACTIONS


def plan(world: w.World) -> None:
    """Plan the whole family; reads the billing and money plans and amends their balances."""
    settlement_docs.plan(world)
    settlement_apply.plan(world)
    settlement_items.plan(world)


#: The builder of each object this family plans.
BUILDERS: dict[str, w.Builder] = settlement_build.BUILDERS | settlement_items.BUILDERS
#: Columns this family fills on objects other families build (``[extend.X.fields]`` and the
#: core fields Invoice Settlement gives values to).
COLUMNS: dict[str, w.Builder] = settlement_apply.COLUMNS
#: Objects that can pass ``generate.CHUNK_ROWS`` rows at scale 50 (built in slices).
CHUNKED = frozenset({"TaxationItem", "PaymentApplication", "PaymentApplicationItem"})
