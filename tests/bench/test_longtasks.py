"""The benchmark's long-task sums (bench/longtasks.py): what counts as blocking before ready, and after it."""

from __future__ import annotations

from bench.longtasks import blocking_ms, longest_between, median_summary, snapshot_settled_at, summarize


def task(start: float, duration: float) -> dict[str, float]:
    return {"start": start, "duration": duration}


def test_only_the_time_over_50_ms_of_each_task_blocks() -> None:
    assert blocking_ms([task(0, 50), task(100, 51), task(300, 250)], before=1000) == 201


def test_tasks_that_start_after_ready_do_not_count_before_it() -> None:
    assert blocking_ms([task(100, 80), task(600, 400)], before=500) == 30


def test_the_task_that_sets_ready_counts_whole() -> None:
    assert blocking_ms([task(400, 300)], before=650) == 250


def test_summary_gives_blocking_time_total_longest_and_count_before_ready() -> None:
    summary = summarize([task(10, 60), task(100, 200), task(900, 500)], ready=800)
    assert summary == {"blocking_ms": 160, "long_tasks_ms": 260, "longest_ms": 200, "count": 2}


def test_a_browser_without_the_long_tasks_api_gives_no_figures() -> None:
    assert summarize(None, ready=800)["blocking_ms"] is None


def test_no_long_tasks_is_zero_not_missing() -> None:
    assert summarize([], ready=800) == {"blocking_ms": 0, "long_tasks_ms": 0, "longest_ms": 0, "count": 0}


def test_the_snapshot_settles_when_it_leaves_fresh_and_saving() -> None:
    states = [[3.0, "fresh"], [1200.0, "saving"], [4100.0, "saved"]]
    assert snapshot_settled_at(states, ready=900) == 4100


def test_a_page_that_restored_its_snapshot_had_none_to_make() -> None:
    assert snapshot_settled_at([[2.0, "restored"]], ready=300) is None


def test_a_snapshot_still_saving_has_not_settled() -> None:
    assert snapshot_settled_at([[2.0, "fresh"], [800.0, "saving"]], ready=500) is None


def test_longest_after_ready_leaves_out_the_ready_task_and_later_ones() -> None:
    tasks = [task(400, 300), task(900, 120), task(1500, 70), task(5000, 900)]
    assert longest_between(tasks, 650, 4000) == 120


def test_medians_are_per_figure_and_skip_missing_ones() -> None:
    found = median_summary([{"blocking_ms": 40.0, "longest_ms": None}, {"blocking_ms": 10.0, "longest_ms": None}])
    assert found == {"blocking_ms": 25.0, "longest_ms": None}
