"""The drive's past in the HTML report: the comparison line, the trend plot and a table of its
last 10 runs (this one first)."""

from __future__ import annotations

import base64
from html import escape

from pytest_qlab.core.verdict import rating_text
from pytest_qlab.report.history_model import HistoryRunReport
from pytest_qlab.report.model import VolumeReport

TABLE_RUNS = 10


def _cells(run: HistoryRunReport) -> list[str]:
    return [
        str(run.run_id),
        run.date_utc.replace("T", " ").removesuffix("Z") + " UTC",
        run.host,
        run.rating,
        "not measured" if run.read_mb_s is None else f"{run.read_mb_s:.0f}",
        "not measured" if run.max_streams is None else str(run.max_streams),
        f"rehearsal ({run.time_scale:g})" if run.rehearsal else "full scale",
    ]


def history_block(volume: VolumeReport, this_run: list[str]) -> str:
    """Empty when the history is off or could not be read. `this_run` is this run's row."""
    history = volume.history
    if history is None:
        return ""
    from pytest_qlab.history.trend import trend_svg  # matplotlib only where a plot is drawn

    title = f"{volume.name}: {history.drive}"
    svg = trend_svg(history.trend, title)
    plot = ""
    if svg is not None:
        data = base64.b64encode(svg).decode("ascii")
        plot = f'<img alt="trend of {escape(title)}" src="data:image/svg+xml;base64,{data}">'
    head = ["run", "date", "host", "rating", "read MB/s", "max streams", "scale"]
    rows = [this_run, *(_cells(run) for run in history.runs[: TABLE_RUNS - 1])]
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>" for cells in rows
    )
    header = "".join(f"<th>{escape(name)}</th>" for name in head)
    line = escape(history.comparison or f"1st qualification of this drive ({history.drive})")
    return (
        f'<div class="qlab-history"><h3>Drive history: {escape(volume.name)}</h3>'
        f"<p>{line}</p><p>stored in {escape(history.store)}</p>{plot}"
        f'<table border="1" cellpadding="3"><tr>{header}</tr>{body}</table></div>'
    )


def this_run_row(volume: VolumeReport, time_scale: float) -> list[str]:
    measured = volume.measurements
    read = measured.get("read_mb_s")
    streams = measured.get("max_streams")
    history = volume.history
    run_id = "this run" if history is None or history.run_id is None else str(history.run_id)
    date = history.trend[-1].date_utc if history and history.trend else ""
    return [
        run_id,
        date.replace("T", " ").removesuffix("Z") + " UTC (this run)",
        "",
        rating_text(volume.rating),
        f"{read:.0f}" if isinstance(read, int | float) else "not measured",
        str(streams) if isinstance(streams, int) else "not measured",
        f"rehearsal ({time_scale:g})" if time_scale < 1 else "full scale",
    ]
