"""Hooks for the whole run."""

from __future__ import annotations

import pytest

import serve
from serving import SetupError


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, build the runtime once in the controller, before any worker starts.

    Every worker starts its own serve.py (tests/e2e/conftest.py) and the serving
    tests use the real runtime/ too; left to them, two workers would build the
    same files at once on a fresh clone. Run without workers, serve.py builds
    on first use as before.
    """
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", default=None):
        return
    try:
        serve.build()
    except SetupError as error:
        raise pytest.UsageError(f"cannot build the runtime for the tests: {error}") from None
