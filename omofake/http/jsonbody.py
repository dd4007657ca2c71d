"""Parsing a big JSON body without holding the GIL for the whole of it.

``json.loads`` parses a body in one C call: for a 20 MB body that is 40 ms or more during which
no other thread runs, the event loop included, so every other client waits, even when the
parse itself runs on a worker thread. Nearly all of such a body is one long string (a base64
image). :func:`loads` cuts each long string without escapes out of the body, parses the
small rest with ``json.loads`` and decodes the long strings a slice at a time, giving other
threads a turn between slices. The result, and the errors, are those of
``json.loads(raw, parse_constant=...)``; ``tests/test_hostile.py`` compares the two.
"""

from __future__ import annotations

import codecs
import json
import secrets
from collections.abc import Callable
from typing import Any

#: Strings shorter than this (bytes as sent) are left to json.loads.
LONG_STRING = 1 << 16
_SLICE = 1 << 18
# Bytes JSON does not allow unescaped inside a string.
_CONTROL = bytes(range(0x20))
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def loads(raw: bytes, parse_constant: Callable[[str], Any]) -> Any:
    """``json.loads(raw, parse_constant=parse_constant)``, a slice at a time for long strings."""
    # Only UTF-8 without a BOM: other encodings json.loads detects by their zero bytes.
    if len(raw) < LONG_STRING or raw.startswith(codecs.BOM_UTF8) or 0 in raw[:4]:
        return json.loads(raw, parse_constant=parse_constant)
    nonce = "\0omofake-" + secrets.token_hex(8) + ":"
    skeleton: list[bytes] = []
    long_strings: dict[str, tuple[int, int]] = {}
    at = 0
    while (start := raw.find(b'"', at)) != -1:
        end = _string_end(raw, start)
        if end == -1:
            break  # an unterminated string: json.loads says so below
        if end - start > LONG_STRING and raw.find(b"\\", start, end) == -1:
            name = f"{nonce}{len(long_strings)}"
            long_strings[name] = (start + 1, end)
            skeleton += (raw[at:start], json.dumps(name).encode())
        else:
            skeleton.append(raw[at : end + 1])
        at = end + 1
    if not long_strings:
        return json.loads(raw, parse_constant=parse_constant)
    skeleton.append(raw[at:])
    parsed = json.loads(b"".join(skeleton), parse_constant=parse_constant)
    values = {name: _decode(raw, start, end) for name, (start, end) in long_strings.items()}
    return _fill(parsed, values)


def _string_end(raw: bytes, start: int) -> int:
    """The index of the quote closing the string opened at ``start``, or -1."""
    end = raw.find(b'"', start + 1)
    while end != -1:
        before = end - 1
        while raw[before] == _BACKSLASH:
            before -= 1
        if (end - 1 - before) % 2 == 0:  # not itself escaped
            return end
        end = raw.find(b'"', end + 1)
    return -1


def _decode(raw: bytes, start: int, end: int) -> str:
    # As json.loads reads bytes: UTF-8 with surrogates let through, no control characters.
    decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
    parts = []
    for at in range(start, end, _SLICE):
        piece = raw[at : min(at + _SLICE, end)]
        if len(piece.translate(None, _CONTROL)) != len(piece):
            raise json.JSONDecodeError("Invalid control character in a string", "", at)
        parts.append(decoder.decode(piece))
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


def _fill(parsed: Any, values: dict[str, str]) -> Any:
    """``parsed`` with each placeholder (as a value or a key) replaced by its long string."""
    if isinstance(parsed, str):
        return values.get(parsed, parsed)
    stack = [parsed]
    while stack:  # not recursive: the body may nest as deep as json.loads allows
        node = stack.pop()
        if isinstance(node, dict):
            if any(key in values for key in node):  # rebuilt, to keep the keys' order
                renamed = {values.get(key, key): value for key, value in node.items()}
                node.clear()
                node.update(renamed)
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, value in list(items):
            if isinstance(value, str):
                if value in values:
                    node[key] = values[value]
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return parsed
