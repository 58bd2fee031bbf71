"""What the makereport hook adds to a qualification test's report: its summary entry and its
plots as pytest-html extras. Kept here so plugin.py only wires it."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import JsonValue

from pytest_qlab.core.modes import MODES
from pytest_qlab.core.profiles import ShowProfile
from pytest_qlab.core.rows import ReportRow
from pytest_qlab.report.entries import Outcome, TestEntry, series_of
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


def entry_for(
    item: pytest.Item, report: pytest.TestReport, metadata: Mapping[str, JsonValue], row: ReportRow
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
        series=series_of(metadata),
    )


def plot_extras(
    metadata: Mapping[str, JsonValue], profile: ShowProfile, title: str
) -> list[dict[str, str | None]]:
    """The test's plots as base64 SVG image extras: a self-contained report embeds them as
    data URIs, so the page loads nothing from anywhere."""
    from pytest_html import extras

    lines = [Line("normal", profile.normal_mb_s), Line("crossfade", profile.crossfade_mb_s)]
    made: list[dict[str, str | None]] = []
    for plot in plots_for_test(metadata, lines, title):
        encoded = base64.b64encode(plot.svg).decode("ascii")
        made.append(extras.svg(encoded, name=plot.name))
    return made
