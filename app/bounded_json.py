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
from typing import Any

MAX_DEPTH = 64

# A JSON string (skipped whole, at C speed) or one bracket: enough to measure nesting.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


class TooDeep(ValueError):
    """JSON nested deeper than the limit (refused unparsed)."""


def nesting_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when JSON ``text`` nests arrays/objects deeper than ``limit`` (brackets in strings do not count).

    Stops at the first bracket past the limit, so a megabyte of ``[`` costs microseconds.

    >>> nesting_exceeds('[["a"]]', 1), nesting_exceeds('["[[[["]', 1)
    (True, False)
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case, at C speed
    depth = 0
    for token in _TOKEN.finditer(text):
        char = text[token.start()]
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``, refusing nesting deeper than ``max_depth`` (:class:`TooDeep`, a ``ValueError``)."""
    if nesting_exceeds(text, max_depth):
        raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError as exc:  # not reached past the check; kept for interpreters with a smaller stack
        raise TooDeep("JSON nested too deeply") from exc
