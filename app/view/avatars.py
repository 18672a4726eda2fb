"""A character's face as an element: its image, or its initials on a colour of the palette.

Shared by the character list and the header. The colour is a class
(``avatar-hue-<n>`` in static/style.css), never a style attribute: the page's
policy (``style-src 'self'``) blocks those. An image that fails to load gives
way to the initials.
"""

from __future__ import annotations

from typing import Any

import js

from ..cards import avatar
from ..settings import Character

# (image or "", initials, hue, name) -> the element, data-testid="avatar". Hidden from screen readers:
# the name is always written beside it. Texts only through textContent and attributes.
MAKE_AVATAR = js.Function.new(
    "image",
    "initials",
    "hue",
    "name",
    """const lettered = () => {
      const box = document.createElement("span");
      box.className = `avatar avatar-hue-${hue}`;
      box.dataset.testid = "avatar";
      box.setAttribute("aria-hidden", "true");
      box.textContent = initials;
      return box;
    };
    if (!image) return lettered();
    const img = document.createElement("img");
    img.className = "avatar";
    img.dataset.testid = "avatar";
    img.setAttribute("aria-hidden", "true");
    img.alt = name;
    img.src = image;
    img.width = img.height = 40;
    img.decoding = "async";
    img.addEventListener("error", () => img.replaceWith(lettered()), {once: true});
    return img;""",
)


def avatar_row(character: Character) -> list[Any]:
    """The arguments of :data:`MAKE_AVATAR` for ``character``, as JSON can carry them."""
    face = avatar(character.config_id, character.name, character.avatar)
    return [face.image or "", face.initials, face.hue, character.name]


def avatar_node(character: Character) -> Any:
    """A new avatar element for ``character``."""
    return MAKE_AVATAR(*avatar_row(character))
