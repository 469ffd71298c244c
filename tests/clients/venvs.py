"""Independent Zuora clients, each installed from PyPI into a virtualenv of its own.

A client pins dependencies Aquarium does not share (tap-zuora pins singer-python, requests and
pendulum), so it lives in ``.venv-clients/<name>-<version>`` beside the project's venv, built on
first use (pip from the machine's package index) and reused after. ``make test`` builds nothing
else: a fresh machine gets the client the first time its test runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENTS_DIR = ROOT / ".venv-clients"
BUILD_TIMEOUT_S = 900


def python_of(package: str, version: str) -> Path:
    """The interpreter of a virtualenv holding ``package==version``, built when missing."""
    home = CLIENTS_DIR / f"{package}-{version}"
    python = home / "bin" / "python"
    stamp = home / ".installed"
    if stamp.is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"{package}=={version}"],
        check=True,
        timeout=BUILD_TIMEOUT_S,
    )
    stamp.touch()
    return python
