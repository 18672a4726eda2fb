"""Importing a package a module at a time, so that no single step takes long.

Importing a package runs its ``__init__``, which usually imports the rest of
it: one long step. :class:`StepwiseImport` takes the package's modules in the
order a plain import finishes them (each after what it imports) and imports
one per :meth:`~StepwiseImport.step`. A package whose modules come first
exists meanwhile, but its ``__init__`` runs only at its own turn, once its
modules are in, so that step is short too.

>>> steps = StepwiseImport(["json.decoder", "json.scanner", "json.encoder", "json"])  # doctest: +SKIP
>>> while not steps.done:
...     steps.step()  # one module per call, say one per idle callback

Browser-free: ``app/view/formatting.py`` loads markdown-it with it in the
browser's idle time.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from importlib.machinery import ModuleSpec
from types import ModuleType


class StepwiseImport:
    """Import ``names`` one per :meth:`step`, in the order given (each after the modules it imports)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = list(names)
        self._waiting: dict[str, tuple[ModuleSpec, ModuleType]] = {}  # packages whose __init__ has not run

    @property
    def done(self) -> bool:
        return not self._names

    def step(self) -> str:
        """Import the next module (its package's ``__init__`` waits for its own turn); returns its name.

        If it fails, the packages still waiting are dropped from ``sys.modules``,
        so that a later plain import starts them afresh, and the error is raised.
        """
        name = self._names.pop(0)
        try:
            self._import(name)
        except BaseException:
            self.abandon()
            raise
        return name

    def abandon(self) -> None:
        """Stop: forget the remaining names and the packages still waiting (their modules stay imported)."""
        self._names.clear()
        for name in self._waiting:
            sys.modules.pop(name, None)
        self._waiting.clear()

    def _import(self, name: str) -> None:
        waiting = self._waiting.pop(name, None)
        if waiting is not None:
            spec, module = waiting
            assert spec.loader is not None  # a package found by a path finder has one
            spec.loader.exec_module(module)  # its modules are in: its __init__ runs now
            return
        if name in sys.modules:
            return
        self._prepare_packages(name)
        importlib.import_module(name)

    def _prepare_packages(self, name: str) -> None:
        """Make ``name``'s packages exist: one still to come as a step, without running its ``__init__``."""
        parts = name.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            if package in sys.modules:
                continue
            if package not in self._names:
                importlib.import_module(package)  # not one of the steps: imported as Python would
                continue
            spec = importlib.util.find_spec(package)
            if spec is None or spec.submodule_search_locations is None:
                raise ModuleNotFoundError(f"{package} is not a package", name=package)
            module = importlib.util.module_from_spec(spec)
            sys.modules[package] = module
            self._waiting[package] = (spec, module)
            parent, _, child = package.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, module)
