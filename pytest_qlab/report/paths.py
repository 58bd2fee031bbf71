"""Default report file names: <report-dir>/<YYYYmmdd-HHMMSS>-<volume-name>.html and .json."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from pytest_qlab.safety.volume import TargetVolume


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "volume"


def default_report_paths(
    report_dir: Path, targets: Sequence[TargetVolume], now: float | None = None
) -> tuple[Path, Path]:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    stem = f"{stamp}-{'+'.join(_safe(target.name) for target in targets)}"
    candidate, number = stem, 1
    while (report_dir / f"{candidate}.html").exists() or (
        report_dir / f"{candidate}.json"
    ).exists():
        number += 1  # two runs in the same second must not overwrite each other's reports
        candidate = f"{stem}-{number}"
    return report_dir / f"{candidate}.html", report_dir / f"{candidate}.json"
