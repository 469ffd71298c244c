"""Result storage: where finished files live, a local directory or any fsspec filesystem.

:func:`open_results` picks the store for the ``results_url`` setting; :func:`check_results_url`
says at startup, in one line, why a URL cannot be used, rather than at the first published file.
fsspec is imported only when a URL is given: the commands that never store results stay quick.
"""

from __future__ import annotations

from pathlib import Path

from aquarium.storage import base, local

RESULTS_DIR = "results"  # under the data dir: the local store's files
#: under the data dir: a remote store's temporaries, and local copies of the files it serves
RESULTS_CACHE_DIR = "results-cache"
EXAMPLE_URLS = "file:///shared/results or s3://bucket/prefix"

ResultStore = base.ResultStore


def check_results_url(url: str) -> None:
    """Raise :class:`ValueError` naming the problem when ``url`` is no usable fsspec URL: no
    protocol, a protocol fsspec does not know, or one whose package is not installed."""
    import fsspec

    for part in url.split("::"):
        protocol, _ = fsspec.core.split_protocol(part)
        if protocol is None:
            raise ValueError(
                f"{part!r} names no storage protocol; use a URL such as {EXAMPLE_URLS}"
            )
        if protocol not in fsspec.available_protocols():
            raise ValueError(
                f"unknown storage protocol {protocol!r}; use one fsspec knows, such as file, s3, "
                "gcs, abfs or sftp"
            )
        try:
            fsspec.get_filesystem_class(protocol)
        except ImportError as exc:
            raise ValueError(
                f"the {protocol}:// storage needs a package that is not installed ({exc})"
            ) from None


def plain_directory(url: str) -> Path | None:
    """The local directory a ``file://`` URL names, or None for any other URL."""
    import fsspec

    protocol, path = fsspec.core.split_protocol(url)
    if "::" in url or protocol not in ("file", "local"):
        return None
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{url} is not a directory")
    return directory


def open_results(results_url: str, data_dir: Path) -> base.ResultStore:
    """The result store of the ``results_url`` setting: ``DATA_DIR/results`` when it is empty,
    that directory for a ``file://`` URL, else the fsspec filesystem of the URL (with its
    temporaries and read copies under ``DATA_DIR/results-cache``).

    Raises :class:`ValueError` for a URL that :func:`check_results_url` refuses.
    """
    if not results_url:
        return local.LocalResultStore(data_dir / RESULTS_DIR)
    check_results_url(results_url)
    directory = plain_directory(results_url)
    if directory is not None:
        return local.LocalResultStore(directory)
    from aquarium.storage import fsspec_store

    return fsspec_store.FsspecResultStore(results_url, data_dir / RESULTS_CACHE_DIR)
