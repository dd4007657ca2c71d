"""A strict reader of the common request head, for connections that aiohttp's parser never read.

aiohttp's parser makes a request object, a header multidict, a URL and a stream per request,
which costs the common request (a small JSON ``POST`` on a keep-alive connection) more than its
answer does. :class:`omofake.http.connections.FakeConnection` reads such a request itself when
it has this exact shape, and gives every other byte stream to aiohttp:

- the request line ``POST <path> HTTP/1.1``,
- at most :data:`_MOST_HEADERS` header lines of token characters, a colon, and visible ASCII,
  spaces and tabs (no folding, no other control character, nothing above ``~``),
- exactly one ``Content-Length`` of digits and one ``Host``; no ``Transfer-Encoding``,
  ``Content-Encoding``, ``Expect``, ``Upgrade`` or ``Sec-WebSocket-Key1``; ``Connection`` absent
  or ``keep-alive``; no second copy of a header aiohttp takes once (``Content-Type``,
  ``User-Agent``, ``Server``, ...),
- the whole head within :data:`_LONGEST_HEAD` bytes.

Anything else, valid or not, is aiohttp's to judge (:func:`read_head` says None), so that a
request the strict reading accepts means the same to aiohttp: no smuggling shape gets a
different reading here.
"""

from __future__ import annotations

import enum
import re
from typing import Literal, NamedTuple

# Within aiohttp's limits (a line of 8190 bytes, 128 headers), so that nothing it would refuse
# for its size is read here.
_LONGEST_HEAD = 8190
_MOST_HEADERS = 100

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_HEAD = re.compile(
    rb"POST (/[!-~]*) HTTP/1\.1\r\n((?:%s:[\t\x20-\x7e]*\r\n){0,%d})\r\n" % (_TOKEN, _MOST_HEADERS)
)
# What an incomplete head may be so far: its whole lines of the strict shape (and the header
# rules below), and the start of one more (the request line's, a header's, or the blank line's),
# so that a head going wrong is aiohttp's to refuse as soon as it goes wrong, not once it ends.
_LINES = re.compile(rb"POST /[!-~]* HTTP/1\.1\r\n(?:%s:[\t\x20-\x7e]*\r\n)*" % _TOKEN)
_LINE_STARTS = re.compile(rb"(?:%s(?::[\t\x20-\x7e]*\r?)?|\r)?" % _TOKEN)
_REQUEST_LINE_STARTS = re.compile(rb"POST /[!-~]*(?: (?:H(?:T(?:T(?:P(?:/(?:1(?:\.(?:1\r?)?)?)?)?)?)?)?)?)?")
# The header lines that change how the body is read or the connection kept, and those aiohttp
# refuses twice (RFC 9110's singletons), or at all; in a lowered head that _HEAD accepted (where
# a name follows a line's end).
_NOTED = re.compile(
    rb"\n(?:content-(?:length|encoding|type|location|range)|connection|transfer-encoding|expect|upgrade"
    rb"|host|user-agent|etag|max-forwards|server|sec-websocket-key1):[^\r]*"
)
# Of those, the ones a strict head may have (once each).
_SINGLETONS = b"content-type content-location content-range etag host max-forwards server user-agent"
_ALLOWED = frozenset(b"\n" + name for name in _SINGLETONS.split())
_START = b"POST /"


class More(enum.Enum):
    """The head so far is of the strict shape, and incomplete."""

    MORE = enum.auto()


MORE: Literal[More.MORE] = More.MORE


class Head(NamedTuple):
    """A request head of the strict shape."""

    path: str
    #: Its Content-Length.
    length: int
    #: Where its body begins in the bytes read.
    end: int


def read_head(data: bytes | bytearray) -> Head | Literal[More.MORE] | None:
    """The head that ``data`` begins with; MORE when it may still become one; None when it is
    not of the strict shape (aiohttp reads it instead)."""
    end = data.find(b"\r\n\r\n", 0, _LONGEST_HEAD)
    if end < 0:
        return MORE if _may_become_head(data) else None
    head = bytes(data[: end + 4])
    # A client sends the same head again and again (its Content-Length aside): read once.
    known = _KNOWN.get(head, MORE)
    if known is MORE:
        known = _read(head)
        if len(_KNOWN) >= _KNOWN_HEADS:
            _KNOWN.clear()
        _KNOWN[head] = known
    return known


def _read(head: bytes) -> Head | None:
    matched = _HEAD.fullmatch(head)
    if matched is None:
        return None
    checked = _headers(head)
    if checked is None:
        return None
    length, has_host = checked
    if length is None or not has_host:  # HTTP/1.1 asks for a Host, and aiohttp too
        return None
    return Head(matched.group(1).decode("ascii"), length, len(head))


def _headers(lines: bytes | bytearray) -> tuple[int | None, bool] | None:
    """The Content-Length of header lines of the strict shape, and whether a Host is among them;
    None when one of them breaks the strict shape."""
    length: int | None = None
    seen: set[bytes] = set()
    for line in _NOTED.findall(lines.lower()):
        name, _, value = line.partition(b":")
        if name in seen and name != b"\nconnection":
            return None
        seen.add(name)
        value = value.strip(b" \t")
        if name == b"\ncontent-length":
            if not value.isdigit() or len(value) > 15:
                return None
            length = int(value)
        elif name == b"\nconnection":
            if value != b"keep-alive":
                return None
        elif name not in _ALLOWED:
            return None
    return length, b"\nhost" in seen


# Heads read, at most (each under _LONGEST_HEAD bytes), with what was read of them.
_KNOWN_HEADS = 256
_KNOWN: dict[bytes, Head | None] = {}


def _may_become_head(data: bytes | bytearray) -> bool:
    if len(data) >= _LONGEST_HEAD:
        return False
    if len(data) < len(_START):
        return _START.startswith(data)
    cut = data.rfind(b"\r\n") + 2
    if cut == 1:
        return _REQUEST_LINE_STARTS.fullmatch(data) is not None
    return (
        _LINES.fullmatch(data, 0, cut) is not None
        and _LINE_STARTS.fullmatch(data, cut) is not None
        # Its whole header lines so far: a second Host is aiohttp's to refuse at once, too.
        and _headers(data[:cut]) is not None
    )


__all__ = ["MORE", "Head", "More", "read_head"]
