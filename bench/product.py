"""pytest-qlab itself, run by the bench as a user runs it: the suites in a fresh process, with
the reports in a folder of the bench's, so a step judges what the product reports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def suites_command(report_dir: Path, *args: str) -> list[str]:
    """`pytest suites/ ARGS`, its reports in `report_dir`, without pytest's cache on the
    volume's side."""
    return [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "suites"),
        *args,
        "--qlab-report-dir",
        str(report_dir),
        "-q",
        "-p",
        "no:cacheprovider",
    ]


@dataclass(frozen=True)
class ProductRun:
    wall_s: float
    exit_code: int
    report: dict[str, Any]
    """The run's JSON report."""


def run_suites(report_dir: Path, *args: str) -> ProductRun:
    """Raises RuntimeError with the run's output when it wrote no single JSON report."""
    started = time.monotonic()
    completed = subprocess.run(
        suites_command(report_dir, *args), capture_output=True, text=True, check=False
    )
    wall_s = time.monotonic() - started
    reports = list(report_dir.glob("*.json"))
    if len(reports) != 1:
        raise RuntimeError(
            f"pytest-qlab wrote {len(reports)} JSON reports (exit {completed.returncode}):\n"
            + completed.stdout[-2000:]
        )
    report = json.loads(reports[0].read_text(encoding="utf-8"))
    return ProductRun(wall_s, completed.returncode, report)
