"""The words every report uses: header lines, verdict lines, warnings."""

from __future__ import annotations

from pytest_qlab.core.session import QlabSession, VolumeRecord
from pytest_qlab.core.units import bytes_to_mb, format_bytes
from pytest_qlab.safety.volume import TargetVolume


def system_disk_warning(target: TargetVolume) -> str:
    return (
        f"NO --volume GIVEN: this run tests the SYSTEM DISK (temp folder {target.path}), "
        "not a show drive. Pass --volume /Volumes/YourShowDrive to qualify a drive."
    )


def rehearsal_notice(time_scale: float) -> str:
    return (
        f"REHEARSAL (time scale {time_scale:g}): durations are compressed; "
        "this run does not qualify a drive."
    )


def target_line(target: TargetVolume) -> str:
    shown = str(target.path)
    if target.requested != shown:
        shown += f" (given as {target.requested})"
    return f"{shown} on {target.mount_point}"


def verdict_line(session: QlabSession, record: VolumeRecord) -> str:
    decision = session.decision(record)
    required = session.options.require.label
    status = "READY" if session.ready(record) else "NOT READY"
    parts = [f"{record.target.name}: {decision.rating.label.upper()}", f"{status} for {required}"]
    if record.interrupted:
        parts.append("INTERRUPTED")
    if session.options.rehearsal:
        parts.append("REHEARSAL")
    if record.target.is_system_default:
        parts.append("SYSTEM DISK")
    return " - ".join(parts)


def layout_line(record: VolumeRecord) -> str | None:
    """Laying out test files is not part of the measurement, but a slow layout is worth knowing."""
    size = record.measurements.get("layout_bytes")
    duration = record.measurements.get("layout_duration_s")
    if not isinstance(size, int) or not isinstance(duration, int | float) or duration <= 0:
        return None
    return (
        f"layout: {format_bytes(size)} of test files written in {duration:.1f} s "
        f"({bytes_to_mb(size) / duration:.0f} MB/s)"
    )
