"""The long-session figure: the long page's last sends against a fresh page's first, timed side by side."""

from __future__ import annotations

import doctest

import pytest

from bench import long_session
from bench.long_session import side_by_side


def test_the_ratio_sets_the_long_pages_last_window_against_the_fresh_pages_first() -> None:
    long_sends = [5.0] * 100 + [20.0] * 800 + [11.0] * 100
    fresh_sends = [10.0] * 100
    figures = side_by_side(long_sends, fresh_sends)
    assert figures["last_p50_ms"] == 11.0
    assert figures["first_p50_ms"] == 10.0
    assert figures["ratio"] == pytest.approx(1.1)
    assert figures["apart_first_p50_ms"] == 5.0  # its own first hundred, minutes earlier
    assert figures["apart_ratio"] == pytest.approx(2.2)


def test_too_few_timed_sends_is_an_error_not_a_figure() -> None:
    with pytest.raises(ValueError, match="fewer than 100"):
        side_by_side([10.0] * 1000, [10.0] * 99)


def test_the_doctests_hold() -> None:
    result = doctest.testmod(long_session)
    assert result.attempted and not result.failed
