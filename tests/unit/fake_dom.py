"""A small DOM for the Markdown builder: elements, text, attributes, and nothing that parses HTML.

There is no ``innerHTML``, ``outerHTML``, ``insertAdjacentHTML`` or
``createContextualFragment``, and ``__slots__`` makes assigning one fail, so
code that reached for them would raise here. ``calls`` counts each call the
browser would cross into JavaScript for.
"""

from __future__ import annotations

from collections import Counter
from html import escape

VOID = {"br", "hr"}


class FakeText:
    __slots__ = ("data",)

    def __init__(self, data: str) -> None:
        self.data = data


class FakeElement:
    __slots__ = ("_document", "attributes", "children", "tag")

    def __init__(self, document: FakeDocument, tag: str) -> None:
        self._document = document
        self.tag = tag
        self.attributes: dict[str, str] = {}
        self.children: list[FakeElement | FakeText] = []

    def setAttribute(self, name: str, value: str) -> None:
        assert isinstance(name, str) and isinstance(value, str), (name, value)
        self._document.calls["setAttribute"] += 1
        self.attributes[name] = value

    def append(self, *nodes: FakeElement | str) -> None:
        """Like ParentNode.append: a string becomes a text node, never markup."""
        self._document.calls["append"] += 1
        for node in nodes:
            assert isinstance(node, (str, FakeElement)), node
            self.children.append(FakeText(node) if isinstance(node, str) else node)

    @property
    def textContent(self) -> str:
        return "".join(node.data if isinstance(node, FakeText) else node.textContent for node in self.children)

    @textContent.setter
    def textContent(self, text: str) -> None:
        assert isinstance(text, str), text
        self._document.calls["textContent"] += 1
        self.children = [FakeText(text)] if text else []

    def elements(self, tag: str | None = None) -> list[FakeElement]:
        """Descendant elements in document order (optionally one tag), found without recursion."""
        found: list[FakeElement] = []
        pending: list[FakeElement | FakeText] = list(reversed(self.children))
        while pending:
            node = pending.pop()
            if isinstance(node, FakeElement):
                if tag is None or node.tag == tag:
                    found.append(node)
                pending.extend(reversed(node.children))
        return found

    def html(self) -> str:
        """The children as escaped HTML, for readable assertions (the builder never sees this)."""
        parts: list[str] = []
        for node in self.children:
            if isinstance(node, FakeText):
                parts.append(escape(node.data, quote=False))
            else:
                attributes = "".join(f' {name}="{escape(value)}"' for name, value in node.attributes.items())
                inner = "" if node.tag in VOID else f"{node.html()}</{node.tag}>"
                parts.append(f"<{node.tag}{attributes}>{inner}")
        return "".join(parts)


class FakeDocument:
    __slots__ = ("calls", "created")

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.created: list[str] = []

    def createElement(self, tag: str) -> FakeElement:
        assert isinstance(tag, str), tag
        self.calls["createElement"] += 1
        self.created.append(tag)
        return FakeElement(self, tag)

    def root(self) -> FakeElement:
        """A detached element to build into (not counted as a call)."""
        return FakeElement(self, "div")
