"""app/stepwise.py: a package imported a module at a time, each step running one module's code."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.stepwise import StepwiseImport

ROOT = Path(__file__).resolve().parents[2]
STEPS = ["stepwise_pkg.a", "stepwise_pkg.sub.b", "stepwise_pkg.sub", "stepwise_pkg"]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def package(tmp_path: Path) -> Iterator[list[str]]:
    """A package whose __init__ imports the rest; each module logs when its code runs."""
    write(tmp_path / "stepwise_log.py", "LOG = []\n")
    write(tmp_path / "stepwise_pkg" / "__init__.py", """\
        from stepwise_log import LOG
        from . import a
        from .sub import b
        LOG.append("stepwise_pkg")
        """)
    write(tmp_path / "stepwise_pkg" / "a.py", "from stepwise_log import LOG\nLOG.append('stepwise_pkg.a')\n")
    write(tmp_path / "stepwise_pkg" / "sub" / "__init__.py", """\
        from stepwise_log import LOG
        from . import b
        LOG.append("stepwise_pkg.sub")
        """)
    write(tmp_path / "stepwise_pkg" / "sub" / "b.py", """\
        from stepwise_log import LOG
        from .. import a  # its package's sibling, imported by an earlier step
        LOG.append("stepwise_pkg.sub.b")
        """)
    sys.path.insert(0, str(tmp_path))
    import stepwise_log

    try:
        yield stepwise_log.LOG
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith(("stepwise_pkg", "stepwise_log"))]:
            del sys.modules[name]


def test_each_step_runs_exactly_one_modules_code_and_packages_run_last(package: list[str]) -> None:
    steps = StepwiseImport(STEPS)
    for count, name in enumerate(STEPS, start=1):
        assert steps.step() == name
        assert package == STEPS[:count]  # this step ran this module's code, and nothing else
    assert steps.done


def test_the_package_ends_whole_as_a_plain_import_leaves_it(package: list[str]) -> None:
    steps = StepwiseImport(STEPS)
    while not steps.done:
        steps.step()

    import stepwise_pkg

    assert stepwise_pkg.a is sys.modules["stepwise_pkg.a"]
    assert stepwise_pkg.sub.b is sys.modules["stepwise_pkg.sub.b"]
    assert package.count("stepwise_pkg") == 1  # a plain import afterwards runs nothing again


def test_a_failing_step_drops_the_packages_still_waiting_so_a_plain_import_starts_afresh(
    package: list[str], tmp_path: Path
) -> None:
    write(tmp_path / "stepwise_pkg" / "sub" / "b.py", "raise RuntimeError('broken')\n")
    steps = StepwiseImport(STEPS)
    steps.step()

    with pytest.raises(RuntimeError, match="broken"):
        steps.step()

    assert steps.done
    assert "stepwise_pkg" not in sys.modules and "stepwise_pkg.sub" not in sys.modules
    assert "stepwise_pkg.a" in sys.modules  # what did import stays imported


def test_a_module_of_no_listed_package_imports_as_python_would(package: list[str]) -> None:
    steps = StepwiseImport(["stepwise_pkg.sub.b"])  # its packages are not steps: they run first, whole
    steps.step()

    assert package[:2] == ["stepwise_pkg.a", "stepwise_pkg.sub.b"] and "stepwise_pkg" in package


def listed(name: str) -> tuple[str, ...]:
    """A tuple of strings assigned in app/view/formatting.py (which imports ``js``, so it is read, not imported)."""
    tree = ast.parse((ROOT / "app" / "view" / "formatting.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise LookupError(name)


# Prints, as JSON, markdown-it's modules in the order a plain import finishes them.
FINISH_ORDER = """
import importlib.abc, json, sys
order = []
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "markdown_it" and not name.startswith("markdown_it."):
            return None
        spec = next(s for f in sys.meta_path if f is not self and (s := f.find_spec(name, path, target)))
        run = spec.loader.exec_module
        def exec_module(module, run=run, name=name):
            run(module)
            order.append(name)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Watch())
import markdown_it
print(json.dumps(order))
"""


def test_the_pages_markdown_it_steps_are_the_order_the_pinned_markdown_it_py_finishes_its_modules() -> None:
    result = subprocess.run([sys.executable, "-c", FINISH_ORDER], capture_output=True, text=True, check=True)
    finished = json.loads(result.stdout)

    assert listed("MARKDOWN_IT") == tuple(finished), (
        "markdown-it-py's modules changed: set MARKDOWN_IT in app/view/formatting.py to " + repr(tuple(finished)))
