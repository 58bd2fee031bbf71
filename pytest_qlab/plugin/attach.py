"""What the makereport hook adds to a qualification test's report: its summary entry and its
plots as pytest-html extras. Kept here so plugin.py only wires it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import JsonValue

from pytest_qlab.core.modes import MODES
from pytest_qlab.core.profiles import ShowProfile
from pytest_qlab.core.rows import ReportRow
from pytest_qlab.report.entries import Outcome, TestEntry, series_of
from pytest_qlab.report.html import ItemEvidence
from pytest_qlab.report.plots import Line, plots_for_test


def outcome_of(report: pytest.TestReport) -> Outcome | None:
    """The test's result as a reader names it; None for a phase that decides nothing (a
    passing setup or teardown)."""
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.when == "call":
        return "passed" if report.passed else "failed" if report.failed else "skipped"
    if report.skipped:
        return "skipped"
    return "error" if report.failed else None


QUALIFICATION_EXCEPTIONS: tuple[type[BaseException], ...] = (
    AssertionError,
    pytest.fail.Exception,
    pytest.xfail.Exception,
    pytest.skip.Exception,
)
"""How a qualification item says "not met": its message is the finding. Any other exception is
an error inside pytest-qlab and keeps its traceback."""


def finding(call: pytest.CallInfo[None]) -> str | None:
    """The item's message when it failed, xfailed or skipped on a finding; None otherwise."""
    excinfo = call.excinfo
    if excinfo is None or not isinstance(excinfo.value, QUALIFICATION_EXCEPTIONS):
        return None
    value = excinfo.value
    text = str(getattr(value, "msg", None) or value)
    # pytest's assertion rewriting adds "assert <expression>" below the message
    return text.split("\nassert ", 1)[0].strip() or "failed"


def plain_longrepr(report: pytest.TestReport, message: str) -> None:
    """The message as the whole report text: production reads no traceback, repr or source
    line of a finding. A skip keeps pytest's (path, line, reason) form."""
    if report.skipped and not hasattr(report, "wasxfail"):
        return
    report.longrepr = message


def entry_for(
    item: pytest.Item,
    report: pytest.TestReport,
    metadata: Mapping[str, JsonValue],
    row: ReportRow,
    message: str | None = None,
) -> TestEntry | None:
    outcome = outcome_of(report)
    if outcome is None:
        return None
    params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    volume = params.get("qlab_volume")
    phase = params.get("qlab_phase")
    mode = next((mode.name for mode in MODES if item.get_closest_marker(mode.name)), "other")
    return TestEntry(
        nodeid=item.nodeid,
        name=item.name,
        mode=mode,
        volume=getattr(volume, "name", None),
        phase=phase if isinstance(phase, str) else None,
        outcome=outcome,
        measured=row.measured,
        required=row.required,
        message=message,
        series=series_of(metadata),
    )


def item_evidence(
    metadata: Mapping[str, JsonValue], profile: ShowProfile, title: str
) -> ItemEvidence:
    """The test's plots (embedded as data URIs by the evidence section: the page loads nothing
    from anywhere) and its scalar measurements."""
    lines = [Line("normal", profile.normal_mb_s), Line("crossfade", profile.crossfade_mb_s)]
    figures = tuple(
        (key.replace("_", " "), f"{value:g}" if isinstance(value, float) else str(value))
        for key, value in metadata.items()
        if isinstance(value, int | float | str) and not isinstance(value, bool)
    )
    return ItemEvidence(tuple(plots_for_test(metadata, lines, title)), figures)
