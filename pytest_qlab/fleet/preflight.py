"""What a host's volume is, read over SSH before anything is written: the same refusals as for a
local volume (missing, a device, a file, read-only, no room), each one line naming the host."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from pytest_qlab.core.units import format_bytes
from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.ssh import SshHost
from pytest_qlab.safety.volume import FREE_SPACE_MARGIN_BYTES, SCRATCH_ROOT_NAME

FACTS_SCRIPT = r"""
p=$1
echo "platform=$(uname -s)"
echo "fio=$(fio --version 2>/dev/null | head -n 1)"
echo "host=$(hostname)"
[ -e "$p" ] && echo exists=1
{ [ -b "$p" ] || [ -c "$p" ]; } && echo device=1
[ -d "$p" ] && echo directory=1
[ -w "$p" ] && [ -x "$p" ] && echo writable=1
[ -L "$p/.pytest-qlab" ] && echo scratch_link=1
[ -d "$p" ] || exit 0
echo "real=$(cd "$p" && pwd -P)"
echo "device_id=$(stat -c %d "$p" 2>/dev/null || stat -f %d "$p" 2>/dev/null)"
echo "root_device_id=$(stat -c %d / 2>/dev/null || stat -f %d / 2>/dev/null)"
echo "df=$(df -Pk "$p" | tail -n 1)"
echo "fstype=$(findmnt -n -o FSTYPE -T "$p" 2>/dev/null)"
"""
"""POSIX sh with only what macOS and Linux both have; `stat` differs (GNU -c, BSD -f)."""
EXAMPLE = "e.g. ssh://show@foh-mac.local/Volumes/Show"


@dataclass(frozen=True)
class VolumeFacts:
    """A host's volume as its own tools describe it."""

    platform: str
    """`uname -s`: "Darwin" or "Linux"."""
    fio_version: str
    """`fio --version`'s first line ("fio-3.33"), "" when fio is not installed there."""
    host_name: str
    path: PurePosixPath
    """The folder with symlinks resolved (`pwd -P`)."""
    mount_point: PurePosixPath
    filesystem_source: str
    """df's first column: a device, or server:/export for NFS, //user@server/share for SMB."""
    free_bytes: int
    size_bytes: int | None
    """The filesystem's size, df's 1K-blocks; None where df could not say."""
    filesystem: str | None
    """findmnt's type on Linux; None where it cannot say (macOS: diskutil does)."""
    system_disk: bool
    """On the same filesystem as the host's root."""

    @property
    def network_storage(self) -> bool:
        """An NFS/SMB/AFP export: the filesystem identity names the server and the share."""
        return ":" in self.filesystem_source or self.filesystem_source.startswith("//")


def parse_facts(text: str) -> dict[str, str]:
    facts: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            facts[key.strip()] = value.strip()
    return facts


def read_volume(ssh: SshHost) -> VolumeFacts:
    """Raises HostError with what to do; writes nothing on the host."""
    result = ssh.check(["sh", "-s", str(ssh.target.path)], stdin=FACTS_SCRIPT)
    label = ssh.target.label
    path = ssh.target.path
    if not result.ok:
        raise HostError(f"host {label}: cannot read {path} ({result.describe()})")
    facts = parse_facts(result.stdout)
    where = f"{path} on host {label}"
    if "exists" not in facts:
        raise HostError(
            f"{where} does not exist; check that the drive is mounted there ({EXAMPLE})"
        )
    if "device" in facts:
        raise HostError(
            f"{where} is a device, not a mounted volume; pytest-qlab never writes to raw "
            f"devices, give the folder the drive is mounted at ({EXAMPLE})"
        )
    if "directory" not in facts:
        raise HostError(
            f"{where} is a file, not a folder; give the drive's mount point ({EXAMPLE})"
        )
    if "writable" not in facts:
        raise HostError(
            f"{where} is not writable (read-only volume or no permission); qualification "
            "needs to write test files: mount it read-write or pick another volume"
        )
    if "scratch_link" in facts:
        raise HostError(
            f"{where}: {SCRATCH_ROOT_NAME} is a symbolic link pytest-qlab did not make; "
            "remove it or pick another volume"
        )
    real = PurePosixPath(facts.get("real") or str(path))
    if SCRATCH_ROOT_NAME in real.parts:
        raise HostError(
            f"{where} is inside pytest-qlab's own scratch folder; give the volume itself"
        )
    source, size_bytes, free_bytes, mount_point = _df_line(facts.get("df", ""), where)
    return VolumeFacts(
        platform=facts.get("platform", ""),
        fio_version=facts.get("fio", ""),
        host_name=facts.get("host", "") or label,
        path=real,
        mount_point=mount_point,
        filesystem_source=source,
        free_bytes=free_bytes,
        size_bytes=size_bytes,
        filesystem=facts.get("fstype") or None,
        system_disk=facts.get("device_id") == facts.get("root_device_id"),
    )


def _df_line(line: str, where: str) -> tuple[str, int | None, int, PurePosixPath]:
    """`df -Pk`'s row: source, 1K-blocks, used, available, capacity, mount point (may hold
    spaces, so it is the rest of the line)."""
    fields = line.split()
    try:
        available_kib = int(fields[3])
    except (IndexError, ValueError):
        raise HostError(f"{where}: df gave no free space ({line!r}); check the volume") from None
    size_kib = int(fields[1]) if fields[1].isdigit() else None
    mount_point = PurePosixPath(" ".join(fields[5:]) or "/")
    return (
        fields[0],
        None if size_kib is None else size_kib * 1024,
        available_kib * 1024,
        mount_point,
    )


def check_room(facts: VolumeFacts, label: str, files_bytes: int) -> None:
    """Refuse before writing when the test files plus the margin do not fit."""
    needed = files_bytes + FREE_SPACE_MARGIN_BYTES
    if facts.free_bytes < needed:
        raise HostError(
            f"{facts.path} on host {label} has {format_bytes(facts.free_bytes)} free but this run "
            f"needs {format_bytes(needed)} ({format_bytes(files_bytes)} of test files plus "
            f"{format_bytes(FREE_SPACE_MARGIN_BYTES)} left free for the show); free up space or "
            "qualify another volume"
        )


def check_fio(facts: VolumeFacts, label: str, local_version: str) -> None:
    """fio's client/server protocol changes with almost every release: one fio everywhere."""
    fix = (
        "install the same fio on every host (copy the bundled bin/fio-<os>-<arch> to each, or "
        "`brew install fio` on every Mac)"
    )
    if not facts.fio_version:
        raise HostError(f"host {label} has no fio on its PATH; {fix}")
    if facts.fio_version != local_version:
        raise HostError(
            f"host {label} runs {facts.fio_version} but this machine runs {local_version}: fio's "
            f"client and server must be the same release; {fix}"
        )
