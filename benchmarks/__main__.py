"""``python -m benchmarks [name ...]``: run the benchmarks, print Markdown.

Without names, every benchmark but the ones in :data:`ON_REQUEST` (``moonshot``: 100 million
rows, hours and tens of GB of disk) runs; those run only when named. Each benchmark's output is
followed by the machine's state while it ran (``benchmarks/machine.py``: load average, CPU
steal, iowait, busy), so figures from a busy or stolen-from machine say so.

Set ``AQUARIUM_BENCH_SCALE`` to change the generator scale (default 50, the issue's figure);
``AQUARIUM_MOONSHOT_SCALE`` the moonshot's (default 1000).
"""

from __future__ import annotations

import platform
import sys

from benchmarks import (
    bench_aqua,
    bench_clone,
    bench_datagen,
    bench_dataquery,
    bench_dataquery_output,
    bench_export_candidates,
    bench_incremental,
    bench_load,
    bench_moonshot,
    bench_plugin,
    bench_reports,
    bench_reset,
    bench_scaleout,
    bench_translate,
    machine,
    profile_export,
)

BENCHMARKS = {
    "translate": bench_translate.run,
    "datagen": bench_datagen.run,
    "load": bench_load.run,
    "clone": bench_clone.run,
    "aqua": bench_aqua.run,
    "export-candidates": bench_export_candidates.run,
    "incremental": bench_incremental.run,
    "reports": bench_reports.run,
    "reset": bench_reset.run,
    "plugin": bench_plugin.run,
    "dataquery": bench_dataquery.run,
    "dataquery-output": bench_dataquery_output.run,
    "scaleout": bench_scaleout.run,
    "moonshot": bench_moonshot.run,
    "profile-export": profile_export.run,
}
#: run only when named (``python -m benchmarks moonshot``, ``make bench-moonshot``)
ON_REQUEST = frozenset({"moonshot"})


def chosen(argv: list[str]) -> list[str]:
    """The benchmarks to run for ``argv``: those named, else all but :data:`ON_REQUEST`.

    Raises ``SystemExit`` naming the unknown ones.
    """
    names = argv or [name for name in BENCHMARKS if name not in ON_REQUEST]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    return names


def main(argv: list[str]) -> None:
    names = chosen(argv)
    print(f"Machine: {platform.machine()}, Python {platform.python_version()}\n")
    for name in names:
        with machine.watching() as watch:
            output = BENCHMARKS[name]()
        print(output)
        print()
        assert watch.state is not None
        print(watch.state.describe(name))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
