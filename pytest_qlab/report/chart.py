"""The first screen's "required vs measured" chart: for each requirement of the run, every
bandwidth figure that judged it as a bar against the requirement's line, and every frame-by-frame
replay as its dropped-frame count, so a reader sees at a glance how far from the line the drive is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from pytest_qlab.report.model import VolumeReport
from pytest_qlab.report.plots import (
    FIGURE_WIDTH_IN,
    HATCHES,
    OKABE_ITO,
    REQUIREMENT_COLOUR,
    rendered_svg,
    report_style,
)

PASS_COLOUR = OKABE_ITO[0]
FAIL_COLOUR = OKABE_ITO[1]
ROW_HEIGHT_IN = 0.42


@dataclass(frozen=True)
class Bar:
    """One measured bandwidth figure against what its requirement needs."""

    requirement: str
    """e.g. "Acceptable: normal playback"."""
    measurement: str
    measured_mb_s: float
    required_mb_s: float

    @property
    def met(self) -> bool:
        return self.measured_mb_s >= self.required_mb_s

    @property
    def label(self) -> str:
        return f"{self.measurement}"


@dataclass(frozen=True)
class Played:
    """A frame-by-frame replay's word on a requirement: its dropped frames of those due."""

    requirement: str
    measurement: str
    dropped_frames: int
    frames: int | None


@dataclass(frozen=True)
class RequirementFigures:
    requirement: str
    required_mb_s: float
    status: str
    bars: tuple[Bar, ...]
    played: tuple[Played, ...]


def requirement_figures(volume: VolumeReport) -> list[RequirementFigures]:
    """Each requirement's figures from the volume's evidence, in level order."""
    found = []
    for item in volume.evidence:
        name = f"{item.level.label}: {item.requirement.replace('_', ' ')}"
        bars = tuple(
            Bar(name, proof.measurement.run_name, proof.mb_s, item.required_mb_s)
            for proof in item.proofs
            if proof.mb_s is not None and proof.aspect == "bandwidth"
        )
        played = tuple(
            Played(name, proof.measurement.phrase, proof.dropped_frames, proof.frames)
            for proof in item.proofs
            if proof.dropped_frames is not None
        )
        found.append(RequirementFigures(name, item.required_mb_s, item.status, bars, played))
    return found


def chart_svg(figures: Sequence[RequirementFigures]) -> bytes | None:
    """Horizontal bars, one per bandwidth figure, grouped by requirement, each with its
    requirement's line; a met bar is solid blue, a short one hatched vermillion, so a
    black-and-white print still tells them apart. None without any bandwidth figure."""
    rows = [(group, bar) for group in figures for bar in group.bars]
    if not rows:
        return None
    with report_style():
        height = 0.9 + ROW_HEIGHT_IN * len(rows) + 0.25 * len(figures)
        figure = Figure(figsize=(FIGURE_WIDTH_IN, height), layout="constrained")
        axes = figure.subplots()
        labels = []
        top = max(max(bar.measured_mb_s, bar.required_mb_s) for _, bar in rows)
        for index, (group, bar) in enumerate(rows):
            y = len(rows) - 1 - index
            axes.barh(
                y,
                bar.measured_mb_s,
                height=0.6,
                color=PASS_COLOUR if bar.met else "white",
                edgecolor=PASS_COLOUR if bar.met else FAIL_COLOUR,
                hatch=None if bar.met else HATCHES[0],
                linewidth=1.5,
            )
            axes.plot(
                [bar.required_mb_s] * 2,
                [y - 0.42, y + 0.42],
                color=REQUIREMENT_COLOUR,
                linewidth=2.5,
            )
            verdict = "meets" if bar.met else "SHORT"
            axes.text(
                top * 1.02,
                y,
                f"{bar.measured_mb_s:.0f} / {bar.required_mb_s:.0f} MB/s {verdict}",
                va="center",
                fontsize=10,
            )
            labels.append(f"{group.requirement}\n{bar.label}")
        axes.set_yticks(range(len(rows) - 1, -1, -1), labels, fontsize=10)
        axes.set_xlim(0, top * 1.5)
        axes.set_xlabel("read MB/s (bar: measured; black line: required)")
        axes.grid(axis="y", visible=False)
        return rendered_svg(figure)
