"""The export profile's summary of py-spy's collapsed stacks (``benchmarks/profile_export.py``)."""

from __future__ import annotations

from benchmarks import profile_export

RAW = "\n".join(
    [
        "thread (0x1);run (threading.py:1);run (aquarium/engines/ranged_copy.py:140);"
        "execute (aquarium/engines/ranged_copy.py:151) 70",
        "thread (0x1);run (threading.py:1);_append (aquarium/engines/ranged_copy.py:120) 5",
        "thread (0x2);serve (uvicorn/server.py:3);select (selectors.py:468) 25",
        "a line that is no sample",
    ]
)


def test_samples_are_summed_by_innermost_frame_and_split_by_thread_kind() -> None:
    total, export, rest = profile_export.summarize(RAW)
    assert total == 100
    assert export == {"execute (ranged_copy.py)": 70, "_append (ranged_copy.py)": 5}
    assert rest == {"select (selectors.py)": 25}
