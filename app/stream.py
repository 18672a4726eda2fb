"""Reading a streamed reply: Server-Sent Events, then the AI SDK UI message stream on top.

Two layers, both pure (no browser imports), fed whatever chunks the network
hands over and never trusting them:

- :class:`SseParser` follows the WHATWG EventSource parsing rules: LF, CR and
  CRLF line endings (a CRLF split between chunks included), ``:`` comments,
  multi-line ``data:``, a field without a colon, one leading BOM. Each line and
  each event is bounded (:data:`MAX_LINE_CHARS`, :data:`MAX_EVENT_CHARS`).
- :class:`ReplyStream` reads the parts of the AI SDK UI message stream
  (``toUIMessageStreamResponse()``): ``start``, ``text-start``, ``text-delta``,
  ``text-end``, ``finish``, ``error``, the project's ``data-session`` and the
  closing ``[DONE]``; other types are ignored.

Example::

    reply = ReplyStream()
    for chunk in body_chunks:          # str from a TextDecoder, or raw bytes
        for update in reply.feed(chunk):
            if isinstance(update, SessionNamed):
                manager.replace_session(config_id, update.session_id)
        render(reply.text)             # at most once per frame in the page
    reply.close()                      # the body ended
    answer = reply.result()            # ChatReply, or raises StreamFailed / BadStream / StreamCutOff
"""

from __future__ import annotations

import codecs
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

from . import bounded_json
from .api import MAX_REPLY_SIZE, MAX_SERVER_MESSAGE, ChatReply
from .errors import BadStream, StreamCutOff, StreamFailed, StreamReplyTooLarge, StreamTooLarge
from .i18n import N_
from .sessions import is_valid_session_id

MAX_LINE_CHARS = 1 << 20
"""Longest SSE line accepted (characters after decoding), 1 MiB: a text delta is a few bytes."""
MAX_EVENT_CHARS = 1 << 20
"""Most ``data`` one SSE event may gather over its lines."""
MAX_TEXT_PARTS = 1000
"""Most distinct text parts one reply may open."""
MAX_JSON_DEPTH = bounded_json.MAX_DEPTH
"""Deepest nesting of a part read as JSON, checked before parsing (see :mod:`app.bounded_json`)."""
PART_SEPARATOR = "\n\n"
"""Between two text parts of one reply: a paragraph break, as useChat shows each text part as its own block."""
DONE = "[DONE]"
"""The data of the event that closes an AI SDK UI message stream."""

_LINE_END = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True)
class SseEvent:
    """One dispatched Server-Sent Event.

    ``event`` is the type (``"message"`` unless an ``event:`` field named one),
    ``data`` the ``data:`` lines joined by ``"\\n"``, ``id`` the last event ID seen so far.

    >>> SseParser().feed("event: note\\ndata: a\\ndata: b\\n\\n")
    [SseEvent(data='a\\nb', event='note', id='')]
    """

    data: str
    event: str = "message"
    id: str = ""


class SseParser:
    """Incremental Server-Sent Events parser (WHATWG EventSource rules).

    Feed it chunks split anywhere, as ``str`` (from a streaming TextDecoder) or
    as ``bytes`` (decoded here as UTF-8, bad bytes replaced), not both in one
    stream; each :meth:`feed` returns the events completed by that chunk. At the
    end of the body call :meth:`close`: as in a browser, an event without its
    closing blank line is discarded (:attr:`incomplete` then says so). A line or
    an event over its limit raises :class:`~app.errors.StreamTooLarge`; the
    parser is unusable afterwards.

    >>> parser = SseParser()
    >>> parser.feed(": ping\\r\\ndata: {\\"a\\": 1}\\r")
    []
    >>> parser.feed("\\n\\r\\ndata: tail")
    [SseEvent(data='{"a": 1}', event='message', id='')]
    >>> parser.close(); parser.incomplete
    True
    """

    def __init__(self, *, max_line_chars: int = MAX_LINE_CHARS, max_event_chars: int = MAX_EVENT_CHARS) -> None:
        self.max_line_chars = max_line_chars
        self.max_event_chars = max_event_chars
        self.retry: int | None = None  # the last valid ``retry:`` field, in milliseconds
        self.incomplete = False  # set by close(): the body ended inside an event
        self.closed = False
        self._decoder: codecs.IncrementalDecoder | None = None
        self._mode: type | None = None
        self._at_start = True
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._line: list[str] = []
        self._line_len = 0
        self._data: list[str] = []
        self._data_len = 0
        self._event_type = ""
        self._last_id = ""

    def feed(self, chunk: str | bytes) -> list[SseEvent]:
        """The events completed by ``chunk``.

        >>> SseParser().feed(b"data: caf\\xc3\\xa9\\n\\n")
        [SseEvent(data='café', event='message', id='')]
        """
        return list(self.iter_feed(chunk))

    def iter_feed(self, chunk: str | bytes) -> Iterator[SseEvent]:
        """Like :meth:`feed`, yielding each event as soon as it is parsed.

        A limit error is raised after the events before it were yielded, so a
        caller that applies them one by one keeps everything that came intact.

        >>> [e.data for e in SseParser().iter_feed("data: 1\\n\\ndata: 2\\n\\n")]
        ['1', '2']
        """
        if self.closed:
            raise ValueError("SseParser.feed() after close()")
        yield from self._lines(self._decode(chunk))

    def close(self) -> None:
        """The body ended: flush the decoder and discard any unfinished event (see :attr:`incomplete`).

        >>> parser = SseParser(); parser.feed("data: never dispatched"); parser.close()
        []
        >>> parser.incomplete
        True
        """
        if self.closed:
            return
        if self._decoder is not None:
            tail = self._decoder.decode(b"", final=True)
            for _ in self._lines(tail):  # a cut multi-byte character ends no line
                pass
        self.incomplete = bool(self._line_len or self._line or self._data)
        self.closed = True
        self._line, self._data = [], []

    def _decode(self, chunk: str | bytes) -> str:
        mode = str if isinstance(chunk, str) else bytes
        if self._mode is None:
            self._mode = mode
        elif self._mode is not mode:
            raise TypeError("feed one SSE stream either str or bytes, not both")
        if isinstance(chunk, str):
            return chunk
        if self._decoder is None:
            self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return self._decoder.decode(bytes(chunk))

    def _lines(self, text: str) -> Iterator[SseEvent]:
        if not text:
            return
        if self._at_start:
            self._at_start = False
            if text.startswith(_BOM):
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        pos = 0
        for match in _LINE_END.finditer(text):
            piece = text[pos : match.start()]
            self._check_line(len(piece))
            if self._line:
                self._line.append(piece)
                line = "".join(self._line)
                self._line, self._line_len = [], 0
            else:
                line = piece
            pos = match.end()
            event = self._process(line)
            if event is not None:
                yield event
        if text.endswith("\r"):
            self._skip_lf = True
        rest = text[pos:]
        if rest:
            self._check_line(len(rest))
            self._line.append(rest)
            self._line_len += len(rest)

    def _check_line(self, more: int) -> None:
        if self._line_len + more > self.max_line_chars:
            raise StreamTooLarge(N_("a line of the stream is longer than {limit} characters",
                                    limit=self.max_line_chars))

    def _process(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            if self._data_len + len(value) + 1 > self.max_event_chars:
                raise StreamTooLarge(N_("an event of the stream holds more than {limit} characters",
                                         limit=self.max_event_chars))
            self._data.append(value)
            self._data_len += len(value) + 1
        elif field == "event":
            self._event_type = value
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry":
            if value and value.isascii() and value.isdigit():
                self.retry = int(value)
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event_type = self._data, self._event_type
        self._data, self._data_len, self._event_type = [], 0, ""
        if not data:
            return None
        return SseEvent("\n".join(data), event_type or "message", self._last_id)


@dataclass(frozen=True)
class TextAppended:
    """Update: ``delta`` was appended to the text part ``part_id`` (read the whole text from ``ReplyStream.text``)."""

    part_id: str
    delta: str


@dataclass(frozen=True)
class SessionNamed:
    """Update: a ``data-session`` part named a valid session ID; store it as a JSON reply's ``session_id`` is."""

    session_id: str


@dataclass(frozen=True)
class ReplyFinished:
    """Update: the reply ended cleanly (its ``finish`` part or ``[DONE]``, whichever came first)."""

    finish_reason: str | None = None


@dataclass(frozen=True)
class ErrorReported:
    """Update: the server sent an ``error`` part; the reply failed and later parts are ignored."""

    error_text: str


Update: TypeAlias = TextAppended | SessionNamed | ReplyFinished | ErrorReported


class ReplyOutcome(enum.Enum):
    """Where a :class:`ReplyStream` stands: still streaming, or how it ended."""

    STREAMING = "streaming"
    COMPLETE = "complete"  # a ``finish`` part or ``[DONE]`` arrived, and no error
    FAILED = "failed"  # an ``error`` part arrived
    BROKEN = "broken"  # the stream broke its protocol or limits (feed raised BadStream)
    CUT_OFF = "cut-off"  # the body ended (close()) before finish or [DONE]


def _plain(text: str) -> str:
    text = " ".join(text[: MAX_SERVER_MESSAGE * 8].split())  # cut first: a megabyte of error text costs nothing
    if len(text) > MAX_SERVER_MESSAGE:
        text = text[: MAX_SERVER_MESSAGE - 1] + "\u2026"
    return text


_LEADING_TYPE = re.compile(r'\s*\{\s*"type"\s*:\s*"([^"\\]*)"')


_HANDLED = frozenset({"start", "text-start", "text-delta", "text-end", "finish", "error", "data-session"})


def parse_part(data: str) -> dict[str, Any] | None:
    """One event's data as a UI message stream part: a JSON object with a string ``type``.

    Returns None for ``[DONE]``. A part whose ``type`` comes first (as the AI
    SDK writes it) and is one this module does not read (reasoning, tools,
    sources, other ``data-*``...) is not parsed at all and comes back as just
    ``{"type": ...}``: its content is never used, so it can neither cost time
    nor break the reply. Anything else must be a JSON object with a string
    ``type`` (else :class:`~app.errors.BadStream`) nested at most
    :data:`MAX_JSON_DEPTH` deep (else :class:`~app.errors.StreamTooLarge`).

    >>> parse_part('{"type": "text-delta", "id": "t1", "delta": "Hi"}')
    {'type': 'text-delta', 'id': 't1', 'delta': 'Hi'}
    >>> parse_part('{"type": "reasoning-delta", "id": "r", "delta": "hmm"}')
    {'type': 'reasoning-delta'}
    >>> parse_part("[DONE]") is None
    True
    """
    if data == DONE:
        return None
    peeked = _LEADING_TYPE.match(data)
    if peeked is not None and peeked.group(1) not in _HANDLED:
        return {"type": peeked.group(1)}
    try:
        part = bounded_json.loads(data, max_depth=MAX_JSON_DEPTH)
    except bounded_json.TooDeep as exc:
        raise StreamTooLarge(N_("a stream part is nested deeper than {limit} levels", limit=MAX_JSON_DEPTH)) from exc
    except ValueError as exc:  # JSONDecodeError
        raise BadStream(N_("a stream event is not valid JSON")) from exc
    if not isinstance(part, dict):
        raise BadStream(N_("a stream event is not a JSON object"))
    if not isinstance(part.get("type"), str):
        raise BadStream(N_("a stream part has no type"))
    return part


def _text_field(part: dict[str, Any], name: str) -> str:
    value = part.get(name)
    if not isinstance(value, str):
        raise BadStream(N_("a {part} part's {field} is not text", part=part["type"], field=repr(name)))
    return value


class ReplyStream:
    """The state of one streamed reply, fed the response body chunk by chunk.

    :meth:`feed` parses SSE and returns the :data:`Update` values it caused;
    :attr:`text` is the reply so far: its text parts in order of first
    appearance, non-empty ones joined by :data:`PART_SEPARATOR`. A
    ``text-delta`` for an id with no ``text-start`` opens that part implicitly
    (the AI SDK's own client throws there; showing the text loses nothing).
    Unknown part types and SSE events of a type other than ``message`` are
    ignored. :meth:`close` marks the end of the body; :attr:`outcome` and
    :meth:`result` then tell a clean end from a cut-off one.

    A protocol violation raises :class:`~app.errors.BadStream` (or
    :class:`~app.errors.StreamTooLarge`) from :meth:`feed`, after applying
    every part before it: :attr:`text` keeps what arrived intact, the outcome
    becomes ``BROKEN`` and later chunks are ignored.

    >>> reply = ReplyStream()
    >>> reply.feed('data: {"type":"text-start","id":"t"}\\n\\ndata: {"type":"text-delta","id":"t","delta":"Hi"}\\n\\n')
    [TextAppended(part_id='t', delta='Hi')]
    >>> reply.feed('data: {"type":"finish"}\\n\\ndata: [DONE]\\n\\n')
    [ReplyFinished(finish_reason=None)]
    >>> reply.close(); reply.outcome, reply.text
    (<ReplyOutcome.COMPLETE: 'complete'>, 'Hi')
    """

    def __init__(self, *, max_reply_chars: int = MAX_REPLY_SIZE, parser: SseParser | None = None) -> None:
        self.max_reply_chars = max_reply_chars  # over all its text parts: app.api.MAX_REPLY_SIZE
        self.events = 0  # complete SSE events read so far, of any kind: the stream's progress
        self.session_id: str | None = None  # from the last valid ``data-session`` part
        self.finished = False  # a ``finish`` part or ``[DONE]`` arrived
        self.done = False  # ``[DONE]`` arrived: nothing after it is read
        self.finish_reason: str | None = None  # ``finishReason`` of the finish part, when it is text
        self.error: str | None = None  # the ``errorText`` of an ``error`` part, shortened plain text
        self.broken: BadStream | None = None  # what feed() raised, once the stream broke its protocol
        self.closed = False
        self._parser = parser if parser is not None else SseParser()
        self._parts: dict[str, list[str]] = {}  # each text part's non-empty deltas, joined when read
        self._chars = 0  # the deltas' characters, over all parts
        self._length = 0  # len(self.text), kept as deltas come: no join to learn it
        self._text: str | None = ""  # the text as last read, or None once a delta came since

    @property
    def text(self) -> str:
        """All text so far: text parts in order of first appearance, non-empty ones joined by a blank line.

        >>> reply = ReplyStream()
        >>> _ = reply.feed('data: {"type":"text-delta","id":"a","delta":"One."}\\n\\n'
        ...                'data: {"type":"text-delta","id":"b","delta":"Two."}\\n\\n')
        >>> reply.text
        'One.\\n\\nTwo.'
        """
        if self._text is None:
            joined = []
            for pieces in self._parts.values():
                if len(pieces) > 1:
                    pieces[:] = ["".join(pieces)]  # compact: the next join is cheaper
                if pieces and pieces[0]:
                    joined.append(pieces[0])
            self._text = PART_SEPARATOR.join(joined)
        return self._text

    @property
    def text_length(self) -> int:
        """``len(self.text)``, without building the text: a reader can see the reply grew for free.

        Reading :attr:`text` joins what came since the last read, so a reader
        that reads it after every piece copies the reply again each time
        (quadratic over a long reply); this costs nothing.

        >>> reply = ReplyStream()
        >>> _ = reply.feed('data: {"type":"text-delta","id":"a","delta":"One."}\\n\\n'
        ...                'data: {"type":"text-delta","id":"b","delta":"Two."}\\n\\n')
        >>> reply.text_length == len(reply.text) == 10
        True
        """
        return self._length

    @property
    def outcome(self) -> ReplyOutcome:
        """:class:`ReplyOutcome`: an error part or a broken stream wins, then a clean finish, then a close without one.

        >>> reply = ReplyStream(); reply.close(); reply.outcome
        <ReplyOutcome.CUT_OFF: 'cut-off'>
        """
        if self.error is not None:
            return ReplyOutcome.FAILED
        if self.broken is not None:
            return ReplyOutcome.BROKEN
        if self.finished:
            return ReplyOutcome.COMPLETE
        return ReplyOutcome.CUT_OFF if self.closed else ReplyOutcome.STREAMING

    def feed(self, chunk: str | bytes) -> list[Update]:
        """Parse ``chunk`` (split anywhere) and apply its parts; returns what changed, in order.

        >>> ReplyStream().feed('data: {"type":"data-session","data":{"session_id":"s-42"}}\\n\\n')
        [SessionNamed(session_id='s-42')]
        """
        if self.closed:
            raise ValueError("ReplyStream.feed() after close()")
        updates: list[Update] = []
        if self.done or self.error is not None or self.broken is not None:
            return updates
        try:
            for event in self._parser.iter_feed(chunk):
                self.events += 1
                if event.event == "message":
                    self._apply(event.data, updates)
                    if self.done or self.error is not None:
                        break
        except BadStream as exc:
            self.broken = exc
            raise
        return updates

    def close(self) -> None:
        """The body ended (or the reader gave up): from now on the outcome is final.

        >>> reply = ReplyStream(); _ = reply.feed("data: [DONE]\\n\\n"); reply.close(); reply.finished
        True
        """
        if not self.closed:
            self._parser.close()
            self.closed = True

    def result(self) -> ChatReply:
        """The finished reply as a :class:`~app.api.ChatReply`, or the reason there is none.

        Raises :class:`~app.errors.StreamFailed` after an ``error`` part, the
        :class:`~app.errors.BadStream` that broke the stream,
        :class:`~app.errors.StreamCutOff` when the body ended before
        ``finish``/``[DONE]``, and ``ValueError`` while still streaming. The
        partial text stays readable in :attr:`text` in every case.

        >>> reply = ReplyStream(); _ = reply.feed('data: {"type":"error","errorText":"model overloaded"}\\n\\n')
        >>> reply.result()
        Traceback (most recent call last):
        app.errors.StreamFailed: model overloaded
        """
        outcome = self.outcome
        if outcome is ReplyOutcome.FAILED:
            raise StreamFailed(self.error or "")
        if self.broken is not None:
            raise self.broken
        if outcome is ReplyOutcome.CUT_OFF:
            raise StreamCutOff(N_("the reply stream ended before it finished"))
        if outcome is ReplyOutcome.STREAMING:
            raise ValueError("the reply is still streaming: call close() when the body ends")
        return ChatReply(self.text, self.session_id)

    def _apply(self, data: str, updates: list[Update]) -> None:
        part = parse_part(data)
        if part is None:
            self.done = True
            if not self.finished:
                self.finished = True
                updates.append(ReplyFinished(self.finish_reason))
            return
        kind = part["type"]
        if kind == "text-delta":
            part_id, delta = _text_field(part, "id"), _text_field(part, "delta")
            if len(delta) > self.max_reply_chars - self._chars:
                raise StreamReplyTooLarge(N_("the reply is longer than {limit} characters", limit=self.max_reply_chars))
            pieces = self._open(part_id)
            if delta:
                if not pieces and self._length:  # a part's first text: a separator before it
                    self._length += len(PART_SEPARATOR)
                pieces.append(delta)
                self._chars += len(delta)
                self._length += len(delta)
                self._text = None
                updates.append(TextAppended(part_id, delta))
        elif kind == "text-start":
            self._open(_text_field(part, "id"))
        elif kind == "text-end":
            _text_field(part, "id")  # nothing to close: a later delta for the id still appends
        elif kind == "data-session":
            payload = part.get("data")
            named = payload.get("session_id") if isinstance(payload, dict) else None
            if isinstance(named, str) and is_valid_session_id(named):  # like a JSON reply: an unusable ID is ignored
                self.session_id = named
                updates.append(SessionNamed(named))
        elif kind == "error":
            self.error = _plain(_text_field(part, "errorText"))
            updates.append(ErrorReported(self.error))
        elif kind == "finish":
            reason = part.get("finishReason")
            self.finish_reason = reason if isinstance(reason, str) else None
            if not self.finished:
                self.finished = True
                updates.append(ReplyFinished(self.finish_reason))
        # "start" carries nothing we need; every other type is ignored on purpose.

    def _open(self, part_id: str) -> list[str]:
        pieces = self._parts.get(part_id)
        if pieces is None:
            if len(self._parts) >= MAX_TEXT_PARTS:
                raise StreamTooLarge(N_("the reply opens more than {limit} text parts", limit=MAX_TEXT_PARTS))
            pieces = self._parts[part_id] = []
        return pieces
