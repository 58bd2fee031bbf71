"""Taking a volume for a run: refused before a byte is written when it is full, leftovers cleaned
before the free-space check, and nothing held after a refusal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_qlab.safety.claim import claim_volume
from pytest_qlab.safety.volume import (
    MARKER_NAME,
    ScratchMarker,
    TargetVolume,
    VolumeError,
    resolve_target,
)
from pytest_qlab.safety.volume_lock import LOCK_NAME, VolumeBusyError, VolumeLock

MORE_THAN_ANY_DISK_BYTES = 10**18


@pytest.fixture
def target(tmp_path: Path) -> TargetVolume:
    return resolve_target(str(tmp_path))


def crashed_run(target: TargetVolume) -> Path:
    process = subprocess.Popen(["true"])
    process.wait()
    run_dir = target.scratch_root / "20260501-193000-1-abcd"
    run_dir.mkdir(parents=True)
    marker = ScratchMarker(
        run_id=run_dir.name, pid=process.pid, host="other-mac", started_at="2026-05-01T19:30:00"
    )
    (run_dir / MARKER_NAME).write_text(marker.model_dump_json(), encoding="utf-8")
    (run_dir / "read-0.bin").write_bytes(b"\0" * 65536)
    return run_dir


def test_a_claim_holds_the_lock_until_released(target: TargetVolume) -> None:
    run_dir = crashed_run(target)

    claim = claim_volume(target, 0)
    try:
        assert claim.lock.held
        assert not run_dir.exists()
        assert claim.cleanup.reclaimed_bytes >= 65536
        with pytest.raises(VolumeBusyError):
            claim_volume(target, 0)
    finally:
        claim.release()

    assert not target.scratch_root.exists()


def test_a_full_volume_is_refused_before_a_byte_is_written(target: TargetVolume) -> None:
    with pytest.raises(VolumeError, match="free up space or qualify another volume"):
        claim_volume(target, MORE_THAN_ANY_DISK_BYTES)

    assert sorted(target.path.iterdir()) == []


def test_leftovers_are_cleaned_before_the_free_space_check(target: TargetVolume) -> None:
    """They may be what fills the volume; the refusal then releases the lock."""
    run_dir = crashed_run(target)

    with pytest.raises(VolumeError, match="free up space"):
        claim_volume(target, MORE_THAN_ANY_DISK_BYTES)

    assert not run_dir.exists()
    assert not target.scratch_root.exists(), "the lock was not released after the refusal"


def test_a_busy_volume_is_refused_and_the_holder_keeps_it(target: TargetVolume) -> None:
    with VolumeLock(target) as holder:
        with pytest.raises(VolumeBusyError, match="is in use by another pytest-qlab run"):
            claim_volume(target, 0)
        assert holder.held
        assert (target.scratch_root / LOCK_NAME).is_file()
