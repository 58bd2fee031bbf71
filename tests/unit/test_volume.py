"""Target validation and the scratch directory; everything written stays inside tmp_path."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from pytest_qlab.safety import volume as volume_module
from pytest_qlab.safety.volume import (
    MARKER_NAME,
    SCRATCH_ROOT_NAME,
    FreeSpace,
    ScratchSpace,
    TargetVolume,
    VolumeError,
    check_free_space,
    mount_point_of,
    new_run_id,
    resolve_target,
)


@pytest.fixture
def target(tmp_path: Path) -> TargetVolume:
    return resolve_target(str(tmp_path))


def test_resolve_target_for_a_writable_folder(tmp_path: Path) -> None:
    volume = resolve_target(str(tmp_path), is_system_default=True)

    assert volume.path == tmp_path.resolve()
    assert volume.requested == str(tmp_path)
    assert volume.is_system_default is True
    assert os.path.ismount(volume.mount_point)
    assert volume.path.is_relative_to(volume.mount_point)
    assert volume.scratch_root == volume.path / SCRATCH_ROOT_NAME
    assert not volume.scratch_root.exists(), "validation must not write anything"


def test_resolve_target_expands_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))

    assert resolve_target("~").path == tmp_path.resolve()


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(VolumeError, match="does not exist; check that the drive is mounted"):
        resolve_target(str(tmp_path / "Show"))


def test_regular_file(tmp_path: Path) -> None:
    regular = tmp_path / "notes.txt"
    regular.write_text("cue list", encoding="utf-8")

    with pytest.raises(VolumeError, match="is a file, not a folder"):
        resolve_target(str(regular))


def test_device_is_refused() -> None:
    with pytest.raises(VolumeError, match="is a device, not a mounted volume") as caught:
        resolve_target("/dev/null")

    assert "never writes to raw devices" in str(caught.value)


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_path(raw: str) -> None:
    with pytest.raises(VolumeError, match="empty path"):
        resolve_target(raw)


def test_path_inside_our_scratch_folder(tmp_path: Path) -> None:
    inside = tmp_path / SCRATCH_ROOT_NAME / "20260101-000000-1-abcd"
    inside.mkdir(parents=True)

    with pytest.raises(VolumeError, match="inside pytest-qlab's own scratch folder"):
        resolve_target(str(inside))


def test_symlink_into_our_scratch_folder_is_resolved_first(tmp_path: Path) -> None:
    inside = tmp_path / SCRATCH_ROOT_NAME / "run"
    inside.mkdir(parents=True)
    link = tmp_path / "innocent"
    link.symlink_to(inside)

    with pytest.raises(VolumeError, match="scratch folder"):
        resolve_target(str(link))


def test_mount_point_of() -> None:
    assert mount_point_of(Path("/")) == Path("/")
    if os.path.ismount("/proc"):
        assert mount_point_of(Path("/proc/self")) == Path("/proc")


def test_mount_point_of_tmp_path_is_an_ancestor(tmp_path: Path) -> None:
    mount = mount_point_of(tmp_path)

    assert os.path.ismount(mount)
    assert mount in (tmp_path, *tmp_path.parents)


@pytest.mark.parametrize(
    ("mount_point", "is_default", "name"),
    [
        (Path("/Volumes/Show"), False, "Show"),
        (Path("/media/user/SSD 2"), False, "SSD 2"),
        (Path("/"), False, "system"),
        (Path("/Volumes/Show"), True, "system-temp"),
    ],
)
def test_target_name(mount_point: Path, is_default: bool, name: str) -> None:
    volume = TargetVolume(
        path=mount_point,
        requested=str(mount_point),
        mount_point=mount_point,
        is_system_default=is_default,
    )

    assert volume.name == name


def test_scratch_create_writes_a_marker_with_our_pid(target: TargetVolume) -> None:
    scratch = ScratchSpace(target, "run-1").create()

    assert scratch.run_dir == target.path / SCRATCH_ROOT_NAME / "run-1"
    assert scratch.run_dir.is_dir()
    assert scratch.marker == scratch.run_dir / MARKER_NAME
    marker = json.loads(scratch.marker.read_text(encoding="utf-8"))
    assert marker["pid"] == os.getpid()
    assert marker["tool"] == "pytest-qlab"
    assert marker["run_id"] == "run-1"


def test_scratch_remove_deletes_run_dir_and_empty_root(target: TargetVolume) -> None:
    scratch = ScratchSpace(target, "run-1").create()
    (scratch.run_dir / "read.bin").write_bytes(b"\0" * 4096)

    scratch.remove()

    assert not scratch.run_dir.exists()
    assert not target.scratch_root.exists()
    assert target.path.is_dir()


def test_scratch_remove_leaves_other_runs_alone(target: TargetVolume) -> None:
    scratch = ScratchSpace(target, "run-1").create()
    sibling = target.scratch_root / "run-2"
    sibling.mkdir()
    (sibling / "read.bin").write_bytes(b"other run")

    scratch.remove()

    assert not scratch.run_dir.exists()
    assert target.scratch_root.is_dir()
    assert (sibling / "read.bin").read_bytes() == b"other run"


def test_scratch_remove_never_deletes_an_unmarked_run_dir_with_content(
    target: TargetVolume,
) -> None:
    scratch = ScratchSpace(target, "run-1")
    scratch.run_dir.mkdir(parents=True)
    precious = scratch.run_dir / "show.mov"
    precious.write_bytes(b"not ours")

    scratch.remove()

    assert precious.read_bytes() == b"not ours"
    assert target.scratch_root.is_dir()


def test_a_clashing_run_id_never_touches_the_other_run(target: TargetVolume) -> None:
    """Only a directory this object created is ever removed, even after a failed create()."""
    other = ScratchSpace(target, "run-1").create()
    (other.run_dir / "read.bin").write_bytes(b"other run")
    clash = ScratchSpace(target, "run-1")

    with pytest.raises(VolumeError, match="cannot write"):
        clash.create()
    clash.remove()

    assert (other.run_dir / "read.bin").read_bytes() == b"other run"
    assert other.marker.is_file()


def test_scratch_remove_is_idempotent(target: TargetVolume) -> None:
    scratch = ScratchSpace(target, "run-1")

    scratch.remove()
    scratch.create().remove()
    scratch.remove()

    assert not target.scratch_root.exists()


def test_scratch_context_manager(target: TargetVolume) -> None:
    with ScratchSpace(target, "run-1") as scratch:
        assert scratch.marker.is_file()

    assert not target.scratch_root.exists()


def test_scratch_create_failure_is_a_volume_error(target: TargetVolume) -> None:
    target.scratch_root.write_text("a file where our folder should go", encoding="utf-8")

    with pytest.raises(VolumeError, match="cannot write to"):
        ScratchSpace(target, "run-1").create()

    assert target.scratch_root.read_text(encoding="utf-8").startswith("a file")


def test_check_free_space_refuses_with_needed_and_free_amounts(target: TargetVolume) -> None:
    with pytest.raises(VolumeError) as caught:
        check_free_space(target, 10**18)

    message = str(caught.value)
    assert re.search(r"has \d+\.\d (TB|GB|MB|kB) free", message)
    assert "needs 1000000.0 TB" in message
    assert "free up space or qualify another volume" in message


def test_check_free_space_message_figures(
    target: TargetVolume, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(volume_module, "free_space", lambda _path: FreeSpace(5 * 10**9, 10**12))

    with pytest.raises(VolumeError) as caught:
        check_free_space(target, 10 * 10**9)

    message = str(caught.value)
    assert "has 5.0 GB free but this run needs 11.1 GB" in message
    assert "10.0 GB of test files plus 1.1 GB left free" in message


def test_check_free_space_passes_when_it_fits(target: TargetVolume) -> None:
    space = check_free_space(target, 1)

    assert space.free_bytes > 1
    assert space.total_bytes >= space.free_bytes


def test_new_run_id_format() -> None:
    assert re.fullmatch(rf"\d{{8}}-\d{{6}}-{os.getpid()}-[0-9a-f]{{4}}", new_run_id())


def test_scratch_create_never_writes_through_a_symlinked_scratch_root(
    target: TargetVolume, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    target.scratch_root.symlink_to(elsewhere)

    with pytest.raises(VolumeError, match=r"is a symbolic link .* never follows it"):
        ScratchSpace(target, "run-1").create()

    assert target.scratch_root.is_symlink()
    assert sorted(elsewhere.iterdir()) == []
