"""``aquarium query`` answers the reference's example queries as AQuA's CSV, from a real process."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Example queries of reference/aqua.md (sections 3, 5, 8, 10) and the seed, as written there.
REFERENCE_EXAMPLES = [
    "select Id,StartDate,EndDate,FiscalYear,Name,Status from AccountingPeriod",
    "select Id, Name, UpdatedDate from Account",
    "select AccountingCode,CancelledDate,CreatedDate,Id,InvoiceId,InvoiceItemName,InvoiceNumber,"
    "SourceType,AdjustmentNumber,ServiceStartDate,ServiceEndDate,AdjustmentDate,Amount,Status,"
    "AccountId,SourceId,Type,ReasonCode, UpdatedDate  from  InvoiceItemAdjustment",
    "select AccountNumber,Id,CreditBalance,Name,Balance,TaxExemptStatus,AutoPay,Currency,"
    "PaymentGateway,PaymentTerm,SalesRepName,TaxExemptIssuingJurisdiction,"
    "TaxExemptEffectiveDate,TaxExemptExpirationDate,TaxExemptCertificateType,LastInvoiceDate,"
    "Status,TotalInvoiceBalance,CreatedDate,UpdatedDate, ParentId, CustomerServiceRepName, "
    "BillToContact.Id, SoldToContact.Id from Account",
    "select * from account limit 5;",
    "select BillToContact.FirstName from InvoiceItem",
    "select id from account",
]
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}")


def _query(duck_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "aquarium",
            "query",
            "--data-dir",
            str(duck_dir),
            "--tenant",
            "acme",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("zoql", REFERENCE_EXAMPLES)
def test_reference_examples_answer_csv(duck_dir: Path, zoql: str) -> None:
    result = _query(duck_dir, zoql)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) > 1, "generated data has rows for every object"
    assert all(len(row) == len(rows[0]) for row in rows)


def test_api_names_labels_and_utc(duck_dir: Path) -> None:
    api = _query(duck_dir, "select Id, CreatedDate, BillToContact.Id from Account")
    labels = _query(duck_dir, "--labels", "select Id, CreatedDate, BillToContact.Id from Account")
    utc = _query(duck_dir, "--utc", "select CreatedDate from Account")
    assert api.stdout.splitlines()[0] == "Account.Id,Account.CreatedDate,BillToContact.Id"
    assert labels.stdout.splitlines()[0] == "Account: ID,Account: Created Date,Bill To: ID"
    for line in api.stdout.splitlines()[1:]:
        assert DATETIME.fullmatch(line.split(",")[1])
    assert all(line.endswith("+0000") for line in utc.stdout.splitlines()[1:])


def test_bad_query_prints_the_positioned_error_and_exits_1(duck_dir: Path) -> None:
    result = _query(duck_dir, "select Nmae from Account")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "line 1, column 8: unknown field 'Nmae' on Account" in result.stderr
    assert "^" in result.stderr


def test_unknown_tenant_is_a_clear_error(duck_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aquarium",
            "query",
            "--data-dir",
            str(duck_dir),
            "--tenant",
            "nobody",
            "select Id from Account",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "The tenant has no billing data. Tenant 'nobody' has none here" in result.stderr
