"""The data commands of the ``aquarium`` CLI, run by the server that holds the data dir.

DuckDB lets one process open a database file for writing, and ``aquarium serve`` keeps
``billing.duckdb`` open. So while it runs, ``aquarium query``, ``simulate``, ``datagen``,
``load`` and ``demo`` find it (its discovery file, :mod:`aquarium.cli.local`) and ask it to do the
work through these use cases, on its own engine: the same functions the commands call directly when
no server runs, so the results are the same (the query's CSV byte for byte).

Only a caller holding the server's per-start token may use them (:meth:`check_token`): the token
is in ``DATA_DIR/server.json``, readable by the data dir's owner only, who could open the files
anyway. Tenants are named, not authenticated: these act as the data dir's owner.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aquarium.catalog import model, views
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, tenancy, tenant_clocks
from aquarium.engines import base, writes_port
from aquarium.services import adhoc_query
from aquarium.services import custom_fields as custom_fields_service
from aquarium.store import tenants_repo
from aquarium.zoql import ast

TOKEN_BYTES = 32  # of randomness in a server's local token
#: A tenant's time zone for ``aquarium query`` when none is recorded (as the CLI's own).
DEFAULT_QUERY_TIME_ZONE = tenancy.DEFAULT_TIME_ZONE

if TYPE_CHECKING:  # imported when used: the generator's libraries are not needed to serve
    from aquarium import datagen
    from aquarium.datagen import simulate


@dataclass(frozen=True)
class QueryFile:
    """A query's CSV, written to a private temporary directory; :meth:`discard` removes it."""

    path: Path

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


class LocalOperations:
    """``aquarium query / simulate / datagen / load`` inside the server (see the module
    docstring)."""

    def __init__(
        self,
        *,
        engine: writes_port.BillingEngine,
        metadata: sa.Engine,
        catalog: model.Catalog,
        clock: clock_port.Clock,
        data_dir: Path,
        token: str | None = None,
        custom_fields: custom_fields_service.CustomFields | None = None,
    ) -> None:
        self.engine = engine
        self.metadata = metadata
        #: the shipped catalogue; each tenant's view of it is read from the store per command
        self.catalog = catalog
        self.clock = clock
        self.data_dir = data_dir
        #: ``aquarium tenant add-field / remove-field`` through this server's engine
        self.custom_fields = custom_fields or custom_fields_service.CustomFields(
            metadata=metadata, shipped=catalog, clock=clock, schema=engine
        )
        #: the per-start secret of ``server.json``
        self.token = token or secrets.token_urlsafe(TOKEN_BYTES)

    def _time_zone_of(self, tenant: str) -> str | None:
        # From the store, as the command reads it without a server: the server's own view of
        # the tenants may be up to a second behind a datagen that has just recorded one.
        with self.metadata.connect() as conn:
            return tenants_repo.time_zone(conn, tenant)

    def _tenant(self, tenant: str) -> tenancy.Tenant:
        """The tenant as the store has it now (a default one when it has none)."""
        with self.metadata.connect() as conn:
            found = tenants_repo.get_tenant(conn, tenant)
        return found or tenancy.Tenant(tenant, DEFAULT_QUERY_TIME_ZONE)

    def check_token(self, presented: str | None) -> None:
        """Raise :class:`NotAuthenticated` unless ``presented`` is this server's token."""
        if presented is None or not secrets.compare_digest(presented, self.token):
            raise errors.NotAuthenticated(
                "this endpoint is for the aquarium commands on this data dir"
            )

    def about(self) -> dict[str, Any]:
        """Who answers: the data dir it serves (a copied discovery file names another)."""
        return {"dataDir": str(self.data_dir.resolve())}

    def query(
        self,
        *,
        zoql: str,
        tenant: str,
        use_labels: bool,
        utc: bool,
        dialect: ast.Dialect,
        null: str,
    ) -> QueryFile:
        """``aquarium query``: the CSV AQuA would produce, in a temporary file the caller
        discards. Raises ZoqlError, TenantDataMissing, QueryFailed as the direct path does."""
        stored = self._tenant(tenant)
        request = adhoc_query.AdhocQuery(
            text=zoql,
            tenant=tenant,
            time_zone=stored.time_zone,
            use_labels=use_labels,
            utc=utc,
            dialect=dialect,
            csv=base.CsvOptions(null=null),
        )
        result = QueryFile(Path(tempfile.mkdtemp(prefix="aquarium-query-")) / "result.csv")
        try:
            catalog = views.for_tenant(self.catalog, stored)
            clock = tenant_clocks.clock_for(self.clock, tenant)
            adhoc_query.run_to_file(request, self.engine, catalog, clock, result.path)
        except BaseException:
            result.discard()
            raise
        return result

    def simulate(self, *, tenant: str, days: int, seed: int) -> dict[str, Any]:
        """``aquarium simulate`` through this server's write path; the report as a document
        (:func:`simulation_document`)."""
        from aquarium.datagen import simulate

        report = simulate.simulate_through(
            self.engine,
            tenant,
            days=days,
            seed=seed,
            time_zone=self._time_zone_of(tenant) or simulate.DEFAULT_TIME_ZONE,
            clock=tenant_clocks.clock_for(self.clock, tenant),
        )
        return simulation_document(report)

    def datagen(
        self,
        *,
        tenant: str,
        scale: float,
        seed: int,
        time_zone: str | None,
        objects: list[str] | None = None,
    ) -> dict[str, Any]:
        """``aquarium datagen`` into this server's engine (a new or an existing tenant)."""
        from aquarium import datagen

        report = datagen.generate_through(
            self.engine,
            self.metadata,
            tenant,
            scale=scale,
            seed=seed,
            time_zone=time_zone,
            objects=objects,
        )
        return {"rows": report.rows, "seconds": report.seconds}

    def load(self, *, tenant: str, directory: str, add_fields: bool) -> dict[str, Any]:
        """``aquarium load`` into this server's engine (``services/bulk_load.py``), the files
        read from ``directory`` on this machine: the report as a document. The rows are
        replaced in one bulk transaction: jobs read the previous rows until it commits."""
        from aquarium.services import bulk_load  # pyarrow: loaded only for a load

        with tempfile.TemporaryDirectory(prefix="aquarium-load-") as scratch:
            report = bulk_load.load_directory(
                Path(directory),
                tenant,
                metadata=self.metadata,
                replace=self.engine.replace_objects,
                add_fields=add_fields,
                scratch=Path(scratch),
                fields=self.custom_fields,
            )
        return bulk_load.document(report)

    def add_field(self, body: dict[str, Any]) -> dict[str, Any]:
        """``aquarium tenant add-field`` on this server's engine: the field as a document."""
        field = self.custom_fields.add(
            body["tenant"],
            body["object"],
            body["name"],
            body["type"],
            label=body.get("label"),
            values=body.get("values") or (),
        )
        return custom_fields_service.document(field)

    def remove_field(self, *, tenant: str, object_name: str, name: str) -> dict[str, Any]:
        """``aquarium tenant remove-field`` on this server's engine: the removed field."""
        return custom_fields_service.document(self.custom_fields.remove(tenant, object_name, name))


def simulation_document(report: simulate.SimulationReport) -> dict[str, Any]:
    """A :class:`~aquarium.datagen.simulate.SimulationReport` as JSON."""
    return {
        "tenant": report.tenant,
        "days": report.days,
        "counts": [[obj, operation, n] for (obj, operation), n in report.counts.items()],
        "changed": sorted([obj, row_id] for obj, row_id in report.changed),
        "startedAt": report.started_at.isoformat(),
        "seconds": report.seconds,
    }


def simulation_report(document: dict[str, Any]) -> simulate.SimulationReport:
    """The :class:`~aquarium.datagen.simulate.SimulationReport` of :func:`simulation_document`."""
    from aquarium.datagen import simulate

    return simulate.SimulationReport(
        tenant=document["tenant"],
        days=document["days"],
        counts={(obj, operation): n for obj, operation, n in document["counts"]},
        changed=frozenset((obj, row_id) for obj, row_id in document["changed"]),
        started_at=dt.datetime.fromisoformat(document["startedAt"]),
        seconds=document["seconds"],
    )


def generation_report(document: dict[str, Any]) -> datagen.GenerationReport:
    """The :class:`~aquarium.datagen.GenerationReport` of :meth:`LocalOperations.datagen`."""
    from aquarium import datagen

    return datagen.GenerationReport(rows=dict(document["rows"]), seconds=document["seconds"])
