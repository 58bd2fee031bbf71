"""The Linux backend on this machine's own disks, checked against what findmnt and lsblk say
(independently of pytest-qlab's parsers): the disk holding tmp_path, and a tmpfs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.drive import probe_drive
from pytest_qlab.drive.advisories import collect_advisories

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads this Linux machine's own disks"
)
TRANSPORT_BUS = {"usb": "usb", "sata": "sata", "ata": "sata", "nvme": "nvme"}


def _json(*command: str) -> dict[str, Any]:
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    completed = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if completed.returncode != 0:
        pytest.skip(f"{' '.join(command)} failed: {completed.stderr.strip()}")
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


def _mount_of(path: Path) -> dict[str, str]:
    """findmnt's entry for `path`; of stacked mounts (/dev/shm twice) the one its st_dev names."""
    mounts = _json("findmnt", "-J", "-T", str(path), "-o", "TARGET,SOURCE,FSTYPE,MAJ:MIN")
    device = os.stat(path).st_dev
    number = f"{os.major(device)}:{os.minor(device)}"
    matching = [m for m in mounts["filesystems"] if m.get("maj:min") == number]
    mount = (matching or mounts["filesystems"])[-1]
    return {key: str(value) for key, value in mount.items()}


def _contains(device: dict[str, Any], kernel_name: str) -> bool:
    if device.get("kname") == kernel_name:
        return True
    return any(_contains(child, kernel_name) for child in device.get("children", []))


def test_identity_of_the_disk_holding_tmp_path(tmp_path: Path) -> None:
    mount = _mount_of(tmp_path)
    source = mount["source"]
    if not source.startswith("/dev/"):
        pytest.skip(f"{tmp_path} is on {mount['fstype']} ({source}): no block device")
    kernel_name = Path(os.path.realpath(source)).name
    tree = _json("lsblk", "-J", "-b", "-o", "KNAME,NAME,TYPE,TRAN,MODEL,SERIAL,MOUNTPOINT")
    disks = [disk for disk in tree["blockdevices"] if _contains(disk, kernel_name)]
    assert len(disks) == 1, f"lsblk shows {kernel_name} under {disks}"
    disk = disks[0]

    drive = probe_drive(tmp_path)

    assert drive.platform == "linux"
    assert drive.mount_point == Path(mount["target"])
    assert drive.filesystem == mount["fstype"]  # ext4 on the project's VM, per mountinfo
    assert drive.device == source
    assert drive.whole_disk == f"/dev/{disk['kname']}"
    if disk.get("model"):
        assert disk["model"].strip() in (drive.model or "")
    if disk.get("serial") and drive.bus != "usb":  # smartctl may read the drive's own behind USB
        assert drive.serial == disk["serial"].strip()
    if str(disk["kname"]).startswith(("vd", "xvd")):
        assert drive.bus == "virtual"  # virtio: the host's drive is hidden
        assert drive.solid_state is None
        assert drive.smart_health == "unsupported"
    elif disk.get("tran") in TRANSPORT_BUS:
        assert drive.bus in (TRANSPORT_BUS[disk["tran"]], "thunderbolt")
    assert drive.capacity_bytes is not None
    assert drive.capacity_bytes > 0
    assert drive.free_bytes is not None
    assert "None" not in drive.summary()

    advisories = {a.name: a for a in collect_advisories(tmp_path, drive)}
    for name in ("spotlight", "disk-sleep", "time-machine"):
        assert (advisories[name].severity, advisories[name].message) == ("skip", "macOS only")
    assert advisories["free-space"].severity in ("ok", "warn", "fail")


def test_tmpfs_is_a_virtual_drive_and_nothing_raises() -> None:
    candidates = [Path("/dev/shm"), Path("/run"), Path("/tmp")]
    tmpfs = next(
        (path for path in candidates if path.is_dir() and _mount_of(path)["fstype"] == "tmpfs"),
        None,
    )
    if tmpfs is None:
        pytest.skip("no tmpfs mounted at /dev/shm, /run or /tmp")

    drive = probe_drive(tmpfs)

    assert drive.bus == "virtual"
    assert drive.filesystem == "tmpfs"
    assert drive.mount_point == Path(_mount_of(tmpfs)["target"])
    assert (drive.device, drive.whole_disk, drive.model) == (None, None, None)
    assert drive.smart_health == "unsupported"
    assert any("tmpfs" in note for note in drive.notes)
    advisories = {a.name: a for a in collect_advisories(tmpfs, drive)}
    assert advisories["smart"].severity == "skip"
    assert advisories["temperature"].severity == "skip"
