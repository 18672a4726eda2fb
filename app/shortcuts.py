"""The page's keyboard shortcuts: which key press means what, and the list the help dialog shows.

One table, :data:`SHORTCUTS`, both matches key presses and lists them; the
keys the composer and the dialogs handle themselves are only listed
(:data:`OTHER_KEYS`). Modifier shortcuts avoid the browser's own (Alt+Shift+N,
Alt+Up/Down); the one-key ones (``?``, ``/``) work only outside text fields::

    >>> match_shortcut("?", "Slash", shift=True)
    'help'
    >>> match_shortcut("?", "Slash", shift=True, in_field=True) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import N_

__all__ = ["OTHER_KEYS", "SHORTCUTS", "Shortcut", "adjacent", "match_shortcut"]


@dataclass(frozen=True)
class Shortcut:
    """One shortcut: ``action`` when ``key`` (``KeyboardEvent.key``, or ``.code`` for letters) is pressed."""

    action: str
    keys: tuple[str, ...]  # as the help dialog shows them, one <kbd> each
    description: str  # an English message id: translated where it is shown
    key: str = ""
    code: str = ""  # letters by their physical key: Alt+Shift+N types other characters on some systems
    alt: bool = False
    shift: bool | None = False  # None: either (the "?" needs Shift on most layouts, not on all)
    in_fields: bool = True  # also while typing in the input

    def matches(self, key: str, code: str, *, alt: bool, shift: bool, ctrl: bool, meta: bool, in_field: bool) -> bool:
        if (self.key and key != self.key) or (self.code and code != self.code):
            return False
        if ctrl or meta or alt != self.alt or (self.shift is not None and shift != self.shift):
            return False
        return self.in_fields or not in_field


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("new-conversation", ("Alt", "Shift", "N"), N_("Start a new conversation"), code="KeyN", alt=True,
             shift=True),
    Shortcut("focus-search", ("/",), N_("Search the conversations"), key="/", in_fields=False),
    Shortcut("next-character", ("Alt", "\u2193"), N_("Next character"), key="ArrowDown", alt=True),
    Shortcut("previous-character", ("Alt", "\u2191"), N_("Previous character"), key="ArrowUp", alt=True),
    Shortcut("help", ("?",), N_("Show these shortcuts"), key="?", shift=None, in_fields=False),
)

OTHER_KEYS: tuple[tuple[tuple[str, ...], str], ...] = (  # handled by the composer and the dialogs
    (("Enter",), N_("Send the message")),
    (("Shift", "Enter"), N_("Start a new line")),
    (("\u2191",), N_("In the empty input: bring back the last message sent")),
    (("Esc",), N_("Close the menu or a dialog; else stop the reply")),
)


def match_shortcut(
    key: str, code: str = "", *, alt: bool = False, shift: bool = False, ctrl: bool = False, meta: bool = False,
    in_field: bool = False,
) -> str | None:
    """The action of the shortcut this key press is (``in_field``: typed in a text field), or None."""
    for shortcut in SHORTCUTS:
        if shortcut.matches(key, code, alt=alt, shift=shift, ctrl=ctrl, meta=meta, in_field=in_field):
            return shortcut.action
    return None


def adjacent(ids: list[str], current: str | None, step: int) -> str | None:
    """The ID ``step`` places from ``current`` in ``ids``, wrapping around; the first if ``current`` is not listed.

    >>> adjacent(["a", "b", "c"], "c", 1)
    'a'
    """
    if not ids:
        return None
    if current not in ids:
        return ids[0]
    return ids[(ids.index(current) + step) % len(ids)]
