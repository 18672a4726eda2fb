"""scripts/page_compile.py: how the page's Python is compiled ahead of time (docstrings dropped, classes' kept)."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from types import ModuleType
from typing import Any

from tests.serving.fakes import ROOT

SOURCE = '''"""The module's docstring."""
from __future__ import annotations
import dataclasses


def only_a_docstring():
    """Nothing but this."""


async def fetch():
    """An async function's docstring."""
    return 1


class Kept:
    """A class keeps its docstring."""

    def method(self):
        """A method's docstring goes."""
        return 2


@dataclasses.dataclass
class Token:
    """A dataclass with its own docstring: dataclasses makes up none."""

    kind: str


def fails():
    """Line numbers stay."""
    raise ValueError("on line 32")
'''


def page_compile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("page_compile", ROOT / "scripts" / "page_compile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(source: str) -> dict[str, Any]:
    module = ModuleType("compiled")
    sys.modules["compiled"] = module  # dataclasses looks its class's module up
    try:
        exec(page_compile().compiled_code(source, "compiled.py"), module.__dict__)
    finally:
        del sys.modules["compiled"]
    return module.__dict__


def test_modules_and_functions_lose_their_docstrings() -> None:
    namespace = run(SOURCE)

    assert namespace["__doc__"] is None
    assert namespace["only_a_docstring"].__doc__ is None and namespace["only_a_docstring"]() is None
    assert namespace["fetch"].__doc__ is None
    assert namespace["Kept"].method.__doc__ is None and namespace["Kept"]().method() == 2


def test_classes_keep_theirs_so_dataclasses_computes_no_signature_for_one() -> None:
    namespace = run(SOURCE)

    assert namespace["Kept"].__doc__ == "A class keeps its docstring."
    assert namespace["Token"].__doc__.startswith("A dataclass with its own docstring")


def test_the_future_import_still_comes_first_and_line_numbers_are_kept() -> None:
    namespace = run(SOURCE)
    try:
        namespace["fails"]()
    except ValueError as error:
        assert traceback.extract_tb(error.__traceback__)[-1].lineno == 32
    else:
        raise AssertionError("fails() did not raise")


def test_asserts_stay() -> None:
    namespace = run("def check(x):\n    assert x, 'x is needed'\n    return x\n")

    try:
        namespace["check"](0)
    except AssertionError as error:
        assert str(error) == "x is needed"
    else:
        raise AssertionError("the assert was compiled away")
