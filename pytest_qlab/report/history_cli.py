"""`python -m pytest_qlab.report history`: the drives a history holds and their runs, a drive's
trend plot; and stored runs loaded for `compare` by their ids."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from pytest_qlab.core.errors import QlabError
from pytest_qlab.history.compare import trend_points
from pytest_qlab.history.location import resolve
from pytest_qlab.history.model import StoredRun
from pytest_qlab.history.store import HistoryStore
from pytest_qlab.report.model import QlabReport


class HistoryCliError(QlabError):
    """A history the command cannot read, or a drive or run it does not hold."""


def open_store(db: str | None) -> HistoryStore:
    location = resolve(db)
    if location is None:
        raise HistoryCliError("--db off: there is no history to read")
    if location.sqlite_path is not None and not location.sqlite_path.exists():
        raise HistoryCliError(f"history {location.label}: no such file (no run was stored yet)")
    return HistoryStore(location)


def _run_line(run: StoredRun) -> str:
    f = run.figures
    read = "not measured" if f.read_mb_s is None else f"{f.read_mb_s:.0f} MB/s"
    streams = "not measured" if f.max_streams is None else str(f.max_streams)
    kind = f"REHEARSAL (time scale {f.time_scale:g})" if f.rehearsal else "full scale"
    if f.interrupted:
        kind += ", INTERRUPTED"
    return (
        f"  run {run.run_id}: {f.date_utc.replace('T', ' ').removesuffix('Z')} UTC on {f.host}, "
        f"{f.rating}, read {read}, max streams {streams}, {kind}"
    )


def history_lines(db: str | None, drive: str | None, plot: Path | None) -> list[str]:
    with open_store(db) as store:
        runs = store.find_runs(drive) if drive else store.all_runs()
        label = store.location.label
    if drive and not runs:
        raise HistoryCliError(f"history {label} holds no drive {drive!r}")
    lines = [f"history {label}: {len({run.drive_key for run in runs})} drive(s), {len(runs)} runs"]
    by_drive: dict[str, list[StoredRun]] = {}
    for run in runs:
        by_drive.setdefault(run.drive_key, []).append(run)
    for key, drive_runs in by_drive.items():
        first = drive_runs[0]
        model = f", {first.model}" if first.model else ""
        lines.append(f"{key} ({first.key_kind}{model}): {len(drive_runs)} runs")
        lines += [_run_line(run) for run in drive_runs]
    if plot is not None:
        if len(by_drive) != 1:
            raise HistoryCliError("--plot draws one drive's trend: add --drive SERIAL")
        from pytest_qlab.history.trend import trend_svg  # matplotlib only for a plot

        (key, drive_runs), *_ = by_drive.items()
        svg = trend_svg(trend_points([run.figures for run in drive_runs], None), key)
        if svg is None:
            raise HistoryCliError(f"{key}: no run measured the read or the stream count")
        try:
            plot.write_bytes(svg)
        except OSError as exc:
            raise HistoryCliError(f"{plot}: cannot write it ({exc.strerror or exc})") from None
        lines.append(f"trend plot: {plot}")
    return lines


def stored_report(db: str | None, run_id: int) -> tuple[str, int | None, QlabReport]:
    """A stored run's report, narrowed to the run's own volume: label, exit code, qlab block."""
    with open_store(db) as store:
        run, document = store.report_of(run_id)
    qlab = document.get("qlab")
    try:
        report = QlabReport.model_validate(qlab)
    except ValidationError:
        raise HistoryCliError(f"run {run_id}: its stored report cannot be read here") from None
    report.volumes = [v for v in report.volumes if v.name == run.figures.volume_name]
    exit_code = document.get("exitcode")
    label = f"run {run_id} ({run.figures.date_utc} on {run.figures.host})"
    return label, exit_code if isinstance(exit_code, int) else None, report
