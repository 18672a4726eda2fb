"""Issue 18's targets table (bench/targets.py): each target checked against a run's figures."""

from __future__ import annotations

from typing import Any

from bench.targets import Target, max_runtime_downloads, targets, targets_table


def run(**ours: Any) -> dict[str, Any]:
    stock = {"reload_ms": 1000.0, "first_visit_ms": 3000.0, "first_visit_4g_ms": 8000.0,
             "longtasks_first_visit": {"blocking_ms": 2000.0}}
    mpy = {"reload_ms": 100.0}
    return {"host": {"pages": {"this page": ours, "stock PyScript": stock, "MicroPython": mpy}}}


def by_name(results: dict[str, Any]) -> dict[str, Target]:
    return {row.name: row for row in targets(results)}


def test_a_ratio_at_the_limit_passes() -> None:
    row = by_name(run(reload_ms=200.0))["reload, this page / stock PyScript"]
    assert (round(row.measured or 0, 2), row.verdict) == (0.2, "PASS")


def test_a_ratio_over_the_limit_fails() -> None:
    assert by_name(run(reload_ms=260.0))["reload, this page / MicroPython"].verdict == "FAIL"


def test_a_part_that_did_not_run_is_neither_pass_nor_fail() -> None:
    assert by_name(run())["Lighthouse performance, mobile"].verdict == "n/a"


def test_scores_must_reach_their_target() -> None:
    results = run()
    results["lighthouse"] = {"this page": {"mobile": {"scores": {"performance": 91, "seo": 100}},
                                           "desktop": {"scores": {"performance": 94, "seo": 92}}}}
    rows = by_name(results)
    assert [rows[n].verdict for n in ("Lighthouse performance, mobile", "Lighthouse performance, desktop")] == [
        "PASS", "FAIL"]
    assert rows["Lighthouse SEO (lower of the presets)"].measured == 92


def test_a_runtime_file_downloaded_twice_fails_and_is_named() -> None:
    rows = by_name(run(no_cache_transfer={"downloads": {"/runtime/x/pyodide.asm.wasm": 2, "/index.html": 1}}))
    row = rows["runtime file downloads per first visit, no-cache host (most)"]
    assert (row.verdict, row.note) == ("FAIL", "/runtime/x/pyodide.asm.wasm")


def test_files_outside_the_runtime_are_not_runtime_downloads() -> None:
    assert max_runtime_downloads({"/app/main.py": 3, "/runtime/a.zip": 1}) == (1, [])


def test_the_table_has_one_line_per_target_with_figure_limit_and_verdict() -> None:
    lines = targets_table(targets(run(transfer={"wire_bytes": 5_560_000}))).splitlines()
    assert len(lines) == 2 + len(targets(run()))
    transfer = next(line for line in lines if line.startswith("| first-visit transfer, gzip host"))
    assert [cell.strip() for cell in transfer.split("|")[2:5]] == ["5.56 MB", "<= 4.50 MB", "FAIL"]
