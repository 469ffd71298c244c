"""``make fuzz``: schemathesis against a live server for a time budget, then the figures.

    python -m tests.fuzz.campaign [--seconds 600] [--out .fuzz] [--seed N]

Starts the fuzz tier's server (``tests/fuzz/live.py``) over a scratch data dir, runs
``schemathesis run`` on the committed ``openapi.json`` with every check on
(``no_undocumented_server_error`` in place of ``not_a_server_error``, see
``tests/fuzz/hooks.py``) and every phase (examples,
coverage, fuzzing, stateful) with ``--max-time``: schemathesis repeats fuzzing and stateful
testing until the budget is spent. A random seed unless ``--seed`` (printed either way, so a run
can be repeated). Writes ``OUT/report.json`` (schemathesis's own), ``OUT/summary.json`` (the
figures: operations, test cases, failures by check, duration) and ``OUT/server.log``; prints the
figures; exits with schemathesis's exit code (0: no failure).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fuzz import live

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SECONDS = 600
SETTINGS = Path(__file__).with_name("schemathesis.toml")
#: The committed document: the one the server serves at ``/openapi.json`` (kept equal by
#: tests/unit/test_openapi.py), read from the file so a run needs no request before its first case.
OPENAPI = REPO / "openapi.json"


def command(base_url: str, out: Path, seconds: int, seed: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(SETTINGS),
        # No --checks: schemathesis.toml turns every check on (and not_a_server_error off), per
        # operation where it must; --checks would override those per-operation settings.
        "run",
        str(OPENAPI),
        "--url",
        base_url,
        "--max-time",
        str(seconds),
        "--seed",
        str(seed),
        "--workers",
        "2",
        "--report",
        "json",
        "--report-dir",
        str(out),
        "--report-json-path",
        str(out / "report.json"),
    ]


def summary(report: dict[str, Any], seconds: int, wall: float) -> dict[str, Any]:
    """The figures of a run, from schemathesis's JSON report."""
    failures = {
        f"{item['code']} {item['title']}": item["count"] for item in report.get("failures", [])
    }
    return {
        "seed": report.get("seed"),
        "budget_seconds": seconds,
        "duration_seconds": round(wall, 1),
        "schemathesis_running_time": round(float(report.get("running_time", 0.0)), 1),
        "stop_reason": report.get("stop_reason"),
        "operations": report.get("operations", {}),
        "phases": {name: phase["status"] for name, phase in report.get("phases", {}).items()},
        "test_cases": report.get("test_cases", {}),
        "failures_by_check": failures,
        "failures_total": sum(failures.values()),
        "errors": len(report.get("errors", [])),
        "exit_code": report.get("exit_code"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS)
    parser.add_argument("--out", type=Path, default=REPO / ".fuzz")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").unlink(missing_ok=True)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    scratch = Path(tempfile.mkdtemp(prefix="aquarium-fuzz-"))
    server = live.start(scratch)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")]),
    }
    print(f"fuzzing {server.base_url} for {args.seconds} s, seed {seed}", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(
            command(server.base_url, out, args.seconds, seed), cwd=REPO, env=env, check=False
        )
    finally:
        wall = time.monotonic() - started
        server.stop()
        shutil.copyfile(server.log_path, out / "server.log")
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        report = json.loads((out / "report.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"schemathesis exited {done.returncode} without a report: {exc}", file=sys.stderr)
        return done.returncode or 1
    figures = summary(report, args.seconds, wall)
    (out / "summary.json").write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    print(json.dumps(figures, indent=2))
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
