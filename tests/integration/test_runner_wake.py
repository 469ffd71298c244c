"""The in-process runner's workers hear every wake(): a run submitted while a worker is
looking for work starts at once, not after the worker's next idle look."""

from __future__ import annotations

import pytest

from aquarium.runner import inprocess
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import JS, ServerFactory

make_server = support.make_server
billing_file = support.billing_file


def test_a_run_submitted_while_the_worker_looks_for_work_is_not_left_waiting(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a wake() the worker would look again only after POLL_S: make that an hour, so
    # the job below completes only if the wake() that came while it was claiming is kept.
    monkeypatch.setattr(inprocess, "POLL_S", 3600.0)
    h = make_server(workers=1, start=False)
    runner = h.srv.runner
    assert isinstance(runner, inprocess.InProcessRunner)
    claim = runner._claim
    submitted: list[str] = []

    def claim_then_submit(only: str | None = None) -> object:
        found = claim(only)
        if not submitted:  # nothing was waiting; a submit (and its wake) lands just after
            submitted.append(h.submit(support.FAST_QUERIES[0]))
        return found

    monkeypatch.setattr(runner, "_claim", claim_then_submit)
    h.srv.start()
    support.wait_for(lambda: submitted, "the submit during the claim")
    assert h.wait_terminal(submitted[0]).status == JS.COMPLETED
