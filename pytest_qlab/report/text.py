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


def window_lines(volume: VolumeReport) -> list[str]:
    """The window spread of every bandwidth measurement: how steady the drive was."""
    return [f"windows: {item.sentence}" for item in volume.bandwidth_windows]


def verdict_line(qlab: QlabReport, volume: VolumeReport) -> str:
    status = "READY" if volume.ready else "NOT READY"
    rating = "NOT RATED" if volume.rating is None else volume.rating.label.upper()
    parts = [f"{volume.name}: {rating}", f"{status} for {qlab.required.label}"]
    unproven = volume.not_rated
    if volume.rating is not None and unproven is not None and qlab.required.meets(unproven):
        # Short of the required level because nothing measured it, not because it failed.
        parts.append(f"{unproven.label} NOT RATED")
    if volume.interrupted or qlab.interrupted:
        parts.append("INTERRUPTED")
    if qlab.rehearsal:
        parts.append("REHEARSAL")
    if volume.system_default:
        parts.append("SYSTEM DISK")
    return " - ".join(parts)
