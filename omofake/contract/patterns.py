"""The schema files' base64 patterns, checked in linear time and constant memory.

The request schemas state the image rule as a regular expression (so that any language's
validator can apply it), but Python's ``re`` runs ``(?:[A-Za-z0-9+/]{4})*`` with a backtracking
frame per repetition: about 30 bytes of memory per character and seconds of CPU for a 19 MB
image. :func:`known_pattern` recognises those exact patterns and returns a plain scan that gives
the same answer as ``re.search(pattern, text) is not None`` (Python's ``$`` included, which also
matches before one final newline); both :mod:`omofake.contract.fastcheck` and the jsonschema validators
of :mod:`omofake.contract.registry` use it. Any other pattern is left to ``re``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

#: One image, exactly as the schema files spell it.
IMAGE = "(?=[A-Za-z0-9+/]{2})(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
#: The most images a recognised pattern joins with "|" (the API has at most 2).
MAX_IMAGES = 4

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Text is checked a slice at a time: a bounded copy, and a point between slices where another
# thread (the event loop) can take the GIL.
_SLICE = 1 << 18

TextCheck = Callable[[str], bool]


def images_pattern(count: int) -> str:
    """The pattern of ``count`` base64 images joined by "|", as the schema files write it."""
    return "^" + "\\|".join([IMAGE] * count) + "$"


#: One image as type 44's page has clients send it: bare base64 or a whole data URI, with
#: spaces allowed around it (around the "|").
DATA_URI_IMAGE = " *(?:data:image/[A-Za-z0-9.+-]+;base64,)?" + IMAGE + " *"


def data_uri_images_pattern(count: int) -> str:
    """The pattern of ``count`` images joined by "|", each base64 or a data URI (type 44)."""
    return "^" + "\\|".join([DATA_URI_IMAGE] * count) + "$"


_KNOWN = {
    pattern(count): (count, pattern is data_uri_images_pattern)
    for count in range(1, MAX_IMAGES + 1)
    for pattern in (images_pattern, data_uri_images_pattern)
}
_DATA_URI_PREFIX = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,")
_SPACES = re.compile(" *")


@cache
def known_pattern(pattern: str) -> TextCheck | None:
    """A linear check equal to ``re.search(pattern, text) is not None``, if ``pattern`` is known."""
    known = _KNOWN.get(pattern)
    if known is None:
        return None
    count, data_uri = known
    return lambda text: are_images(text, count, data_uri=data_uri)


def are_images(text: str, count: int, *, data_uri: bool = False) -> bool:
    """Whether ``text`` is ``count`` base64 images joined by "|" (the schema's pattern for it);
    with ``data_uri``, each may also be a data URI with spaces around it."""
    end = len(text)
    if text.endswith("\n"):  # Python's "$" also matches before a final newline
        end -= 1
    # str.find stops at the first "|" at memchr speed; str.count walks all of a long image.
    if count == 1:
        if text.find("|", 0, end) >= 0:
            return False
    elif text.count("|", 0, end) != count - 1:
        return False
    start = 0
    for number in range(count):
        stop = text.find("|", start, end) if number < count - 1 else end
        if not (_is_data_uri_image(text, start, stop) if data_uri else is_image(text, start, stop)):
            return False
        start = stop + 1
    return True


def first_bad_image(text: str, *, data_uri: bool = False) -> int:
    """The 1-based number of the first "|"-joined part of ``text`` that is not an image (each may
    be a data URI with ``data_uri``); 0 if none. Finds it without copying the parts."""
    start = 0
    for number in range(1, text.count("|") + 2):
        stop = text.find("|", start)
        stop = len(text) if stop < 0 else stop
        if not (_is_data_uri_image(text, start, stop) if data_uri else is_image(text, start, stop)):
            return number
        start = stop + 1
    return 0


def _is_data_uri_image(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` matches :data:`DATA_URI_IMAGE`."""
    match = _SPACES.match(text, start, end)
    start = match.end() if match else start
    while end > start and text[end - 1] == " ":
        # A slice at a time from the end: trailing spaces cost C speed and bounded memory.
        tail = text[max(start, end - _SLICE) : end]
        kept = len(tail.rstrip(" "))
        end -= len(tail) - kept
        if kept:
            break
    prefix = _DATA_URI_PREFIX.match(text, start, end)
    return is_image(text, prefix.end() if prefix else start, end)


def is_image(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether ``text[start:end]`` is one standard base64 image with "=" padding (not empty)."""
    end = len(text) if end is None else end
    padding = 2 if text.endswith("==", start, end) else 1 if text.endswith("=", start, end) else 0
    data_end = end - padding
    length = data_end - start
    # Unpadded data is whole groups of 4; "==" leaves 2 characters over, "=" leaves 3.
    if length < 2 or length % 4 != (0, 3, 2)[padding]:
        return False
    return _in_alphabet(text, start, data_end)


def _in_alphabet(text: str, start: int, end: int) -> bool:
    for at in range(start, end, _SLICE):
        part = text[at : min(at + _SLICE, end)]
        if not part.isascii() or part.encode().translate(None, _ALPHABET):
            return False
    return True
