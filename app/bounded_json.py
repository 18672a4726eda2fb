"""``json.loads`` for text from outside: nesting bounded before parsing, every failure a ``ValueError``.

In Pyodide 314, ``json.loads`` on about 10,000 nested brackets does not raise
``RecursionError``: it kills the interpreter ("Maximum call stack size
exceeded"), and with it the page. So the depth is measured first, without
recursion, and text nested deeper than :data:`MAX_DEPTH` is refused.
Everything the page parses from a server or from storage goes through here.

    >>> loads('{"ai": "hello"}')
    {'ai': 'hello'}
    >>> loads("[" * 100 + "]" * 100)
    Traceback (most recent call last):
    ...
    app.bounded_json.TooDeep: JSON nested deeper than 64 levels
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64

# Nesting is measured in passes at C speed, each linear on any input. (A regex skipping strings with
# their escapes was retried from every later '"' when a string never closed: '"\\"\\"...' took seconds.)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_CHUNK = 1 << 14


class TooDeep(ValueError):
    """JSON nested deeper than the limit (refused unparsed)."""


class TooLong(ValueError):
    """JSON text longer than the limit (refused unread)."""


def nesting_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when JSON ``text`` nests arrays/objects deeper than ``limit`` (brackets in strings do not count).

    A few linear passes at C speed: a megabyte of any text costs milliseconds.

    >>> nesting_exceeds('[["a"]]', 1), nesting_exceeds('["[[[["]', 1)
    (True, False)
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case, at once
    # Escapes go, pairs of backslashes first (as JSON reads them), so every '"' left opens or closes a
    # string: the pieces between them alternate outside/inside (an unterminated string runs to the end).
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    brackets = _NOT_BRACKET.sub("", "".join(unescaped.split('"')[::2]))
    depth = 0
    for start in range(0, len(brackets), _CHUNK):  # in chunks: a megabyte of "[" ends at the first
        steps = list(accumulate(map(_STEP.__getitem__, brackets[start : start + _CHUNK]), initial=depth))
        if max(steps) > limit:
            return True
        depth = steps[-1]
    return False


def loads(text: str, *, max_depth: int = MAX_DEPTH, max_chars: int | None = None) -> Any:
    """``json.loads(text)``, refusing nesting deeper than ``max_depth`` (:class:`TooDeep`, a ``ValueError``)
    and text longer than ``max_chars`` (:class:`TooLong`, also a ``ValueError``)."""
    if max_chars is not None and len(text) > max_chars:
        raise TooLong(f"JSON text longer than {max_chars:,} characters")
    if nesting_exceeds(text, max_depth):
        raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError as exc:  # not reached past the check; kept for interpreters with a smaller stack
        raise TooDeep("JSON nested too deeply") from exc
