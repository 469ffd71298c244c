"""Reporting administration: the tenant settings and the transfer of report ownership.

Reference reporting.md section 5.6 [TSET][TUPD][XFER]. Wire choices where the reference is
silent (IMPL, also in docs/reporting.md):

- Get Tenant Settings (``GET /settings``) answers ``{"emailDomains": [...]}`` to any user of the
  tenant; ``[]`` (also for a tenant that never set them) means no restriction. Update
  (``POST /settings``, ``{"emailDomains": [...]}``) replaces the list and answers
  ``{"status": "OK", "code": 100, "message": "Success"}``; only a tenant administrator may
  (HTTP 403 otherwise: Zuora keeps tenant settings to administrators). Each domain is a host
  name with at least one dot (``CorporationXYZ.com``), kept as written, a repeat (in any case)
  once; anything else is HTTP 400 naming it. Aquarium schedules no reports, so the list is kept
  and answered, and restricts nothing here.
- Transfer Report Ownership (``POST /reports/transfer-ownership``) takes ``reportIds`` or
  ``reportNames`` (a non-empty array; not both) and ``newOwnerUserId``: the 32-hex user id
  the reports' ``createdBy`` shows, or the user name. Only a tenant administrator may (Zuora's
  Reporting Administrator role; HTTP 403). Every report named must exist (a name names every
  report of that name), else HTTP 400 and nothing changes. Each report gets the new owner as
  its creator and moves from My Reports (other labels stay) into the label ``Transferred
  Reports YYYY-MM-DD`` (today in the tenant's time zone) under My Reports, made when missing.
  Answer: ``"Transfer ownership successfully"``. Sending it again changes nothing more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from aquarium.domain import ids, reporting_errors, tenancy
from aquarium.services import report_labels, reports
from aquarium.store import labels_repo, report_settings_repo, reports_repo, tenants_repo

SETTINGS_SAVED = {"status": "OK", "code": 100, "message": "Success"}  # [TUPD]
TRANSFERRED = "Transfer ownership successfully"  # [XFER]
TRANSFER_LABEL = "Transferred Reports {date}"  # [XFER]: "Transferred Reports YYYY-mm-DD"
MAX_EMAIL_DOMAINS = 1000
MAX_DOMAIN_CHARS = 253  # the longest host name
HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # one part of a host name
_DOMAIN = re.compile(rf"(?=.{{1,{MAX_DOMAIN_CHARS}}}\Z)(?:{HOST_LABEL}\.)+[A-Za-z]{{2,63}}")


class ReportAdminService:
    """Tenant settings and ownership transfers, over the report service's store.

    Holds no state of its own, so a route may make one per request.
    """

    def __init__(self, report_service: reports.ReportService) -> None:
        self.metadata = report_service.metadata
        self.clock = report_service.clock

    # -- tenant settings -------------------------------------------------------------------

    def settings(self, caller: tenancy.Principal) -> dict[str, Any]:
        """``{"emailDomains": [...]}`` of the caller's tenant [TSET]."""
        with self.metadata.connect() as conn:
            return {"emailDomains": report_settings_repo.email_domains(conn, caller.tenant)}

    def update_settings(self, caller: tenancy.Principal, payload: object) -> dict[str, Any]:
        """Replace the tenant's email domains with the body's ``emailDomains`` [TUPD]."""
        domains = email_domains(_body(payload))
        _require_admin(caller, "change the tenant settings")
        with self.metadata.begin() as conn:
            report_settings_repo.set_email_domains(
                conn, caller.tenant, domains, by=caller.name, at=self.clock.now()
            )
        return dict(SETTINGS_SAVED)

    # -- ownership -------------------------------------------------------------------------

    def transfer(self, caller: tenancy.Principal, payload: object) -> str:
        """Give the reports of the body to ``newOwnerUserId`` [XFER]."""
        fields = _body(payload)
        wanted = _report_selection(fields)
        owner_id = fields.get("newOwnerUserId")
        if not isinstance(owner_id, str) or not owner_id.strip():
            raise reporting_errors.InvalidReportingRequest("newOwnerUserId is required.")
        _require_admin(caller, "transfer report ownership")
        now = self.clock.now()
        with self.metadata.begin() as conn:
            owner = _user(conn, caller.tenant, owner_id.strip())
            chosen = _reports(conn, caller.tenant, wanted)
            label_id = self._transfer_label(conn, caller.tenant, owner, now)
            home = labels_repo.root_id(caller.tenant, labels_repo.MY_REPORTS)
            for record in chosen:
                kept = tuple(i for i in record.label_ids if i not in {home, label_id})
                reports_repo.set_owner(
                    conn,
                    dataclasses.replace(
                        record,
                        created_by=owner,
                        updated_by=caller.name,
                        updated_at=now,
                        label_ids=(*kept, label_id),
                    ),
                )
        return TRANSFERRED

    def _transfer_label(
        self, conn: sa.Connection, tenant: str, owner: str, now: dt.datetime
    ) -> str:
        """The id of today's ``Transferred Reports YYYY-MM-DD`` under My Reports (made now
        when missing, by the new owner)."""
        labels_repo.ensure_roots(conn, tenant, now)
        zone = tenants_repo.time_zone(conn, tenant) or tenancy.DEFAULT_TIME_ZONE
        name = TRANSFER_LABEL.format(date=now.astimezone(zoneinfo.ZoneInfo(zone)).date())
        parent = labels_repo.root_id(tenant, labels_repo.MY_REPORTS)
        siblings = labels_repo.children(conn, tenant, parent)
        found = next((label for label in siblings if label.name == name), None)
        if found is not None:
            return found.id
        label = labels_repo.LabelRecord(
            id=ids.new_id(),
            tenant=tenant,
            name=name,
            parent_id=parent,
            type=labels_repo.PRIVATE,
            created_by=owner,
            updated_by=owner,
            created_at=now,
            updated_at=now,
            order=max((sibling.order for sibling in siblings), default=-1) + 1,
        )
        labels_repo.insert(conn, label)
        return label.id


def email_domains(fields: Mapping[str, Any]) -> list[str]:
    """The ``emailDomains`` of an Update Tenant Settings body: host names, repeats once."""
    if "emailDomains" not in fields:
        raise reporting_errors.InvalidReportingRequest(
            'emailDomains is required: {"emailDomains": ["example.com"]}, or [] for any domain.'
        )
    given = reports.label_ids_of(fields["emailDomains"]) or ()  # read as Jackson reads a list
    if len(given) > MAX_EMAIL_DOMAINS:
        raise reporting_errors.InvalidReportingRequest(
            f"emailDomains holds {len(given):,} domains; at most {MAX_EMAIL_DOMAINS:,} are kept."
        )
    found: dict[str, str] = {}
    for value in given:
        domain = value.strip()
        if _DOMAIN.fullmatch(domain) is None:
            raise reporting_errors.InvalidReportingRequest(
                f"{value!r} is not an email domain (such as CorporationXYZ.com)."
            )
        found.setdefault(domain.lower(), domain)
    return list(found.values())


def _body(payload: object) -> Mapping[str, Any]:
    if payload is None:
        raise reporting_errors.RequestBodyMissing(report_labels.BODY_MISSING)
    if not isinstance(payload, Mapping):
        raise reporting_errors.UnreadableJson(
            "Could not read JSON: the request body must be a JSON object."
        )
    return payload


def _require_admin(caller: tenancy.Principal, what: str) -> None:
    if not caller.admin:
        raise reporting_errors.AdministratorRequired(
            f"Only a Reporting administrator (a tenant administrator) can {what}."
        )


def _report_selection(fields: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """``("reportIds" | "reportNames", values)`` of a transfer body."""
    given = [key for key in ("reportIds", "reportNames") if fields.get(key) is not None]
    if len(given) != 1:
        raise reporting_errors.InvalidReportingRequest(
            "Send reportIds or reportNames (one of them): the reports to transfer."
        )
    key = given[0]
    values = reports.label_ids_of(fields[key]) or ()
    if not values:
        raise reporting_errors.InvalidReportingRequest(f"{key} must name at least one report.")
    return key, values


def _user(conn: sa.Connection, tenant: str, wanted: str) -> str:
    """The name of the tenant's user whose id (or name) is ``wanted``."""
    found = tenants_repo.get_tenant(conn, tenant)
    for user in found.users if found is not None else ():
        if wanted in {user.name, reports.user_id(tenant, user.name)}:
            return user.name
    raise reporting_errors.InvalidReportingRequest(f"The user {wanted} does not exist.")


def _reports(
    conn: sa.Connection, tenant: str, wanted: tuple[str, Sequence[str]]
) -> list[reports_repo.ReportRecord]:
    """Every report the selection names; HTTP 400 for any that names none."""
    key, values = wanted
    records = reports_repo.list_for_tenant(conn, tenant)
    attribute = "id" if key == "reportIds" else "name"
    chosen = [record for record in records if getattr(record, attribute) in values]
    found = {getattr(record, attribute) for record in chosen}
    for value in values:
        if value not in found:
            noun = "ID" if key == "reportIds" else "name"
            raise reporting_errors.InvalidReportingRequest(
                f"An error occurred. The report with {noun} {value} does not exist."
            )
    return chosen
