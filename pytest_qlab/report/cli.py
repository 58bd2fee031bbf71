"""`python -m pytest_qlab.report`: read saved JSON reports without pytest. `summary` prints a
report's verdict per volume, `compare` what changed between two runs (JSON files, or run ids of
the drive history), `history` the drives and runs the history holds, `schema` the JSON Schema
of the `qlab` block. Bad input is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue, ValidationError

from pytest_qlab.core.errors import QlabError
from pytest_qlab.report.history_cli import history_lines, stored_report
from pytest_qlab.report.model import SCHEMA_VERSION, QlabReport, VolumeReport, json_schema
from pytest_qlab.report.text import verdict_line

SUPPORTED_MAJOR = SCHEMA_VERSION.split(".", 1)[0]
READABLE_MAJORS = ("1", SUPPORTED_MAJOR)
"""2.0 only let a volume's `rating` be null (NOT RATED) and added fields with defaults, so
its model reads 1.x reports too: old runs stay comparable with new ones."""
RELATIVE_CHANGE = 0.05
"""Throughput moving less than this between runs is measurement noise, not a change."""


class ReportError(QlabError):
    """A file that is not a readable pytest-qlab report; the message says which and why."""


@dataclass(frozen=True)
class SavedReport:
    path: Path
    exit_code: int | None
    qlab: QlabReport


def load(path: Path) -> SavedReport:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("qlab"), dict):
        raise ReportError(
            f"{path}: not a pytest-qlab report (no 'qlab' block); pass the .json file a "
            "qualification run wrote next to its HTML report"
        )
    version = str(document["qlab"].get("schema_version", ""))
    if version.split(".", 1)[0] not in READABLE_MAJORS:
        readable = " and ".join(f"{major}.x" for major in READABLE_MAJORS)
        raise ReportError(
            f"{path}: report schema {version or 'unknown'}; this pytest-qlab reads "
            f"{readable}, so compare with the pytest-qlab that wrote it"
        )
    try:
        qlab = QlabReport.model_validate(document["qlab"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReportError(f"{path}: invalid 'qlab' block at {where}: {first['msg']}") from None
    exit_code = document.get("exitcode")
    return SavedReport(path, exit_code if isinstance(exit_code, int) else None, qlab)


def summary_lines(report: SavedReport) -> list[str]:
    qlab = report.qlab
    lines = [f"{report.path}: profile {qlab.profile.name}, {qlab.fio_version}"]
    if qlab.rehearsal:
        lines.append(f"REHEARSAL (time scale {qlab.time_scale:g}): this run does not qualify")
    if qlab.interrupted:
        lines.append(f"INTERRUPTED by {qlab.interrupted_by or 'a signal'}: results are partial")
    for volume in qlab.volumes:
        lines.append(verdict_line(qlab, volume))
        if volume.drive is not None:
            lines.append(f"  drive: {volume.drive.summary()}")
        lines += [f"  {reason}" for reason in volume.rating_reasons]
        if volume.max_streams:
            lines.append(f"  {volume.max_streams}")
    return lines


# --- compare ------------------------------------------------------------------------------


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _measured(key: str) -> Callable[[QlabReport, VolumeReport], float | None]:
    return lambda _qlab, volume: _number(volume.measurements.get(key))


def _max_temperature(qlab: QlabReport, volume: VolumeReport) -> float | None:
    """The hottest reading any test of this volume recorded, else the drive's at the start."""
    found: list[float] = []
    for entry in qlab.tests:
        thermal = entry.series.get("thermal")
        if entry.volume not in (None, volume.name) or not isinstance(thermal, dict):
            continue
        summary = thermal.get("summary")
        value = _number(summary.get("temperature_max_c")) if isinstance(summary, dict) else None
        if value is not None:
            found.append(value)
    if not found and volume.drive is not None and volume.drive.temperature_c is not None:
        found.append(volume.drive.temperature_c)
    return max(found, default=None)


FIGURES: tuple[tuple[str, str, Callable[[QlabReport, VolumeReport], float | None]], ...] = (
    ("sequential read", "MB/s", _measured("read_mb_s")),
    ("sustained read", "MB/s", _measured("sustained_read_mb_s")),
    ("sustained read, lowest window", "MB/s", _measured("sustained_read_lowest_mb_s")),
    ("sustained write", "MB/s", _measured("sustained_write_mb_s")),
    ("max streams", "", _measured("max_streams")),
    ("hottest drive temperature", "°C", _max_temperature),
)


def _dropped(volume: VolumeReport) -> dict[str, float]:
    return {
        key.removesuffix("_dropped_frames").replace("_", " "): number
        for key, value in volume.measurements.items()
        if key.endswith("_dropped_frames") and (number := _number(value)) is not None
    }


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{text} {unit}".rstrip()


def _changed(before: float | None, after: float | None, unit: str) -> bool:
    if before is None or after is None:
        return before != after
    if unit == "MB/s":
        return abs(after - before) > RELATIVE_CHANGE * max(abs(before), 1e-9)
    return abs(after - before) >= (1.0 if unit == "°C" else 0.5)


def _change_line(what: str, before: float | None, after: float | None, unit: str) -> str:
    line = f"  {what}: {_format(before, unit)} -> {_format(after, unit)}"
    if before and after is not None and unit == "MB/s":
        line += f" ({(after - before) / before:+.0%})"
    return line


def pair_volumes(
    first: QlabReport, second: QlabReport
) -> list[tuple[VolumeReport | None, VolumeReport | None]]:
    """Same names pair by name (the same drive on two dates); otherwise in order (two drives)."""
    names = {volume.name for volume in first.volumes}
    if names and names == {volume.name for volume in second.volumes}:
        by_name = {volume.name: volume for volume in second.volumes}
        return [(volume, by_name[volume.name]) for volume in first.volumes]
    count = max(len(first.volumes), len(second.volumes))
    return [
        (
            first.volumes[index] if index < len(first.volumes) else None,
            second.volumes[index] if index < len(second.volumes) else None,
        )
        for index in range(count)
    ]


def compare_lines(first: SavedReport, second: SavedReport) -> list[str]:
    lines = [f"A: {first.path}", f"B: {second.path}"]
    for label, report in (("A", first), ("B", second)):
        if report.qlab.rehearsal or report.qlab.interrupted:
            kinds = [
                word
                for word, flag in (
                    ("a REHEARSAL", report.qlab.rehearsal),
                    ("INTERRUPTED", report.qlab.interrupted),
                )
                if flag
            ]
            lines.append(f"note: {label} is {' and '.join(kinds)}: its figures are not final")
    for before, after in pair_volumes(first.qlab, second.qlab):
        if before is None or after is None:
            only = before or after
            assert only is not None
            lines.append(f"{only.name}: only in {'A' if before else 'B'}")
            continue
        title = before.name if before.name == after.name else f"{before.name} -> {after.name}"
        changes = _volume_changes(first.qlab, before, second.qlab, after)
        lines.append(f"{title}: " + ("changed" if changes else "no change that matters"))
        lines += changes
    return lines


def _volume_changes(
    first: QlabReport, before: VolumeReport, second: QlabReport, after: VolumeReport
) -> list[str]:
    changes = []
    if before.drive and after.drive and before.drive.summary() != after.drive.summary():
        changes.append(f"  drive: {before.drive.summary()} -> {after.drive.summary()}")
    if before.rating != after.rating or before.ready != after.ready:
        changes.append(f"  verdict: {verdict_line(first, before)} -> {verdict_line(second, after)}")
    for what, unit, read in FIGURES:
        old, new = read(first, before), read(second, after)
        if _changed(old, new, unit):
            changes.append(_change_line(what, old, new, unit))
    if before.max_streams != after.max_streams and before.max_streams and after.max_streams:
        changes.append(f"  streams: {before.max_streams} -> {after.max_streams}")
    old_drops, new_drops = _dropped(before), _dropped(after)
    for name in sorted(old_drops.keys() | new_drops.keys()):
        old, new = old_drops.get(name), new_drops.get(name)
        if old != new:
            changes.append(_change_line(f"dropped frames, {name}", old, new, "frames"))
    return changes


DB_HELP = "the drive history (default: the one qualification runs store into)"


def _saved(argument: str, db: str | None) -> SavedReport:
    """A JSON file, or a run id of the drive history (a number that names no file)."""
    if argument.isdigit() and not Path(argument).exists():
        label, exit_code, qlab = stored_report(db, int(argument))
        return SavedReport(Path(label), exit_code, qlab)
    return load(Path(argument))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_qlab.report",
        description="Read pytest-qlab JSON reports: verdicts, and changes between runs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="print a saved report's verdict per volume")
    summary.add_argument("report", type=Path)
    compare = commands.add_parser(
        "compare", help="print what changed between two runs (JSON files or stored run ids)"
    )
    compare.add_argument("first", metavar="A.json|RUN")
    compare.add_argument("second", metavar="B.json|RUN")
    compare.add_argument("--db", metavar="FILE|URL", help=DB_HELP)
    commands.add_parser("schema", help="print the JSON Schema of the report's 'qlab' block")
    history = commands.add_parser("history", help="list the drives and runs a history holds")
    history.add_argument("--db", metavar="FILE|URL", help=DB_HELP)
    history.add_argument("--drive", metavar="SERIAL", help="only this drive (serial or UUID)")
    history.add_argument("--plot", type=Path, metavar="OUT.svg", help="write its trend plot")
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "summary":
            lines = summary_lines(load(arguments.report))
        elif arguments.command == "compare":
            first = _saved(arguments.first, arguments.db)
            lines = compare_lines(first, _saved(arguments.second, arguments.db))
        elif arguments.command == "history":
            lines = history_lines(arguments.db, arguments.drive, arguments.plot)
        else:
            lines = [json.dumps(json_schema(), indent=2, ensure_ascii=False)]
    except QlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
