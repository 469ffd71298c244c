"""Reading request bodies: size limit, ``Content-Encoding: gzip``, then JSON read with the limits
every endpoint shares (``services/json_input.py``: valid Unicode, bounded nesting and numbers)."""

from __future__ import annotations

import zlib

from fastapi import Request

from aquarium.domain import errors
from aquarium.services import json_input


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refused past ``limit`` bytes (before and after gunzip)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.RequestTooLarge(f"the request body is larger than {limit:,} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.headers.get("content-encoding", "").strip().lower() == "gzip":
        body = _gunzip(body, limit)
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        plain = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise errors.MalformedRequest("the body is not valid gzip") from None
    if len(plain) > limit or inflater.unconsumed_tail:
        raise errors.RequestTooLarge(f"the unzipped body is larger than {limit:,} bytes")
    return plain


async def json_body(request: Request, limit: int) -> object:
    """The body as JSON; MalformedRequest when it is not JSON, UnacceptableJson when it breaks a
    limit of ``json_input``."""
    return _parse(await read_limited(request, limit))


async def json_body_or_none(request: Request, limit: int) -> object:
    """The body as JSON, ``None`` when there is no body (or only blanks); MalformedRequest else.

    For endpoints whose service words a missing body differently from an unreadable one.
    """
    raw = await read_limited(request, limit)
    return None if not raw.strip() else _parse(raw)


def _parse(raw: bytes) -> object:
    return json_input.loads(raw)
