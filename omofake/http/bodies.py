"""Reading a request body: its Content-Encoding, and the size limit on the bytes it inflates to.

aiohttp's own decompression is turned off for the fake (``auto_decompress=False`` in
:func:`omofake.http.app.create_app`): it inflates a body whole, after its limit has been passed,
and answers a malformed one with a 500. Here the limit applies to the bytes as decompressed,
inflating stops as soon as the body passes it, and a body that does not inflate is a
:class:`BodyProblem` the HTTP layer answers in the API's error shape.
"""

from __future__ import annotations

import asyncio
import zlib

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from omofake.dialects.v1 import messages

#: The Content-Encodings the fake inflates (HTTP's names, lower case).
ENCODINGS = ("gzip", "x-gzip", "deflate")
# Bytes inflated per call; the loop gets a turn between calls, so a bomb never holds it long.
_STEP = 1 << 18


class BodyProblem(Exception):
    """A body that cannot be read as sent: too large, or in an encoding the fake cannot undo."""

    def __init__(self, message: str, status: int, found: str) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        #: What was sent, for the journal's violation ("a body of over 1024 bytes").
        self.found = found


def too_large(limit: int) -> BodyProblem:
    return BodyProblem(messages.BODY_TOO_LARGE.format(limit=limit), 413, f"a body of more than {limit} bytes")


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The body, decompressed; :class:`BodyProblem` if it is over ``limit`` bytes or undecodable.

    Raises ``ConnectionError`` when the client goes away before the body is complete.
    """
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    inflater = None
    if encoding not in ("", "identity"):
        if encoding not in ENCODINGS:
            raise BodyProblem(
                messages.UNSUPPORTED_ENCODING.format(encoding=encoding[:40]),
                415,
                f"Content-Encoding {encoding[:40]}",
            )
        inflater = _Inflater(encoding)
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    try:
        return await _read(request, limit, inflater)
    except RequestPayloadError as exc:  # bad chunking, say, after the head was accepted
        request.content.feed_eof()  # nothing more to read: aiohttp must not linger on it
        detail = str(exc).strip().split("\n")[0].rstrip(":. ") or "the body could not be parsed"
        raise BodyProblem(
            messages.BAD_HTTP.format(detail=detail[:200]), 400, "a body that is not valid HTTP"
        ) from exc


async def _read(request: web.BaseRequest, limit: int, inflater: _Inflater | None) -> bytes:
    content = request.content
    first = await content.readany()
    if inflater is None and content.at_eof():
        # The whole body in one piece, as a small one comes: no copy.
        if len(first) > limit:
            raise too_large(limit)
        return first
    received = 0
    body = bytearray()
    chunk = first
    while chunk:
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        if inflater is None:
            body += chunk
        while chunk and inflater is not None:
            piece, chunk = inflater.inflate(chunk, min(_STEP, limit + 1 - len(body)))
            body += piece
            if len(body) > limit:
                raise too_large(limit)
            if len(piece) == _STEP:
                await asyncio.sleep(0)
        chunk = await content.readany()
    if inflater is not None:
        inflater.finish()
    return bytes(body)


class _Inflater:
    """zlib, a step at a time, for gzip (one member or several) and deflate (zlib or raw)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = "deflate" if encoding == "deflate" else "gzip"
        self._zlib: zlib._Decompress | None = None

    def inflate(self, data: bytes, most: int) -> tuple[bytes, bytes]:
        """At most ``most`` bytes inflated from ``data``, and the input left to feed."""
        try:
            if self._zlib is None or self._zlib.eof:
                if self._zlib is not None and self.encoding == "deflate":
                    raise zlib.error("data after the end of the deflate stream")
                self._zlib = zlib.decompressobj(self._wbits(data))
            piece = self._zlib.decompress(data, most)
        except zlib.error as exc:
            raise self._problem() from exc
        left = self._zlib.unused_data if self._zlib.eof else self._zlib.unconsumed_tail
        return piece, left

    def finish(self) -> None:
        if self._zlib is None or not self._zlib.eof:  # empty, or cut short
            raise self._problem()

    def _wbits(self, data: bytes) -> int:
        if self.encoding == "gzip":
            return 16 + zlib.MAX_WBITS
        # "deflate" is meant to be zlib-wrapped, but some clients send it raw: tell them apart
        # by the zlib header (method 8, and a check value that is a multiple of 31).
        wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS

    def _problem(self) -> BodyProblem:
        return BodyProblem(
            messages.BAD_COMPRESSION.format(encoding=self.encoding),
            400,
            f"a body that is not valid {self.encoding} data",
        )
