"""How the page's Python is compiled ahead of time, in Node's Pyodide (the two bytecode builds).

``scripts/stdlib-bytecode.mjs`` and ``scripts/app-bytecode.mjs`` run this file
in the pinned Pyodide, then call :func:`compiled_code` for each module. It
compiles as ``python -OO`` would, but for two things that ``-OO`` changes
besides the size:

- Classes keep their docstrings. ``dataclasses`` makes up a docstring for a
  class that has none, from ``inspect.signature``, which costs more to import
  (markdown-it's token and rule classes) than the docstrings cost to download.
- Asserts stay, as the code was written and tested.

Functions and modules lose theirs, which is most of the text (about a sixth of
the page's standard library, gzipped); nothing the page runs reads them.

>>> code = compiled_code('"module"\\ndef f():\\n    "function"\\nclass C:\\n    "class"\\n', "x.py")
>>> namespace = {}; exec(code, namespace)
>>> namespace.get("__doc__"), namespace["f"].__doc__, namespace["C"].__doc__
(None, None, 'class')
"""

from __future__ import annotations

import ast
from types import CodeType


class _WithoutDocstrings(ast.NodeTransformer):
    """Drops the docstring of a module or function, leaving ``pass`` where it was the whole body."""

    def _drop(self, node: ast.Module | ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        first = node.body[0] if node.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            node.body = node.body[1:] or [ast.copy_location(ast.Pass(), first)]
        return node

    visit_Module = visit_FunctionDef = visit_AsyncFunctionDef = _drop


def compiled_code(source: str | bytes, filename: str) -> CodeType:
    """``source`` compiled without the docstrings of its module and functions (line numbers kept)."""
    tree = _WithoutDocstrings().visit(ast.parse(source, filename))
    return compile(tree, filename, "exec", dont_inherit=True)
