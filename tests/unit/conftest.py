"""Unit tests run the pure logic under CPython: each `async def` test gets a fresh event loop.

The loop runs in a worker thread because Playwright's sync API (end-to-end
tests in the same pytest run) keeps its own loop running in the main thread.
"""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        with ThreadPoolExecutor(max_workers=1) as worker:
            worker.submit(asyncio.run, pyfuncitem.obj(**args)).result()
        return True
    return None
