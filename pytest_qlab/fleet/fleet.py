"""Opening the fleet: each host checked over SSH (fio's release, the volume, the drive), then
locked, cleaned of crashed runs' leftovers and given a scratch folder and fio's server, all held
by one SSH session per host. A host that cannot take part stops the run before anything is
measured, with one line naming it."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.fio.errors import FioError
from pytest_qlab.fio.results import FioRun
from pytest_qlab.fio.runner import FioBinary
from pytest_qlab.fleet.client import Submission, run_clients
from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.hosts import HostTarget
from pytest_qlab.fleet.keeper import HostKeeper
from pytest_qlab.fleet.preflight import VolumeFacts, check_fio, check_room, read_volume
from pytest_qlab.fleet.remote_drive import probe_host_drive
from pytest_qlab.fleet.rounds import Rounds
from pytest_qlab.fleet.runner import HostRunner
from pytest_qlab.fleet.ssh import SshHost
from pytest_qlab.safety.drive_lock import drive_key
from pytest_qlab.safety.volume import ScratchMarker, TargetVolume, local_timestamp, new_run_id

T = TypeVar("T")


@dataclass
class FleetHost:
    """One host's volume in the run, with what holds it."""

    target: TargetVolume
    ssh: SshHost
    facts: VolumeFacts
    drive: DriveInfo
    keeper: HostKeeper
    runner: HostRunner


@dataclass
class Fleet:
    fio: FioBinary
    control_dir: Path
    hosts: dict[str, FleetHost] = field(default_factory=dict)
    """By the target's key (host and path)."""
    rounds: Rounds = field(init=False)

    def __post_init__(self) -> None:
        self.rounds = Rounds(self._execute)

    def _execute(self, asked: dict[str, Submission]) -> dict[str, FioRun | FioError]:
        return run_clients(self.fio, self.control_dir, asked)

    def targets(self) -> tuple[TargetVolume, ...]:
        return tuple(host.target for host in self.hosts.values())

    def host(self, target: TargetVolume) -> FleetHost:
        return self.hosts[target.key]

    def together(self, call: Callable[[FleetHost], T]) -> dict[str, T | BaseException]:
        """`call` for every host still in the run, all at once (see Rounds)."""
        calls = {
            key: (lambda host=host: call(host))
            for key, host in self.hosts.items()
            if self.rounds.lost(key) is None
        }
        return self.rounds.together(calls)

    def stop(self, *, keep: bool) -> None:
        for host in self.hosts.values():
            host.keeper.stop(keep=keep)


def _each(hosts: Sequence[T], call: Callable[[T], object]) -> list[object]:
    """`call` for every host at once: a bad host is reported within its own timeout, not the
    sum of everyone's."""
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        return list(pool.map(call, hosts))


def host_target(target: HostTarget, facts: VolumeFacts) -> TargetVolume:
    path = Path(str(facts.path))
    mount = Path(str(facts.mount_point))
    name = target.host if path == mount else f"{target.host}-{path.name}"
    return TargetVolume(
        path=path,
        requested=target.raw,
        mount_point=mount,
        is_system_default=False,
        name=name,
        host=target.label,
        host_system_disk=facts.system_disk,
    )


def open_fleet(
    targets: Sequence[HostTarget],
    fio: FioBinary,
    scratch_bytes: int,
    resources: ExitStack,
    *,
    ssh_config: Path | None = None,
    shared_storage: bool = False,
) -> Fleet:
    """Raises HostError naming the first host that cannot take part; what was opened by then is
    in `resources` and closes with it."""
    control_dir = Path(tempfile.mkdtemp(prefix="pytest-qlab-fleet-"))
    resources.callback(_remove_tree, control_dir)
    fleet = Fleet(fio, control_dir)
    resources.callback(lambda: fleet.stop(keep=False))
    shells = [SshHost(target, ssh_config) for target in targets]

    def check(ssh: SshHost) -> tuple[VolumeFacts, DriveInfo] | HostError:
        try:
            facts = read_volume(ssh)
            check_fio(facts, ssh.target.label, fio.version_text)
            return facts, probe_host_drive(ssh, facts)
        except HostError as exc:
            return exc

    checked = _each(shells, check)
    for result in checked:
        if isinstance(result, HostError):
            raise result
    fleet_run = new_run_id()
    storages: set[str] = set()
    on_storage: dict[str, str] = {}
    """Each host's storage identity, by target key."""
    for index, (ssh, result) in enumerate(zip(shells, checked, strict=True)):
        assert isinstance(result, tuple)
        facts, drive = result
        target = host_target(ssh.target, facts)
        # each host its own folder: on shared storage the hosts' volumes are one folder
        run_id = f"{fleet_run}-h{index:02d}"
        marker = ScratchMarker(
            run_id=run_id, pid=os.getpid(), host=socket.gethostname(), started_at=local_timestamp()
        )
        storage = _storage_identity(facts, shared_storage)
        first_on_storage = storage not in storages
        storages.add(storage)
        key = drive_key(drive.whole_disk, target.path) if drive.whole_disk else None
        keeper = HostKeeper(
            ssh,
            facts.path,
            run_id,
            marker,
            key if first_on_storage else None,
            fleet_run=fleet_run,
            lock_volume=first_on_storage,
        )
        work_dir = control_dir / f"host-{index:02d}"
        runner = HostRunner(fio, work_dir, fleet.rounds, target.key, keeper.local_port)
        fleet.hosts[target.key] = FleetHost(target, ssh, facts, drive, keeper, runner)
        on_storage[target.key] = storage
    sharing = Counter(on_storage.values())

    def room_needed(host: FleetHost) -> int:
        """Every host on one storage writes its own test files there."""
        return scratch_bytes * sharing[on_storage[host.target.key]]

    def take(host: FleetHost) -> HostError | None:
        try:
            host.keeper.open()
            # crashed runs' leftovers are gone now: room is judged on what is really free
            check_room(read_volume(host.ssh), host.target.host or "", room_needed(host))
            host.keeper.start_server()
        except HostError as exc:
            return exc
        return None

    for problem in _each(list(fleet.hosts.values()), take):
        if isinstance(problem, HostError):
            raise problem
    return fleet


def _storage_identity(facts: VolumeFacts, shared_storage: bool) -> str:
    """Hosts on one storage lock it once: a share by its server and export, everything when
    the profile says the hosts share one storage; otherwise each host's own volume."""
    if shared_storage:
        return "the profile's shared storage"
    if facts.network_storage:
        return facts.filesystem_source
    return f"{facts.host_name}:{facts.path}"


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
