"""The runs repository on SQLite and PostgreSQL, over both kinds at once: one claim queue with
admission limits per tenant and kind, events driven by each kind's machine, heartbeats, stale
and released runs, purges per kind."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from aquarium.domain import ids, jobs, runs
from aquarium.store import report_runs_repo, runs_repo, tenants_repo
from tests.integration import test_store_jobs as aqua
from tests.integration import test_store_migrations as support

T0 = aqua.T0
SECOND = aqua.SECOND
AQUA, REPORT = runs.Kind.AQUA, runs.Kind.REPORT
JS, RS = jobs.JobStatus, jobs.ReportRunStatus

store = support.store
engine = support.engine


def add_run(engine: sa.Engine, *, tenant: str = "acme", created_at: dt.datetime = T0) -> str:
    run_id = ids.new_id()
    run = report_runs_repo.NewReportRun(
        id=run_id, tenant=tenant, report_id=ids.new_id(), report_name="Invoices",
        ds_name="InvoiceItem", view_type="Detail", definition="{}", filters_json=None,
        created_by="nina", created_at=created_at,
    )  # fmt: skip
    with engine.begin() as conn:
        tenants_repo.record_tenant(conn, tenant)  # every run references its tenant
        report_runs_repo.insert(conn, run)
    return run_id


def claim(engine: sa.Engine, *kinds: runs.Kind, **kw: object) -> str | None:
    with engine.begin() as conn:
        found = runs_repo.claim_next(
            conn,
            kinds or tuple(runs.Kind),
            worker="w1",
            at=T0,
            **kw,  # type: ignore[arg-type]
        )
    return None if found is None else found.id


def apply(engine: sa.Engine, kind: runs.Kind, run_id: str, event: object) -> object:
    with engine.begin() as conn:
        return runs_repo.apply_event(conn, kind, run_id, event, at=T0 + SECOND)  # type: ignore[arg-type]


def status(engine: sa.Engine, run_id: str) -> str | None:
    with engine.connect() as conn:
        return runs_repo.status_of(conn, run_id)


def test_one_queue_oldest_first_whatever_the_kind(engine: sa.Engine) -> None:
    made = [
        aqua.add_job(engine, created_at=T0 + 2 * SECOND),
        add_run(engine, created_at=T0),
        aqua.add_job(engine, created_at=T0 + 3 * SECOND),
        add_run(engine, created_at=T0 + SECOND),
    ]
    assert [claim(engine) for _ in range(5)] == [made[1], made[3], made[0], made[2], None]
    assert [status(engine, run_id) for run_id in made] == ["executing", "QUERYDATA"] * 2


def test_a_claim_takes_only_the_kinds_asked_for(engine: sa.Engine) -> None:
    job, run = aqua.add_job(engine), add_run(engine, created_at=T0 - SECOND)
    assert claim(engine, AQUA) == job
    assert claim(engine, AQUA) is None
    assert claim(engine, REPORT) == run


def test_admission_limits_are_per_tenant_and_kind(engine: sa.Engine) -> None:
    runs_of_a = [add_run(engine, tenant="a", created_at=T0 + n * SECOND) for n in range(2)]
    run_of_b = add_run(engine, tenant="b", created_at=T0 + 2 * SECOND)
    job_of_a = aqua.add_job(engine, tenant="a", created_at=T0 + 3 * SECOND)

    def limit(tenant: str, kind: runs.Kind) -> int:
        return 1 if kind is REPORT else 100

    claimed = [claim(engine, limit=limit) for _ in range(4)]
    assert claimed == [runs_of_a[0], run_of_b, job_of_a, None]
    assert apply(engine, REPORT, runs_of_a[0], jobs.ReportRunEvent.CANCEL) == RS.CANCELLED
    assert claim(engine, limit=limit) == runs_of_a[1]


def test_claims_of_two_workers_at_once_keep_to_the_limit(engine: sa.Engine) -> None:
    """Scale-out: workers in other processes claim while a claim is not committed yet; the
    second one must count the first one's run, not start another beyond the limit."""
    first, second = (add_run(engine, tenant="a", created_at=T0 + n * SECOND) for n in range(2))

    def limit(tenant: str, kind: runs.Kind) -> int:
        return 1

    claimed: list[str | None] = []
    other = threading.Thread(target=lambda: claimed.append(claim(engine, limit=limit)))
    with engine.begin() as conn:
        found = runs_repo.claim_next(conn, [REPORT], worker="w0", at=T0, limit=limit)
        assert found is not None and found.id == first
        other.start()
        other.join(timeout=0.5)  # a claim that does not wait for this one is over by now
    other.join(timeout=30)
    assert claimed == [None]
    assert status(engine, second) == "STARTED"


def test_an_event_applies_only_to_a_run_of_its_kind(engine: sa.Engine) -> None:
    job, run = aqua.add_job(engine), add_run(engine)
    assert apply(engine, REPORT, job, jobs.ReportRunEvent.CANCEL) is None
    assert apply(engine, AQUA, run, jobs.JobEvent.CANCEL) is None
    assert (status(engine, job), status(engine, run)) == ("submitted", "STARTED")
    assert apply(engine, REPORT, run, jobs.ReportRunEvent.CANCEL) == RS.CANCELLED
    # Terminal states are sticky, whatever the kind.
    assert apply(engine, REPORT, run, jobs.ReportRunEvent.START) is None


def test_released_runs_are_those_the_worker_no_longer_holds(engine: sa.Engine) -> None:
    kept, cancelled, requeued = (add_run(engine, created_at=T0 + n * SECOND) for n in range(3))
    job = aqua.add_job(engine, created_at=T0 + 3 * SECOND)
    assert [claim(engine) for _ in range(4)] == [kept, cancelled, requeued, job]
    assert apply(engine, REPORT, cancelled, jobs.ReportRunEvent.CANCEL) == RS.CANCELLED
    assert apply(engine, REPORT, requeued, jobs.ReportRunEvent.REQUEUE) == RS.STARTED
    with engine.connect() as conn:
        released = runs_repo.released(conn, [kept, cancelled, requeued, job], "w1")
        by_another = runs_repo.released(conn, [kept], "w2")
    assert {run_id: found[:2] for run_id, found in released.items()} == {
        cancelled: (REPORT, "CANCELLED"),
        requeued: (REPORT, "STARTED"),
    }
    assert released[cancelled][2] == T0 + SECOND
    assert set(by_another) == {kept}


def test_heartbeats_and_stale_runs_of_every_kind(engine: sa.Engine) -> None:
    run, job = add_run(engine), aqua.add_job(engine, created_at=T0 + SECOND)
    waiting = add_run(engine, created_at=T0 + 2 * SECOND)
    assert claim(engine) == run and claim(engine) == job
    with engine.begin() as conn:
        runs_repo.heartbeat(conn, [run], "w1", T0 + 60 * SECOND)
        stale = runs_repo.stale(conn, older_than=T0 + 30 * SECOND)
        only_reports = runs_repo.stale(conn, older_than=T0 + 90 * SECOND, kinds={REPORT})
        executing = runs_repo.executing_ids(conn, [run, job, waiting])
    assert [found.id for found in stale] == [job]
    assert [found.id for found in only_reports] == [run]
    assert executing == {run, job}


def test_purge_is_per_kind(engine: sa.Engine) -> None:
    job, run = aqua.add_job(engine), add_run(engine)
    assert apply(engine, AQUA, job, jobs.JobEvent.CANCEL) == JS.CANCELLED
    assert apply(engine, REPORT, run, jobs.ReportRunEvent.CANCEL) == RS.CANCELLED
    with engine.begin() as conn:
        assert runs_repo.purge(conn, REPORT, created_before=T0 + SECOND) == 1
        assert runs_repo.purge(conn, REPORT, created_before=T0 + SECOND) == 0
        assert report_runs_repo.get(conn, "acme", run) is None
        assert runs_repo.status_of(conn, job) == "cancelled"
        assert runs_repo.purge(conn, AQUA, created_before=T0 + SECOND, tenant="zeta") == 0
        assert runs_repo.purge(conn, AQUA, created_before=T0 + SECOND, except_tenants=["acme"]) == 0
        assert runs_repo.purge(conn, AQUA, created_before=T0 + SECOND) == 1


def test_count_by_status_per_kind(engine: sa.Engine) -> None:
    jobs_made = [aqua.add_job(engine) for _ in range(3)]
    add_run(engine)
    assert apply(engine, AQUA, jobs_made[0], jobs.JobEvent.CANCEL) == JS.CANCELLED
    with engine.connect() as conn:
        assert runs_repo.count_by_status(conn, AQUA) == {JS.SUBMITTED: 2, JS.CANCELLED: 1}
        assert runs_repo.count_by_status(conn, REPORT) == {RS.STARTED: 1}


def test_a_report_runs_results_are_recorded_with_its_event(engine: sa.Engine) -> None:
    run = add_run(engine)
    assert claim(engine) == run
    with engine.begin() as conn:
        assert runs_repo.apply_event(conn, REPORT, run, jobs.ReportRunEvent.PROCESS, at=T0)
        report_runs_repo.record_results(conn, run, row_count=42)
    with engine.connect() as conn:
        found = report_runs_repo.get(conn, "acme", run)
    assert found is not None
    assert (found.status, found.row_count, found.report_name) == (RS.PROCESSINGDATA, 42, "Invoices")


def test_a_filter_bound_beyond_the_calendar_compares_as_its_edge(engine: sa.Engine) -> None:
    """Issue 11, defect 2: an instant with no UTC datetime (written at the calendar's edge in a
    far zone) is bound as the calendar's last or first microsecond, on both databases."""
    run_id = add_run(engine)
    latest = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(-dt.timedelta(hours=12)))
    earliest = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))

    def found(*filters: report_runs_repo.RunFilter) -> list[str]:
        with engine.connect() as conn:
            _, page = report_runs_repo.query(conn, "acme", filters=filters)
        return [run.id for run in page]

    assert found(report_runs_repo.RunFilter("created_at", "<", latest)) == [run_id]
    assert found(report_runs_repo.RunFilter("created_at", ">", earliest)) == [run_id]
    assert found(report_runs_repo.RunFilter("created_at", ">=", latest)) == []
    assert found(report_runs_repo.RunFilter("created_at", "<", earliest)) == []
