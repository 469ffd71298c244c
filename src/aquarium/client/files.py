"""Streaming a file to disk: resumable with ``Range``, checked, visible only when complete.

A download writes ``<target>.part`` and renames it to ``target`` once its size matches what the
server announced (``Content-Length``, or the total of ``Content-Range``) and its SHA-256 matches
``X-Checksum-Sha256`` when the server sends one. An interrupted download leaves the ``.part``
file; the next download with ``resume=True`` asks only for the missing bytes
(``Range: bytes=N-``). A server that ignores the range (HTTP 200) is answered by starting over;
one that says the part is already whole (HTTP 416 with the same total) finishes at once.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from aquarium.client import errors, models, session

CHUNK_BYTES = 1 << 20  # bytes read from the network per write
HASH_READ_BYTES = 1 << 20  # bytes read per step when hashing an existing part file
RANGE_NOT_SATISFIABLE = 416
PART_SUFFIX = ".part"
SUFFIX_BY_FORMAT = {"CSV": ".csv", "GZIP": ".csv.gz", "ZIP": ".zip"}
UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CONTENT_RANGE = re.compile(r"bytes (?:\d+-\d+|\*)/(\d+)")


def part_path(target: Path) -> Path:
    """Where an unfinished download of ``target`` is kept."""
    return target.with_name(target.name + PART_SUFFIX)


#: Where the answer names no file (Content-Disposition), its Content-Type gives the suffix.
SUFFIX_BY_CONTENT_TYPE = {
    "text/csv": ".csv",
    "application/x-gzip": ".csv.gz",  # what Aquarium sends for format gzip
    "application/gzip": ".csv.gz",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/pgp-encrypted": ".pgp",
}
#: Neither header helps: the file's first bytes tell a gzip or a zip; anything else is CSV.
SUFFIX_BY_MAGIC = ((b"\x1f\x8b", ".csv.gz"), (b"PK\x03\x04", ".zip"))
DEFAULT_SUFFIX = ".csv"
_FILENAME = re.compile(r"""filename\*?=(?:[\w-]+'[\w-]*')?"?([^";]+)"?""", re.IGNORECASE)
#: Suffixes taken from a name in Content-Disposition (``a.b.csv.gz`` gives ``.csv.gz``).
KNOWN_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".gz", ".zip", ".pgp", ".gpg", ".json"})

#: Names the downloaded file once the answer is known: (its headers, the finished part) -> path.
Namer = Callable[[httpx.Headers, Path], Path]


def suffix_of(headers: httpx.Headers, part: Path) -> str:
    """The file suffix an answer implies: the name in Content-Disposition (``x.csv.gz`` ->
    ``.csv.gz``), else its Content-Type (:data:`SUFFIX_BY_CONTENT_TYPE`), else the first bytes
    of the file, else ``.csv``."""
    named = _FILENAME.search(headers.get("content-disposition", ""))
    if named:
        suffixes = [s.lower() for s in Path(named.group(1).strip()).suffixes]
        known = len(list(itertools.takewhile(KNOWN_SUFFIXES.__contains__, reversed(suffixes))))
        if known:
            return "".join(suffixes[-known:])
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in SUFFIX_BY_CONTENT_TYPE:
        return SUFFIX_BY_CONTENT_TYPE[content_type]
    with part.open("rb") as data:
        head = data.read(4)
    return next(
        (suffix for magic, suffix in SUFFIX_BY_MAGIC if head.startswith(magic)), DEFAULT_SUFFIX
    )


def stream_to(
    http: session.Session,
    path: str,
    target: Path,
    *,
    resume: bool,
    params: Mapping[str, str] | None = None,
    name: Namer | None = None,
    authenticated: bool = True,
) -> Path:
    """GET ``path`` into ``target`` (see the module docstring); returns ``target``, or the path
    ``name`` gives once the answer is in (the part file is ``target``'s either way).

    ``path`` may be an absolute URL; ``authenticated=False`` sends it no credentials (a
    pre-signed URL, :meth:`aquarium.client.session.Session.stream`)."""
    part = part_path(target)
    offset = part.stat().st_size if resume and part.exists() else 0
    # identity: the bytes as stored, so sizes, ranges and checksums are about the same bytes
    # (the server gzips JSON-ish answers, report exports included, when asked to).
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with http.stream(
        path,
        params=params,
        headers=headers,
        passthrough={RANGE_NOT_SATISFIABLE},
        authenticated=authenticated,
    ) as response:
        if response.status_code == RANGE_NOT_SATISFIABLE:
            total = _total_size(response)
            if total != offset:  # the part is not a prefix of this file: start over
                part.unlink()
                return stream_to(
                    http,
                    path,
                    target,
                    resume=False,
                    params=params,
                    name=name,
                    authenticated=authenticated,
                )
        else:
            offset = offset if response.status_code == 206 else 0
            total = _total_size(response)
            _write(response, part, offset)
        expected_sha = response.headers.get("x-checksum-sha256")
        answered = response.headers
    _check(part, total, expected_sha)
    final = target if name is None else name(answered, part)
    part.replace(final)
    return final


def _write(response: httpx.Response, part: Path, offset: int) -> None:
    part.parent.mkdir(parents=True, exist_ok=True)  # only once the server has said yes
    with part.open("ab" if offset else "wb") as out:
        for chunk in response.iter_bytes(CHUNK_BYTES):
            out.write(chunk)


def _total_size(response: httpx.Response) -> int | None:
    """The whole file's size as the answer states it, or ``None`` when it does not say."""
    found = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", ""))
    if found:
        return int(found.group(1))
    if response.status_code == 200 and "content-length" in response.headers:
        return int(response.headers["content-length"])
    return None


def _check(part: Path, total: int | None, expected_sha: str | None) -> None:
    size = part.stat().st_size
    if total is not None and size != total:
        # Kept: the next download resumes from here.
        raise errors.ClientError(
            f"the download stopped at {size:,} of {total:,} bytes; run it again to resume"
        )
    if expected_sha and _sha256(part) != expected_sha.lower():
        part.unlink()
        raise errors.ClientError(
            "the downloaded file's SHA-256 does not match the server's; it was removed"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(HASH_READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def batch_file_names(job: models.Job) -> list[tuple[str, str]]:
    """``(file id, file name)`` of every result file of ``job``, named after its batch.

    ``<batch name><suffix>`` (``.csv``, ``.csv.gz`` or ``.zip`` by the job's format, then
    ``.pgp`` when encrypted); segments are numbered ``<name>-1.csv``, ``<name>-2.csv`` ...
    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``; a name that two
    batches share gets the batch id appended. Batches without files are left out.
    """
    suffix = SUFFIX_BY_FORMAT.get(job.format.upper(), ".csv")
    if job.encrypted.lower() == "pgp":
        suffix += ".pgp"
    stems = [UNSAFE_IN_FILE_NAME.sub("_", b.name).strip("._") or b.id for b in job.batches]
    named: list[tuple[str, str]] = []
    for batch, stem in zip(job.batches, stems, strict=True):
        unique = stem if stems.count(stem) == 1 else f"{stem}-{batch.id}"
        if batch.segments:
            named += [(f, f"{unique}-{n}{suffix}") for n, f in enumerate(batch.segments, 1)]
        elif batch.file_id:
            named.append((batch.file_id, unique + suffix))
    return named
