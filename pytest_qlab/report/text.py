"""The words every report uses: header lines, verdict lines, warnings. Verdict lines render the
decided report model; they never decide anything."""

from __future__ import annotations

from pytest_qlab.report.model import QlabReport, VolumeReport
from pytest_qlab.safety.volume import TargetVolume


def system_disk_warning(path: str) -> str:
    return (
        f"NO --volume GIVEN: this run tests the SYSTEM DISK (temp folder {path}), "
        "not a show drive. Pass --volume /Volumes/YourShowDrive to qualify a drive."
    )


def rehearsal_notice(time_scale: float) -> str:
    return (
        f"REHEARSAL (time scale {time_scale:g}): durations are compressed; "
        "this run does not qualify a drive."
    )


def path_line(path: str, requested: str, mount_point: str) -> str:
    shown = path
    if requested != shown:
        shown += f" (given as {requested})"
    return f"{shown} on {mount_point}"


def target_line(target: TargetVolume) -> str:
    return path_line(str(target.path), target.requested, str(target.mount_point))


def volume_line(volume: VolumeReport) -> str:
    return path_line(volume.path, volume.requested_path, volume.mount_point)


def verdict_line(qlab: QlabReport, volume: VolumeReport) -> str:
    status = "READY" if volume.ready else "NOT READY"
    parts = [f"{volume.name}: {volume.rating.label.upper()}", f"{status} for {qlab.required.label}"]
    if volume.interrupted or qlab.interrupted:
        parts.append("INTERRUPTED")
    if qlab.rehearsal:
        parts.append("REHEARSAL")
    if volume.system_default:
        parts.append("SYSTEM DISK")
    return " - ".join(parts)
