"""The nearly-full storage notice: said once, checked at most every 30 s, and never for a quota not reported."""

from __future__ import annotations

from app.quota import CHECK_EVERY, QuotaWatch, quota_warning


def test_the_warning_says_how_full_and_what_to_do() -> None:
    assert quota_warning(89e6, 100e6) is None and quota_warning(1, 0) is None
    text = quota_warning(95e6, 100e6)
    assert text is not None and "95% of 100.0 MB" in text and "export" in text and "Nothing is deleted" in text


async def test_the_watch_asks_at_most_every_interval_and_warns_once() -> None:
    now = [0.0]
    asked: list[float] = []
    answers = [(10.0, 100.0), (95.0, 100.0), (99.0, 100.0)]
    warned: list[str] = []

    async def estimate() -> tuple[float, float] | None:
        asked.append(now[0])
        return answers.pop(0)

    watch = QuotaWatch(estimate, warned.append, clock=lambda: now[0])
    await watch.check()
    await watch.check()  # too soon: not asked
    now[0] += CHECK_EVERY
    await watch.check()
    now[0] += CHECK_EVERY
    await watch.check()  # warned already: not asked again
    assert asked == [0.0, CHECK_EVERY] and len(warned) == 1 and "95%" in warned[0]


async def test_no_estimate_no_warning() -> None:
    warned: list[str] = []

    async def estimate() -> tuple[float, float] | None:
        return None

    watch = QuotaWatch(estimate, warned.append)
    await watch.check()
    assert warned == []
