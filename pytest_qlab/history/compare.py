"""A run against the drive's past: the one-line comparison, the slower-than-best advisory and
the report's history block. Rehearsals are listed and marked, never a baseline."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_qlab.drive.advisories import Advisory
from pytest_qlab.history.identity import DriveKey
from pytest_qlab.history.model import RunFigures, StoredRun
from pytest_qlab.report.history_model import HistoryReport, HistoryRunReport, TrendPoint

SLOWER_THAN_BEST_FRACTION = 0.15
"""A drive this much slower than its best full-scale qualification gets a warning."""
TABLE_RUNS = 10
HISTORY_ADVISORY = "history"


def ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _counts(figures: RunFigures) -> bool:
    """A full-scale run that was not interrupted: what a baseline may be."""
    return not figures.rehearsal and not figures.interrupted


def baseline(past: Sequence[RunFigures]) -> RunFigures | None:
    """The latest earlier full-scale qualification, else the latest earlier run (a rehearsal,
    marked as one where it is shown)."""
    full_scale = [figures for figures in past if _counts(figures)]
    if full_scale:
        return full_scale[-1]
    return past[-1] if past else None


def best_full_scale(past: Sequence[RunFigures]) -> RunFigures | None:
    measured = [f for f in past if _counts(f) and f.read_mb_s is not None]
    return max(measured, key=lambda figures: figures.read_mb_s or 0.0, default=None)


def best_run(past: Sequence[StoredRun]) -> StoredRun | None:
    """The stored run behind `best_full_scale`, so the advisory can name it for `compare`."""
    best = best_full_scale([run.figures for run in past])
    return next((run for run in past if run.figures is best), None)


def _percent(before: float, after: float) -> str:
    return f"{round((after - before) / before * 100):+d} %" if before else "n/a"


def comparison_sentence(
    key: DriveKey, past: Sequence[RunFigures], current: RunFigures
) -> str | None:
    """`history: 5th qualification of this drive (serial S4EWNX0R123456); last 2026-11-20 on
    FOH-Mac: read 2012 → 1611 MB/s (-20 %), max streams 6 → 5, rating excellent → acceptable`;
    None for the drive's first run."""
    last = baseline(past)
    if last is None:
        return None
    label = f"last {last.date} on {last.host}"
    if last.rehearsal:
        label += f" (rehearsal, time scale {last.time_scale:g})"
    changes = []
    if last.read_mb_s is not None and current.read_mb_s is not None:
        changes.append(
            f"read {last.read_mb_s:.0f} → {current.read_mb_s:.0f} MB/s "
            f"({_percent(last.read_mb_s, current.read_mb_s)})"
        )
    if last.max_streams is not None and current.max_streams is not None:
        changes.append(f"max streams {last.max_streams} → {current.max_streams}")
    changes.append(f"rating {last.rating} → {current.rating}")
    sentence = (
        f"history: {ordinal(len(past) + 1)} qualification of this drive ({key.describe()}); "
        f"{label}: {', '.join(changes)}"
    )
    later = [f for f in past[past.index(last) + 1 :] if f.rehearsal]
    if later and not last.rehearsal:
        sentence += f"; {len(later)} rehearsal{'s' if len(later) > 1 else ''} since, not compared"
    return sentence


def history_advisory(past: Sequence[StoredRun] | None, read_mb_s: float | None) -> Advisory:
    """Warns when this run's read is more than 15 % below the drive's best full-scale
    qualification, named by its run id (`compare ID ...` shows the two side by side); never
    fails: the measured figures decide the run."""
    title = "slower than this drive's best"

    def advisory(severity: str, message: str) -> Advisory:
        return Advisory.model_validate(
            {"name": HISTORY_ADVISORY, "title": title, "severity": severity, "message": message}
        )

    if past is None:
        return advisory("skip", "the drive history is off or could not be read")
    if read_mb_s is None:
        return advisory("skip", "the sequential read was not measured in this run")
    found = best_run(past)
    best = None if found is None else found.figures
    if found is None or best is None or best.read_mb_s is None:
        return advisory("skip", "no earlier full-scale qualification of this drive to compare")
    drop = 1 - read_mb_s / best.read_mb_s
    where = f"run {found.run_id}: {best.read_mb_s:.0f} MB/s on {best.date} on {best.host}"
    if drop > SLOWER_THAN_BEST_FRACTION:
        return advisory(
            "warn",
            f"read {read_mb_s:.0f} MB/s is {drop:.0%} below this drive's best full-scale "
            f"qualification ({where}): the drive may be filling up or wearing, or its "
            "enclosure or cable changed; requalify before the tour",
        )
    return advisory("ok", f"read {read_mb_s:.0f} MB/s, within 15 % of this drive's best ({where})")


def run_report(run: StoredRun) -> HistoryRunReport:
    f = run.figures
    return HistoryRunReport(
        run_id=run.run_id,
        date_utc=f.date_utc,
        host=f.host,
        rating=f.rating,
        ready=f.ready,
        rehearsal=f.rehearsal,
        time_scale=f.time_scale,
        interrupted=f.interrupted,
        read_mb_s=f.read_mb_s,
        max_streams=f.max_streams,
        dropped_frames=f.dropped_frames,
        throttled=f.throttled,
        profile=f.profile,
        qlab_version=f.qlab_version,
        fio_version=f.fio_version,
    )


def trend_points(past: Sequence[RunFigures], current: RunFigures | None) -> list[TrendPoint]:
    """Every qualification of the drive in order, this run last."""
    runs = [*past, *([current] if current is not None else [])]
    return [
        TrendPoint(
            qualification=number,
            date_utc=f.date_utc,
            read_mb_s=f.read_mb_s,
            max_streams=f.max_streams,
            rehearsal=f.rehearsal,
        )
        for number, f in enumerate(runs, start=1)
    ]


def history_report(
    store: str, key: DriveKey, past: Sequence[StoredRun], current: RunFigures
) -> HistoryReport:
    earlier = [run.figures for run in past]
    best = best_full_scale(earlier)
    return HistoryReport(
        store=store,
        drive_key=key.key,
        key_kind=key.kind,
        drive=key.describe(),
        qualification=len(past) + 1,
        comparison=comparison_sentence(key, earlier, current),
        best_read_mb_s=None if best is None else best.read_mb_s,
        runs=[run_report(run) for run in reversed(past[-TABLE_RUNS:])],
        trend=trend_points(earlier, current),
    )
