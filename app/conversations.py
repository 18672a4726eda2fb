"""Every character's conversation in memory, and when it is written to storage.

A conversation is loaded from the :class:`~app.transcript.TranscriptStore`
on first use and kept. Without a ``defer`` every change is stored at once
(tests, other hosts). With one, a write waits until the page has shown the
change, so it never holds up that frame: a sent message is stored with its
reply (or after ``max_delay`` if the reply is slow), anything else in the
next browser task, and whatever is still pending by :meth:`flush` when the
page is hidden or closed. When another tab stores the same conversation
meanwhile, both tabs' messages are kept. A character's greeting (``greeting``)
opens each of its conversations, as loaded or started anew; it is never stored.

Example::

    conversations = Conversations(TranscriptStore(storage), defer=defer)
    message = Message("user", "Hello")
    conversations.add("CHAR_luna", message)       # shown by the caller, then:
    conversations.save("CHAR_luna", message)     # stored once the page has shown it
    conversations.flush()    # the page is going away: store what is pending now
"""

from __future__ import annotations

from collections.abc import Callable

from .transcript import MAX_MESSAGES, Message, TranscriptStore, beyond_greeting, greeting_message

# Runs a callback in a browser task of its own, that many seconds from now (0: as soon as it can).
Defer = Callable[[float, Callable[[], None]], None]


class Conversations:
    """The conversations of this page, cached, and stored after each change is shown."""

    def __init__(
        self,
        transcripts: TranscriptStore,
        *,
        max_messages: int = MAX_MESSAGES,
        defer: Defer | None = None,
        after_store: Callable[[], None] = lambda: None,
        on_error: Callable[[Exception], None] | None = None,
        greeting: Callable[[str], str] = lambda _config_id: "",
    ) -> None:
        """``after_store`` runs after each write (to check storage's health); ``on_error`` gets a failed flush;
        ``greeting(config_id)`` is the character's opening line ("" for none)."""
        self._transcripts = transcripts
        self._greeting = greeting
        self._max_messages = max_messages
        self._defer = defer
        self._after_store = after_store
        self._on_error = on_error
        self._cache: dict[str, list[Message]] = {}
        # Conversations changed since they were last stored, with the messages added meanwhile.
        self._unsaved: dict[str, list[Message]] = {}
        self._flush_soon = False  # a flush is due in the next callback

    def get(self, config_id: str) -> list[Message]:
        """``config_id``'s messages (the live list: callers read it, changes go through this class)."""
        if config_id not in self._cache:
            self._cache[config_id] = self._load(config_id)
        return self._cache[config_id]

    def _load(self, config_id: str) -> list[Message]:
        """The stored conversation, after the character's greeting (which goes first, like the oldest, when full)."""
        return (greeting_message(self._greeting(config_id)) + self._transcripts.load(config_id))[-self._max_messages :]

    def has_messages(self, config_id: str) -> bool:
        """Whether ``config_id``'s conversation holds anything but its greeting."""
        return beyond_greeting(self.get(config_id))

    def loaded(self) -> set[str]:
        """The characters whose conversation is in memory."""
        return set(self._cache)

    def add(self, config_id: str, message: Message) -> bool:
        """Add ``message`` (not stored yet: see :meth:`save`); True when the oldest messages made room for it."""
        messages = self.get(config_id)
        messages.append(message)
        overflow = len(messages) - self._max_messages
        if overflow > 0:
            del messages[:overflow]
        return overflow > 0

    def replace(self, config_id: str, messages: list[Message]) -> None:
        """Make ``messages`` the conversation, and store it."""
        self.get(config_id)[:] = messages
        self.save(config_id)

    def drop_superseded(self, config_id: str, text: str) -> bool:
        """Before ``text`` is sent: remove the failures it supersedes; True if any went.

        A failed message whose text is sent again (from the restored input or
        Retry) is replaced by the new attempt, with the user message it
        failed and any part of a reply that arrived before it failed; a failed
        session setup is moot once the user sends.
        """
        messages = self.get(config_id)
        if not any(m.transient or (m.role == "error" and m.retry == text) for m in messages):
            return False  # the usual case, checked without building a new list
        kept: list[Message] = []
        for message in messages:
            if message.transient or (message.role == "error" and message.retry == text):
                if message.retry == text:
                    while kept and kept[-1].incomplete:  # what arrived of the reply it failed
                        kept.pop()
                    if kept and kept[-1].role == "user" and kept[-1].text == text:
                        kept.pop()
                continue
            kept.append(message)
        if len(kept) == len(messages):
            return False
        self.replace(config_id, kept)
        return True

    def save(self, config_id: str, added: Message | None = None, *, max_delay: float = 0.0) -> None:
        """Store ``config_id``'s conversation (``added``: the message just appended to it).

        At once without a ``defer``, else in a callback of its own, where one
        write stores everything changed meanwhile. ``max_delay``: a later
        flush is soon enough (a sent message waits for its reply), but no
        later than that many seconds.
        """
        if self._defer is None:
            self._store(config_id)
            return
        self._unsaved.setdefault(config_id, []).extend([added] if added else [])
        if max_delay > 0:
            self._defer(max_delay, self.flush)
        elif not self._flush_soon:
            self._flush_soon = True
            self._defer(0, self.flush)

    def flush(self) -> None:
        """Store every conversation changed since it was last stored (the page is hidden or closing, or it is time)."""
        self._flush_soon = False
        while self._unsaved:
            config_id, _added = self._unsaved.popitem()
            try:
                self._store(config_id)
            except Exception as exc:  # storage failures are handled by the store: this is a bug
                if self._on_error is None:
                    raise
                self._on_error(exc)

    def _store(self, config_id: str) -> None:
        self._transcripts.save(config_id, self.get(config_id))
        self._after_store()

    # ----- thrown away, here or in another tab ---------------------------------------------

    def drop_pending(self, config_id: str) -> None:
        """Forget the write pending for ``config_id``: a conversation thrown away must not come back."""
        self._unsaved.pop(config_id, None)

    def clear(self, config_id: str, *, keep: bool = True) -> None:
        """Throw ``config_id``'s conversation away, stored and pending; ``keep``: it stays loaded, empty."""
        self.drop_pending(config_id)
        self._transcripts.clear(config_id)
        if keep:
            self._cache[config_id] = greeting_message(self._greeting(config_id))
        else:
            self._cache.pop(config_id, None)

    def clear_all(self) -> None:
        """Throw every conversation away (other storage is untouched)."""
        self._unsaved.clear()
        self._transcripts.clear_all()
        self._cache.clear()

    def lost_elsewhere(self, config_id: str) -> bool:
        """Whether another tab removed ``config_id``'s conversation while this tab shows messages of it."""
        return not self._transcripts.load(config_id) and beyond_greeting(self._cache.get(config_id, []))

    def stored_elsewhere(self, config_id: str) -> None:
        """Another tab wrote ``config_id``'s conversation: take theirs, keeping this tab's messages not stored yet.

        Both are kept, theirs first, and stored (that tab then adopts the
        result). With nothing pending here, it is reloaded when next shown.
        """
        if config_id in self._unsaved:
            mine = [m for m in self._unsaved.pop(config_id) if not m.transient]
            self._cache[config_id] = self._load(config_id) + mine
            self._store(config_id)
        else:
            self._cache.pop(config_id, None)
