"""The drive's trend plot: read MB/s and max streams over its qualifications, rehearsals drawn
hollow. Drawn with matplotlib's object API into SVG, in the reports' plot style."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure

from pytest_qlab.report.history_model import TrendPoint
from pytest_qlab.report.plots import FIGURE_WIDTH_IN, OKABE_ITO, _style

READ_COLOUR = OKABE_ITO[0]
STREAMS_COLOUR = OKABE_ITO[1]


def trend_svg(points: Sequence[TrendPoint], title: str) -> bytes | None:
    """None when no qualification measured the read or the stream count."""
    read = [(p.qualification, p.read_mb_s, p.rehearsal) for p in points if p.read_mb_s is not None]
    streams = [
        (p.qualification, p.max_streams, p.rehearsal) for p in points if p.max_streams is not None
    ]
    if not read and not streams:
        return None
    with _style():
        figure = Figure(figsize=(FIGURE_WIDTH_IN, 3.6))
        axes = figure.add_subplot()
        axes.set_title(title)
        axes.set_xlabel("qualification (date)")
        axes.set_ylabel("sequential read (MB/s)", color=READ_COLOUR)
        if read:
            axes.plot([x for x, _, _ in read], [y for _, y, _ in read], color=READ_COLOUR)
            for x, y, rehearsal in read:
                face = "white" if rehearsal else READ_COLOUR
                axes.plot([x], [y], "o", color=READ_COLOUR, markerfacecolor=face)
            axes.set_ylim(bottom=0)
        if streams:
            twin = axes.twinx()
            twin.grid(False)
            twin.set_ylabel("max streams", color=STREAMS_COLOUR)
            twin.step(
                [x for x, _, _ in streams],
                [y for _, y, _ in streams],
                where="mid",
                color=STREAMS_COLOUR,
                linestyle="--",
            )
            for x, y, rehearsal in streams:
                face = "white" if rehearsal else STREAMS_COLOUR
                twin.plot([x], [y], "s", color=STREAMS_COLOUR, markerfacecolor=face)
            twin.set_ylim(bottom=0, top=max(y for _, y, _ in streams) + 1)
        axes.set_xticks(
            [p.qualification for p in points],
            [f"{p.qualification}\n{p.date_utc[5:10]}" for p in points],
        )
        figure.text(0.01, 0.01, "hollow: rehearsal (never a baseline)", fontsize=10)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        return buffer.getvalue()
