"""Reading a Lighthouse report (bench/lighthouse.py): scores, metrics and the audits that failed."""

from __future__ import annotations

from typing import Any

from bench.lighthouse import summarize


def report() -> dict[str, Any]:
    return {
        "categories": {
            "performance": {"score": 0.36, "auditRefs": [{"id": "total-blocking-time", "group": "metrics"},
                                                          {"id": "bootup-time"}, {"id": "font-display"}]},
            "seo": {"score": 0.9, "auditRefs": [{"id": "meta-description"}, {"id": "document-title"},
                                                {"id": "structured-data"}]},
        },
        "audits": {
            "total-blocking-time": {"score": 0, "scoreDisplayMode": "numeric", "numericValue": 6510.0},
            "bootup-time": {"score": 0.2, "scoreDisplayMode": "numeric", "title": "Reduce JavaScript execution time"},
            "font-display": {"score": 1, "scoreDisplayMode": "binary"},
            "meta-description": {"score": 0, "scoreDisplayMode": "binary", "title": "No meta description"},
            "document-title": {"score": 1, "scoreDisplayMode": "binary"},
            "structured-data": {"score": None, "scoreDisplayMode": "manual"},
        },
        "environment": {"benchmarkIndex": 560},
    }


def test_scores_are_out_of_a_hundred() -> None:
    assert summarize(report())["scores"] == {"performance": 36, "seo": 90}


def test_metrics_come_from_their_audits() -> None:
    assert summarize(report())["metrics"]["tbt_ms"] == 6510.0


def test_failing_audits_are_the_scored_ones_below_one() -> None:
    assert summarize(report())["failing"]["seo"] == [["meta-description", "No meta description"]]


def test_performance_flags_leave_out_the_metrics() -> None:
    assert summarize(report())["failing"]["performance"] == [["bootup-time", "Reduce JavaScript execution time"]]
