"""A one-host fleet against a local run on the same volume.

The host is this machine reached over SSH (Remote Login on, as on a show Mac), so both sides
measure one drive: the fleet must report what the local run reports, and the bench says what
the fleet adds in time. Two comparisons, each in ABBA pairs:

- set-up: opening and closing the run (`open_run`, as the plugin does), locally and with the
  host (SSH preflight, drive probe over SSH, the host's locks and scratch, fio's server and the
  port forward);
- report: the setup check run by pytest-qlab itself, `--volume` against `--qlab-host`, next to
  an A/A control (local against local) that shows what this machine can resolve. The figures
  are the report's: sequential read and write, the replays' dropped frames, the rating.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abba import PairedRatio, abba_first, paired_ratio
from product import run_suites
from self_host import self_host

from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.run import open_run
from pytest_qlab.core.verdict import Rating

SELF = "self"
SETUP_PAIRS = 10
SETUP_QUICK_PAIRS = 6
REPORT_PAIRS = 4
REPORT_QUICK_PAIRS = 2
REPORT_SCALE = 0.1
REPORT_QUICK_SCALE = 0.05
REPORT_TARGET = 0.02
"""Within this of the local run, as the fidelity step's target: the fleet adds a hop between
fio's client and server, never to the drive's I/O, which stays on the host."""
REPORT_FIGURES = ("read_mb_s", "write_mb_s")
REPORT_COUNTS = ("normal_playback_dropped_frames", "crossfade_peak_dropped_frames")


@dataclass(frozen=True)
class FleetBench:
    volume: Path
    host: str
    """An ssh:// address of this machine naming the same volume."""
    ssh_config: Path | None
    quick: bool
    work_dir: Path


def run_options(bench: FleetBench, *, fleet: bool) -> QlabOptions:
    """The setup check's run as the plugin opens it, on the volume or on the host."""
    return QlabOptions(
        volumes=() if fleet else (str(bench.volume),),
        hosts=(bench.host,) if fleet else (),
        ssh_config=str(bench.ssh_config) if bench.ssh_config else None,
        profile="default",
        fio=None,
        time_scale=1.0,
        require=Rating.ACCEPTABLE,
        report_dir=bench.work_dir / "reports",
        keep_files=False,
        history="off",
    )


def open_and_close_s(bench: FleetBench, *, fleet: bool) -> tuple[float, float]:
    """Seconds to open the run, and to close it (scratch removed, fio's server and the SSH
    session stopped)."""
    started = time.monotonic()
    run = open_run(run_options(bench, fleet=fleet))
    opened = time.monotonic()
    run.close()
    return opened - started, time.monotonic() - opened


def bench_setup(bench: FleetBench) -> dict[str, Any]:
    pairs = SETUP_QUICK_PAIRS if bench.quick else SETUP_PAIRS
    local: list[tuple[float, float]] = []
    fleet: list[tuple[float, float]] = []
    open_and_close_s(bench, fleet=True)  # the first SSH connection warms caches; not counted
    for local_first in abba_first(pairs):
        for on_fleet in (not local_first, local_first):
            (fleet if on_fleet else local).append(open_and_close_s(bench, fleet=on_fleet))
    added_s = [f[0] + f[1] - (lo[0] + lo[1]) for f, lo in zip(fleet, local, strict=True)]
    return {
        "pairs": pairs,
        "order": "ABBA",
        "local_open_s": [round(o, 3) for o, _ in local],
        "local_close_s": [round(c, 3) for _, c in local],
        "fleet_open_s": [round(o, 3) for o, _ in fleet],
        "fleet_close_s": [round(c, 3) for _, c in fleet],
        "fleet_added_s": [round(value, 3) for value in added_s],
        "fleet_added_median_s": round(statistics.median(added_s), 3),
    }


@dataclass(frozen=True)
class ReportRun:
    wall_s: float
    exit_code: int
    rating: str | None
    host: str | None
    figures: dict[str, float]
    counts: dict[str, int]


def setup_check(bench: FleetBench, *, fleet: bool, index: int) -> ReportRun:
    """pytest-qlab's setup check without the capacity search, as a user runs it."""
    scale = REPORT_QUICK_SCALE if bench.quick else REPORT_SCALE
    config = ["--qlab-ssh-config", str(bench.ssh_config)] if bench.ssh_config else []
    where = ["--qlab-host", bench.host, *config] if fleet else ["--volume", str(bench.volume)]
    run = run_suites(
        bench.work_dir / f"report-{index:02d}",
        "-m",
        "setup_check and not capacity",
        *where,
        "--qlab-time-scale",
        f"{scale:g}",
        "--qlab-history",
        "off",
    )
    (volume,) = run.report["qlab"]["volumes"]
    measured = volume["measurements"]
    return ReportRun(
        wall_s=run.wall_s,
        exit_code=run.exit_code,
        rating=volume["rating"],
        host=volume.get("host"),
        figures={name: float(measured[name]) for name in REPORT_FIGURES},
        counts={name: int(measured[name]) for name in REPORT_COUNTS},
    )


def bench_report(bench: FleetBench) -> dict[str, Any]:
    pairs = REPORT_QUICK_PAIRS if bench.quick else REPORT_PAIRS
    runs: dict[str, list[ReportRun]] = {"local": [], "fleet": [], "control_a": [], "control_b": []}
    index = 0

    def measure(side: str) -> None:
        nonlocal index
        index += 1
        runs[side].append(setup_check(bench, fleet=side == "fleet", index=index))

    for a_first in abba_first(pairs):
        for a_side, b_side in (("fleet", "local"), ("control_a", "control_b")):
            for side in (a_side, b_side) if a_first else (b_side, a_side):
                measure(side)
    found: dict[str, Any] = {
        "pairs": pairs,
        "order": "ABBA",
        "time_scale": REPORT_QUICK_SCALE if bench.quick else REPORT_SCALE,
    }
    for name in REPORT_FIGURES:
        ours = ratio_of(runs["fleet"], runs["local"], name)
        control = ratio_of(runs["control_a"], runs["control_b"], name)
        found[name] = {
            **ours.summary("fleet", "local"),
            "control": control.summary("local_a", "local_b"),
            "verdict": report_verdict(ours, control),
        }
    for side, side_runs in runs.items():
        found[f"{side}_runs"] = [
            {
                "exit_code": run.exit_code,
                "rating": run.rating,
                "host": run.host,
                "wall_s": round(run.wall_s, 1),
                **run.counts,
            }
            for run in side_runs
        ]
    found["same_ratings"] = {run.rating for run in runs["fleet"]} == {
        run.rating for run in runs["local"]
    }
    found["fleet_added_wall_s"] = round(
        statistics.median(
            f.wall_s - lo.wall_s for f, lo in zip(runs["fleet"], runs["local"], strict=True)
        ),
        1,
    )
    return found


def ratio_of(a: list[ReportRun], b: list[ReportRun], name: str) -> PairedRatio:
    return paired_ratio([run.figures[name] for run in a], [run.figures[name] for run in b])


def report_verdict(ours: PairedRatio, control: PairedRatio) -> str:
    """As the fidelity step: a control that cannot be pinned within the target leaves the
    ratio unresolved, however close its median."""
    if control.reach() > REPORT_TARGET:
        return "not resolvable here"
    if abs(ours.median - 1.0) <= REPORT_TARGET:
        return f"within {REPORT_TARGET * 100:g} %"
    return "MISSED"


def bench_fleet(volume: Path, host: str, ssh_config: Path | None, quick: bool) -> dict[str, Any]:
    """`host` "self": this machine through an sshd the bench starts (see self_host)."""
    with contextlib.ExitStack() as stack:
        if host == SELF:
            host, ssh_config = stack.enter_context(self_host(volume))
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pytest-qlab-bench-")))
        bench = FleetBench(volume, host, ssh_config, quick, work)
        return {"host": host, "setup": bench_setup(bench), "report": bench_report(bench)}


Row = tuple[str, str, str]


def fleet_rows(found: dict[str, Any]) -> list[Row]:
    setup = found["setup"]
    report = found["report"]
    rows: list[Row] = [
        (
            "fleet set-up and close over SSH, added to a local run's",
            f"{setup['fleet_added_median_s']} s (median of {setup['pairs']} ABBA pairs; local "
            f"open {statistics.median(setup['local_open_s']):.2f} s, fleet open "
            f"{statistics.median(setup['fleet_open_s']):.2f} s)",
            "a few seconds",
        )
    ]
    for name in REPORT_FIGURES:
        figure = report[name]
        low, high = figure["interval_95"]
        control_low, control_high = figure["control"]["interval_95"]
        rows.append(
            (
                f"setup check {name.removesuffix('_mb_s')} MB/s, one-host fleet / local",
                f"{figure['ratio']:.3f} (95 % {low:.3f}-{high:.3f}; A/A control "
                f"{figure['control']['ratio']:.3f}, {control_low:.3f}-{control_high:.3f}; "
                f"{report['pairs']} ABBA pairs): {figure['verdict']}",
                f"within {REPORT_TARGET * 100:g} %",
            )
        )
    drops = {
        side: [sum(run[name] for name in REPORT_COUNTS) for run in report[f"{side}_runs"]]
        for side in ("fleet", "local")
    }
    rows += [
        (
            "setup check dropped frames per run, fleet / local",
            f"{drops['fleet']} / {drops['local']}",
            "alike: none on both sides, or some on both",
        ),
        (
            "setup check ratings, fleet = local",
            f"{'yes' if report['same_ratings'] else 'NO'} "
            f"({sorted({str(run['rating']) for run in report['fleet_runs']})})",
            "yes",
        ),
        (
            f"setup check wall time (scale {report['time_scale']:g}), added by the fleet",
            f"{report['fleet_added_wall_s']} s",
            "set-up, plus logged jobs run longer on a host (see fleet/logs.py)",
        ),
    ]
    return rows
