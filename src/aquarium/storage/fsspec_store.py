"""A ResultStore on any fsspec filesystem (a shared directory, S3, GCS, Azure, SFTP ...): what
several API nodes and workers share in a scale-out deployment.

Writers still write a local file (the export writers need a real path: DuckDB's ``COPY``,
gzip, zip, gpg); :meth:`FsspecResultStore.publish` uploads it. A published name is never
overwritten, and never shows a partial file:

- on an object store (S3 and the like) an object appears only once its upload completes, so the
  file is put at its final name;
- elsewhere it is uploaded under a hidden temporary name beside the final one and then moved,
  which is a rename on a filesystem that has one.

Readers get either a seekable remote file (:meth:`open`) or a local copy (:meth:`local_path`,
what the download routes serve with ``Range``). Copies live in the local scratch directory at
``<scratch>/<tenant>/<file id>``; a published file never changes, so a copy stays right for as
long as the remote file exists with the same size, which each :meth:`local_path` checks. The
segments of one download (parallel ``Range`` requests) share one copy, fetched once; a copy
unused for :data:`COPY_KEEP_S` is removed, so files that another node purges do not stay here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, cast

import fsspec

from aquarium.storage import base, local

#: Protocols of stores where an object becomes visible only when its upload completes.
OBJECT_STORE_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "az", "adl", "oss", "oci"})
UPLOADING = ".uploading"  # the suffix of a remote file still being uploaded
FETCHING = ".fetching"  # the suffix of a local copy still being downloaded
COPY_KEEP_S = 3600.0  # seconds an unused local copy is kept
PRUNE_EVERY_S = 60.0  # seconds between looks for unused copies


class FsspecResultStore:
    def __init__(self, url: str, scratch: Path, **storage_options: Any) -> None:
        """Files under ``url`` (any fsspec URL); temporaries and read copies under ``scratch``,
        a local directory of this process's own."""
        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.root = root.rstrip("/")
        self.scratch = local.LocalResultStore(scratch)
        protocols = self.fs.protocol
        names = {protocols} if isinstance(protocols, str) else set(protocols)
        self.atomic_put = bool(names & OBJECT_STORE_PROTOCOLS)
        self._fetching: dict[str, threading.Lock] = {}
        self._fetching_guard = threading.Lock()
        self._pruned_at = time.monotonic()

    def _remote(self, location: str) -> str | None:
        parts = base.split_location(location)
        return None if parts is None else "/".join((self.root, *parts))

    def temporary_path(self, tenant: str, run_id: str, file_id: str) -> Path:
        return self.scratch.temporary_path(tenant, run_id, file_id)

    def temporaries(self) -> list[tuple[str | None, Path]]:
        return self.scratch.temporaries()

    def discard(self, temporary: Path) -> None:
        self.scratch.discard(temporary)

    def publish(self, tenant: str, file_id: str, temporary: Path) -> str:
        """Upload the written file; raises :class:`FileExistsError` when the location is
        already published (file ids are fresh, so that is a bug, never a retry to absorb)."""
        location = f"{tenant}/{file_id}"
        final = self._remote(location)
        if final is None:
            raise ValueError(f"not a result location: {location!r}")
        if self.fs.exists(final):
            raise FileExistsError(f"result file {location} is already published in {self.url}")
        if self.atomic_put:
            self.fs.put_file(str(temporary), final)
        else:
            self._upload_then_move(str(temporary), final)
        self.scratch.discard(temporary)
        return location

    def _upload_then_move(self, source: str, final: str) -> None:
        parent, _, name = final.rpartition("/")
        staging = f"{parent}/.{name}.{secrets.token_hex(8)}{UPLOADING}"
        self.fs.makedirs(parent, exist_ok=True)
        try:
            self.fs.put_file(source, staging)
            self.fs.mv(staging, final)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.rm_file(staging)
            raise

    def _remote_size(self, remote: str) -> int | None:
        try:
            info = self.fs.info(remote)
        except FileNotFoundError:
            return None
        return None if info.get("type") == "directory" else int(info["size"])

    def size(self, location: str) -> int | None:
        remote = self._remote(location)
        return None if remote is None else self._remote_size(remote)

    def open(self, location: str) -> BinaryIO | None:
        remote = self._remote(location)
        if remote is None:
            return None
        try:
            return cast(BinaryIO, self.fs.open(remote, "rb"))
        except FileNotFoundError:
            return None

    def local_path(self, location: str) -> Path | None:
        """A local copy of the published file, downloaded on first use; None when the remote
        file is gone (its copy, if any, goes too)."""
        remote = self._remote(location)
        if remote is None:
            return None
        size = self._remote_size(remote)
        if size is None:
            self._forget(location)
            return None
        self._prune_unused_copies()
        with self._fetch_lock(location):
            copy = self.scratch.local_path(location)
            if copy is not None and copy.stat().st_size == size:
                os.utime(copy)  # in use: kept another COPY_KEEP_S
                return copy
            return self._fetch(remote, location)

    def _fetch_lock(self, location: str) -> threading.Lock:
        with self._fetching_guard:
            return self._fetching.setdefault(location, threading.Lock())

    def _prune_unused_copies(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        oldest = time.time() - COPY_KEEP_S
        # Copies are named by file id; temporaries and fetches in progress start with a dot.
        # A copy being sent stays readable after its unlink (POSIX).
        for copy in self.scratch.root.glob("*/[!.]*"):
            with contextlib.suppress(FileNotFoundError):
                if copy.stat().st_mtime < oldest:
                    self._forget(f"{copy.parent.name}/{copy.name}")

    def _forget(self, location: str) -> None:
        """Remove the local copy of ``location`` and its fetch lock."""
        self.scratch.delete(location)
        with self._fetching_guard:
            self._fetching.pop(location, None)

    def _fetch(self, remote: str, location: str) -> Path | None:
        tenant, _, file_id = location.partition("/")
        directory = self.scratch.root / tenant
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=directory, prefix=f".{file_id}.", suffix=FETCHING)
        os.close(handle)
        try:
            self.fs.get_file(remote, name)
            # Concurrent fetches of one file each write their own temporary; the last rename
            # wins with the same bytes.
            os.replace(name, directory / file_id)
        except FileNotFoundError:
            return None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        return directory / file_id

    def delete(self, location: str) -> None:
        remote = self._remote(location)
        if remote is not None:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(remote)
        self._forget(location)
