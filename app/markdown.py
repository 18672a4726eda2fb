"""A reply's CommonMark as DOM nodes, from markdown-it-py's tokens: never HTML strings.

The parser's tokens become a small tree of lists, JSON-able as it is::

    markdown_tree("*smiles* Hello **you**")
    # [["p", {}, ["em", {}, "smiles"], " Hello ", ["strong", {}, "you"]]]

An element is ``[tag, attributes, *children]``; a child is an element or a
string, always text. :func:`build_nodes` turns the tree into DOM nodes through
``createElement``, ``setAttribute``, ``textContent`` and ``append`` (whose
string arguments become text nodes), so ``pyscript.document`` can be passed as
it is; :func:`markdown_json` gives the same tree as one string for a single
call into :data:`JS_BUILDER_BODY`, the same builder in JavaScript (the faster
way in the browser: one call instead of one per node and attribute). Both
refuse any tag or attribute outside :data:`ALLOWED_TAGS` and
:data:`ALLOWED_ATTRIBUTES`.

The rules: raw HTML is parsed as text (``html`` off); only ``http(s)://`` and
``mailto:`` URLs make links (:func:`is_safe_url`), opening in a new tab with
``rel="noopener noreferrer nofollow"``; anything else stays the Markdown
written; images are never loaded but shown as a link with their alt text;
each code block gets a Copy button; nesting past :data:`MAX_NESTING`, or a
reply longer than :data:`MAX_MARKDOWN_CHARS`, shows the whole reply as plain
text rather than lose what is inside or hold the page up.

A reply that is still streaming is rendered by :class:`LiveMarkdown`, which
parses only its last top-level block again on each frame.

Importing this module imports markdown-it (a moment's work in the browser), so
the page imports it once it is idle, unless a memory snapshot holds it already.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any, Protocol, TypeAlias

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

from .transcript import MAX_FORMATTED_CHARS

Element: TypeAlias = list[Any]
"""``[tag, attributes, *children]``: ``tag`` a str, ``attributes`` a dict of str, children :data:`Node`."""
Node: TypeAlias = "str | Element"
"""An element, or text (never markup)."""

PINNED = "markdown-it-py==4.3.0"
"""The release this module was written and tested for (requirements-page.txt pins it; a test
keeps the two in step, so a new release changes this file and a stale snapshot is dropped)."""

MAX_NESTING = 32
"""markdown-it's ``maxNesting``: blocks nested deeper than this are not parsed (and the reply shows as plain text)."""

MAX_MARKDOWN_CHARS = MAX_FORMATTED_CHARS
"""Longer replies are shown as written, not formatted: parsing one would hold the page up for seconds."""

LINK_REL = "noopener noreferrer nofollow"
LINK_TARGET = "_blank"
COPY_LABEL = "Copy"

ALLOWED_TAGS = frozenset({
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "hr",
    "table", "thead", "tbody", "tr", "th", "td",
    "div", "pre", "code", "button",
    "em", "strong", "s", "br", "a",
})
ALLOWED_ATTRIBUTES = frozenset({
    "href", "rel", "target", "title", "start", "class", "type", "data-lang", "data-testid",
})

_SAFE_URL = re.compile(r"(?:https?://|mailto:)[^\x00-\x20\x7f]*", re.IGNORECASE)
_LANGUAGE_CLASS = re.compile(r"[A-Za-z0-9_+#.-]{1,40}")
_ALIGN = re.compile(r"text-align:(left|center|right)")
_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "table", "thead", "tbody",
               "tr", "th", "td", "div", "pre", "hr"}
_CONTAINERS = {"paragraph_open": "p", "blockquote_open": "blockquote", "bullet_list_open": "ul",
               "ordered_list_open": "ol", "list_item_open": "li", "table_open": "table", "thead_open": "thead",
               "tbody_open": "tbody", "tr_open": "tr", "th_open": "th", "td_open": "td"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_INLINE_TAGS = {"em_open": "em", "strong_open": "strong", "s_open": "s"}


class DomElement(Protocol):
    """What :func:`build_nodes` uses of a DOM element (a browser element through Pyodide has it all)."""

    textContent: str

    def setAttribute(self, name: str, value: str, /) -> Any: ...

    def append(self, *nodes: Any) -> Any: ...


class DomDocument(Protocol):
    """What :func:`build_nodes` uses of ``document``: ``pyscript.document`` will do."""

    def createElement(self, tag: str, /) -> DomElement: ...


def is_safe_url(url: str) -> bool:
    """Whether a link or image URL may become an ``href``: ``http://``, ``https://`` or ``mailto:`` only.

    Relative and protocol-relative (``//host``) URLs are refused too: a reply's
    link should say where it goes. markdown-it passes the URL here after
    decoding entities and escapes, so ``&#106;avascript:`` arrives as
    ``javascript:``; spaces and control characters arrive percent-encoded.

    >>> is_safe_url("https://example.com/a"), is_safe_url("JavaScript:alert(1)")
    (True, False)
    """
    return _SAFE_URL.fullmatch(url) is not None


@cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING})
    parser.enable(["table", "strikethrough"])
    # Links, images, autolinks and reference definitions whose URL fails stay the text as written.
    parser.validateLink = is_safe_url  # type: ignore[method-assign]
    return parser


def warm_up() -> None:
    """Configure markdown-it now (it costs a moment), e.g. while the page is idle."""
    _parser()


def markdown_tree(markdown: str) -> list[Node]:
    """The nodes a reply's Markdown renders as, top-level blocks first; see the module's docstring."""
    if len(markdown) > MAX_MARKDOWN_CHARS:
        return _as_written(markdown)
    return _tree(_parser().parse(markdown), markdown)


def _as_written(markdown: str) -> list[Node]:
    return [["p", {"class": "as-written"}, markdown]] if markdown else []


def _tree(tokens: list[Token], markdown: str) -> list[Node]:
    if any(token.level >= MAX_NESTING - 1 for token in tokens):
        return _as_written(markdown)  # too deep to keep its shape: keep every word
    root: Element = ["div", {}]
    stack = [root]
    for token in tokens:
        parent = stack[-1]
        if token.nesting == -1:
            stack.pop()
        elif token.nesting == 1:
            element = _block_element(token)
            if element is None:  # a tight list's paragraph, or a block kind not shown as such
                stack.append(parent)
            else:
                parent.append(element)
                stack.append(element)
        elif token.type == "inline":
            _add_inline(parent, token.children or [])
        elif token.type in ("fence", "code_block"):
            parent.append(_code_block(token))
        elif token.type == "hr":
            parent.append(["hr", {}])
        elif token.content:  # html_block cannot occur with html off; shown as text all the same
            parent.append(["p", {}, token.content])
    return root[2:]


def markdown_json(markdown: str) -> str:
    """:func:`markdown_tree` as compact JSON, for one call into a JavaScript builder."""
    return json.dumps(markdown_tree(markdown), ensure_ascii=False, separators=(",", ":"))


class LiveMarkdown:
    """A streaming reply's Markdown as it stands, re-parsed from its last top-level block each time.

    Every top-level block but the last can no longer change as text is
    appended (a later line cannot reopen a paragraph, list or fence that a
    new block has ended), so those blocks are parsed once and kept; only the
    open tail is parsed again. The finished reply is rendered whole by
    :func:`markdown_tree` (a reference definition, say, reaches back).

        live = LiveMarkdown()
        keep, nodes = live.update("Hello *there")
        # keep the first ``keep`` top-level nodes already shown, replace the rest with ``nodes``
    """

    def __init__(self) -> None:
        self._kept: list[Node] = []  # the nodes of the blocks that can no longer change
        self._kept_text = ""  # the (normalised) text they were parsed from; the open tail follows it
        self._shown: list[Node] = []  # every node of the last update

    def update(self, markdown: str) -> tuple[int, list[Node]]:
        """``(keep, nodes)`` for the text so far: keep the first ``keep`` nodes shown, then add ``nodes``."""
        text = markdown.replace("\r\n", "\n").replace("\r", "\n")  # as markdown-it normalises it
        if len(text) > MAX_MARKDOWN_CHARS or not text.startswith(self._kept_text):
            self._kept, self._kept_text = [], ""  # not a continuation of what was kept: start over
            nodes = markdown_tree(text)
        else:
            tail = text[len(self._kept_text):]
            tokens = _parser().parse(tail)
            tail_nodes = _tree(tokens, tail)
            starts = [t.map[0] for t in tokens if t.level == 0 and t.nesting != -1 and t.map is not None]
            if len(starts) == len(tail_nodes) >= 2:  # one node per top-level block: all but the last are final
                self._kept += tail_nodes[:-1]
                self._kept_text += "".join(tail.splitlines(keepends=True)[: starts[-1]])
                tail_nodes = tail_nodes[-1:]
            nodes = self._kept + tail_nodes
        keep = 0
        for old, new in zip(self._shown, nodes, strict=False):
            if old != new:
                break
            keep += 1
        self._shown = nodes
        return keep, nodes[keep:]


def plain_text(markdown: str) -> str:
    """The words a reply shows, without markup or Copy labels: for a screen reader's announcement."""
    return text_of(markdown_tree(markdown))


def text_of(nodes: Sequence[Node]) -> str:
    """The words ``nodes`` show, one line per block, without Copy labels."""
    parts: list[str] = []
    for tag, text in _walk(nodes):
        if text:
            parts.append(text)
        elif tag in _BLOCK_TAGS or tag == "br":
            parts.append("\n")
        elif tag in ("th", "td"):
            parts.append(" ")
    lines = "".join(parts).split("\n")
    return "\n".join(line.strip() for line in lines if line.strip())


def build_nodes(document: DomDocument, parent: DomElement, nodes: Sequence[Node]) -> None:
    """Append ``nodes`` to ``parent`` as DOM nodes, with no recursion.

    Each subtree is built detached and attached with one ``append`` call;
    strings go in as text (``append`` and ``textContent`` never parse HTML).
    Raises ``ValueError`` for a tag or attribute outside the allowed sets.
    """
    stack: list[tuple[DomElement, Iterator[Node], list[Any]]] = [(parent, iter(nodes), [])]
    while stack:
        target, children, built = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if built:
                target.append(*built)
            continue
        if isinstance(child, str):
            built.append(child)
            continue
        tag, attributes, *content = child
        if tag not in ALLOWED_TAGS:
            raise ValueError(f"tag not allowed: {tag!r}")
        element = document.createElement(tag)
        for name, value in attributes.items():
            if name not in ALLOWED_ATTRIBUTES:
                raise ValueError(f"attribute not allowed: {name!r}")
            element.setAttribute(name, value)
        built.append(element)
        if len(content) == 1 and isinstance(content[0], str):
            element.textContent = content[0]
        elif content:
            stack.append((element, iter(content), []))


JS_BUILDER_PARAMETERS = ("parent", "json", "keep")
JS_BUILDER_BODY = (
    f"const TAGS = new Set({json.dumps(sorted(ALLOWED_TAGS))}), "
    f"ATTRIBUTES = new Set({json.dumps(sorted(ALLOWED_ATTRIBUTES))});\n"
) + """const fragment = document.createDocumentFragment();
const stack = [[fragment, JSON.parse(json), 0]];
while (stack.length) {
  const frame = stack[stack.length - 1];
  if (frame[2] >= frame[1].length) { stack.pop(); continue; }
  const child = frame[1][frame[2]++];
  if (typeof child === "string") { frame[0].append(child); continue; }
  const [tag, attributes, ...content] = child;
  if (!TAGS.has(tag)) throw new Error(`tag not allowed: ${tag}`);
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (!ATTRIBUTES.has(name)) throw new Error(`attribute not allowed: ${name}`);
    element.setAttribute(name, value);
  }
  frame[0].append(element);
  if (content.length) stack.push([element, content, 0]);
}
while (parent.childNodes.length > keep) parent.lastChild.remove();
parent.append(fragment);"""
"""The one-call builder, for ``js.Function.new(*JS_BUILDER_PARAMETERS, JS_BUILDER_BODY)``.

Called as ``build(parent, markdown_json_of_nodes, keep)``: removes ``parent``'s
children after the first ``keep``, then appends the nodes, built like
:func:`build_nodes` (strings as text, the same allowed tags and attributes).
For a streaming frame: ``keep, nodes = live.update(text)`` (:class:`LiveMarkdown`),
then ``build(bubble, json.dumps(nodes), keep)``.
"""


def render_markdown(document: DomDocument, parent: DomElement, markdown: str) -> None:
    """Append a reply's Markdown to ``parent``: :func:`build_nodes` of :func:`markdown_tree`."""
    build_nodes(document, parent, markdown_tree(markdown))


def _block_element(token: Token) -> Element | None:
    if token.type == "heading_open":
        return [token.tag, {}] if token.tag in _HEADINGS else ["p", {}]
    tag = _CONTAINERS.get(token.type)
    if tag is None or (tag == "p" and token.hidden):
        return None
    attributes: dict[str, str] = {}
    if tag == "ol":
        start = token.attrGet("start")
        if start is not None and str(start) != "1":
            attributes["start"] = str(start)
    elif tag in ("th", "td"):
        align = _ALIGN.fullmatch(str(token.attrGet("style") or ""))
        if align:
            attributes["class"] = f"align-{align.group(1)}"  # the CSP blocks style attributes
    return [tag, attributes]


def _code_block(token: Token) -> Element:
    info = unescapeAll(token.info).strip()
    language = info.split(maxsplit=1)[0][:40] if info else ""
    code_attributes = {"data-lang": language} if language else {}
    if _LANGUAGE_CLASS.fullmatch(language):
        code_attributes["class"] = f"language-{language}"
    text = token.content.removesuffix("\n")
    code: Element = ["code", code_attributes, text] if text else ["code", code_attributes]
    button: Element = ["button", {"type": "button", "class": "copy-code", "data-testid": "copy-code"}, COPY_LABEL]
    return ["div", {"class": "code-block"}, button, ["pre", {}, code]]


def _link_attributes(href: str, title: str) -> dict[str, str]:
    attributes = {"href": href, "rel": LINK_REL, "target": LINK_TARGET}
    if title:
        attributes["title"] = title
    return attributes


def _add_text(parent: Element, text: str) -> None:
    if len(parent) > 2 and isinstance(parent[-1], str):
        parent[-1] += text  # one text node, not several
    elif text:
        parent.append(text)


def _add_inline(block: Element, tokens: list[Token]) -> None:
    stack = [block]
    for token in tokens:
        parent = stack[-1]
        kind = token.type
        if token.nesting == -1:
            stack.pop()
        elif kind in _INLINE_TAGS:
            element: Element = [_INLINE_TAGS[kind], {}]
            parent.append(element)
            stack.append(element)
        elif kind == "link_open":
            href = str(token.attrGet("href") or "")
            if is_safe_url(href):
                element = ["a", _link_attributes(href, str(token.attrGet("title") or ""))]
                parent.append(element)
                stack.append(element)
            else:  # validateLink already refuses these; its text stays
                stack.append(parent)
        elif kind == "softbreak":
            _add_text(parent, "\n")
        elif kind == "hardbreak":
            parent.append(["br", {}])
        elif kind == "code_inline":
            parent.append(["code", {}, token.content])
        elif kind == "image":
            src = str(token.attrGet("src") or "")
            alt = _inline_text(token.children or [])
            if is_safe_url(src) and not any(opened[0] == "a" for opened in stack):  # no link inside a link
                attributes = _link_attributes(src, str(token.attrGet("title") or ""))
                attributes["class"] = "image-link"
                parent.append(["a", attributes, alt or src])
            else:
                _add_text(parent, alt)
        else:  # text, text_special; html_inline cannot occur with html off, and would be text too
            _add_text(parent, token.content)


def _inline_text(tokens: list[Token]) -> str:
    """An image's alt text: the text of its description, images inside it included, no markup."""
    parts: list[str] = []
    pending = list(reversed(tokens))
    while pending:
        token = pending.pop()
        if token.type == "image":
            pending.extend(reversed(token.children or []))
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif token.type in ("text", "text_special", "code_inline", "html_inline"):
            parts.append(token.content)
    return "".join(parts)


def _walk(nodes: Sequence[Node]) -> Iterator[tuple[str, str]]:
    """Depth first, without recursion and skipping buttons: ``("", text)`` or ``(tag, "")`` before its children."""
    pending: list[Node] = list(reversed(nodes))
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            yield "", node
        elif node[0] != "button":
            yield node[0], ""
            pending.extend(reversed(node[2:]))
